/**
 * The encrypted FHIR repository of one node: records encrypted in the node's vault under the
 * patients' record keys (KEKs the node received, sealed to its organization, in the patients'
 * active grants), searched through keyed index tokens (`FhirIndexStore`), every version anchored
 * on the ledger (`records.anchor`, signed by the node), every access checked against the ledger
 * state at request time and written to the audit outbox (`AuditTrail`).
 *
 * Semantics follow the in-memory reference (`src/fhir/memory-repository.ts`), with:
 * - Authorization: a patient principal reads and writes only records whose patient is its own
 *   DID; a practitioner must belong to this node's organization and hold a covering grant
 *   (`findCoveringGrant`) for the patient, resource type, class and access, else 403 naming the
 *   code (GRANT_REVOKED, GRANT_EXPIRED, NO_GRANT, SCOPE_NOT_COVERED). Nodes get 403.
 * - Keys: the node can encrypt or decrypt a patient's record only with the KEK of the class and
 *   epoch it holds from an ACTIVE grant of that patient to its organization. So even a patient
 *   writing their own record needs to have granted this organization access with keys (a
 *   patient who wants a hospital to keep their record grants it write access with keys). Opened
 *   KEKs live in memory only.
 * - Patient ↔ DID: a Patient carries the DID as `identifier` (system `urn:ietf:rfc:3986`); other
 *   resources reference `Patient/<id>` of a Patient stored on this node.
 * - Search: index tokens (and date rows) select candidates, which are authorized and ordered by
 *   the sort key kept in the index; only the candidates a page needs are decrypted (page size
 *   + 1), and `matches` is checked again on their plaintext entries. Records the principal may
 *   not read are omitted. `total` counts the candidates the index selects.
 * - Durability: a request's vault versions are written in one unsynced transaction, and its
 *   index rows and audit entries in one synchronous=FULL commit to the same WAL after the anchor,
 *   so an acknowledged write is on disk with one sync per request.
 * - A write is stored in the vault, anchored (wait for commit), then indexed; when the anchor
 *   fails the vault version is deleted again and the request fails with the ledger code.
 *   A transaction anchors all its versions in one submission: if any anchor fails, every version
 *   is deleted locally (anchors that did commit remain on the ledger pointing to nothing).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { findCoveringGrant, type StateReader } from '../../contracts/index.js';
import { hkdf, toBase64Url, utf8ToBytes } from '../../crypto/index.js';
import {
  FhirError,
  assembleResults,
  badRequest,
  checkCursor,
  checkIfMatch,
  compareForSort,
  conflict,
  dateConditionHolds,
  entryOutcome,
  executeBatch,
  forbidden,
  gone,
  indexEntries,
  isAfterCursor,
  isFhirId,
  isSupportedType,
  matches,
  notFound,
  patientReference,
  runEntry,
  serverError,
  sortKey,
  sortName,
  unknownType,
  EVERYTHING_SORT,
  SUPPORTED_TYPES,
  type BundlePlan,
  type Cursor,
  type EntryResult,
  type EverythingOptions,
  type FhirRepository,
  type IndexEntry,
  type ResourceByType,
  type SearchPage,
  type SearchFilter,
  type SearchQuery,
  type SortKey,
  type SortSpec,
  type StoredResource,
  type SupportedType,
  type UpdateOptions,
} from '../../fhir/index.js';
import { validateFhirResource } from '../../fhir/validation.js';
import { StateKey, createTx, signTx, type CommittedTx } from '../../ledger/index.js';
import type { GrantRecord, PartyRecord, SensitivityClass } from '../../ledger/types.js';
import type { FhirIndexRow, FhirIndexStore, FhirResourceRow } from '../../store/index.js';
import {
  VaultError,
  VaultErrorCode,
  openGrantKeys,
  sensitivityOf,
  type OpenedRecordKey,
  type Vault,
  type WriteRecordVersionInput,
} from '../../vault/index.js';
import type { Principal } from '../auth/index.js';
import type { AuditEvent, AuditTrail } from './audit.js';

/** Identifier system of a Patient's DID. */
export const DID_IDENTIFIER_SYSTEM = 'urn:ietf:rfc:3986';
/** HKDF salt of the index-token key. */
const INDEX_KEY_SALT = utf8ToBytes('roam-fhir-index-v1');
/** How long a write waits for its anchor to commit. */
export const ANCHOR_COMMIT_WAIT_MS = 30_000;
/** Purpose of use recorded in audit entries of the FHIR API. */
export const DEFAULT_PURPOSE = 'treatment';

/** The context of a FHIR request: the authenticated principal. */
export interface FhirRequestContext {
  readonly principal: Principal;
  readonly purpose: string;
}

/** What the repository needs of its node. */
export interface FhirNodePort {
  readonly did: string;
  readonly orgDid: string;
  readonly nodeSecretKey: Uint8Array;
  readonly orgEncryptionSecretKey: Uint8Array;
  readonly state: StateReader;
  submit(envelopes: readonly unknown[]): Promise<{
    readonly accepted: ReadonlyArray<{ readonly id: string; readonly index: number }>;
    readonly rejected: ReadonlyArray<{
      readonly index: number;
      readonly code: string;
      readonly message?: string;
    }>;
  }>;
  waitForCommit(id: string, timeoutMs: number): Promise<CommittedTx>;
}

/** Ledger codes that mean "not allowed" (403) when an anchor is refused; others are 409. */
const FORBIDDEN_CODES = new Set([
  'NO_GRANT',
  'GRANT_EXPIRED',
  'GRANT_REVOKED',
  'SCOPE_NOT_COVERED',
  'NOT_PRACTITIONER',
  'NOT_AUTHORIZED',
  'NOT_PATIENT',
  'UNKNOWN_PATIENT',
  'UNKNOWN_PARTY',
]);

/** A version validated and authorized, not yet written. */
interface PendingWrite {
  readonly input: WriteRecordVersionInput;
  readonly row: FhirResourceRow;
  readonly previous: FhirResourceRow | undefined;
  readonly resource: StoredResource;
  readonly index: FhirIndexRow[];
  readonly audit: AuditEvent;
}

/** A version written to the vault, waiting for its anchor. */
interface PreparedWrite {
  readonly row: FhirResourceRow;
  readonly previous: FhirResourceRow | undefined;
  readonly resource: StoredResource;
  readonly index: FhirIndexRow[];
  readonly envelope: unknown;
  readonly audit: AuditEvent;
}

/** A decision on one access. */
type Access =
  { readonly ok: true; readonly grantId?: string } | { readonly ok: false; readonly code: string };

interface Item {
  readonly id: string;
  readonly key: SortKey;
  readonly resource: StoredResource;
}

/** A `date` or `_lastUpdated` filter of a search. */
type DateFilter = Extract<SearchFilter, { kind: 'date' }>;

/** Transaction staging: Patient ids written earlier in the same transaction → DID. */
type Staged = Map<string, FhirResourceRow>;

/**
 * The encrypted repository (see the module comment).
 *
 * @example
 * const repo = new EncryptedFhirRepository(port, vault, index, audit);
 * const obs = await repo.create(observation, { principal, purpose: 'treatment' });
 */
export class EncryptedFhirRepository implements FhirRepository<FhirRequestContext> {
  readonly newId: () => string = randomUUID;
  private readonly indexKey: Uint8Array;
  /** Keys opened from grants, by grant id (memory only). */
  private readonly opened = new Map<string, readonly OpenedRecordKey[]>();
  private lastWrite = 0;
  /** How many record versions this repository decrypted (a measure for tests and benchmarks). */
  decryptions = 0;

  constructor(
    private readonly node: FhirNodePort,
    private readonly vault: Vault,
    private readonly index: FhirIndexStore,
    private readonly audit: AuditTrail,
  ) {
    this.indexKey = hkdf(node.orgEncryptionSecretKey, INDEX_KEY_SALT, utf8ToBytes(node.orgDid), 32);
  }

  // -------------------------------------------------------------------------------------------
  // keys and tokens

  private token(type: string, param: string, value: string): string {
    return toBase64Url(createHmac('sha256', this.indexKey).update(`${type}|${param}|${value}`).digest());
  }

  private indexRows(type: string, entries: readonly IndexEntry[]): FhirIndexRow[] {
    return entries.map((e): FhirIndexRow =>
      e.kind === 'date'
        ? { kind: 'date', param: e.param, start: e.start, end: e.end }
        : { kind: 'token', param: e.param, token: this.token(type, e.param, e.value) },
    );
  }

  /** The record keys this node holds for `patient` now, from the patient's active grants. */
  private async keysOf(patient: string): Promise<Map<string, Uint8Array>> {
    const org = this.node.orgDid;
    const prefix = StateKey.orgPatientGrantsPrefix(org, patient);
    const now = Date.now();
    const keys = new Map<string, Uint8Array>();
    for (const [key] of this.node.state.range<unknown>(prefix)) {
      const grant = this.node.state.get<GrantRecord>(StateKey.grant(key.slice(prefix.length)));
      if (grant === undefined || grant.status !== 'active') continue;
      if (grant.expiresAt !== null && grant.expiresAt <= now) continue;
      if (grant.keys === undefined || grant.keys.length === 0) continue;
      let opened = this.opened.get(grant.id);
      if (opened === undefined) {
        try {
          opened = await openGrantKeys(this.node.orgEncryptionSecretKey, grant.keys, {
            patient,
            grantee: org,
          });
        } catch {
          opened = []; // keys sealed to another key or context: useless to this node
        }
        this.opened.set(grant.id, opened);
      }
      for (const k of opened) keys.set(`${k.class}|${k.epoch}`, k.kek);
    }
    return keys;
  }

  private static highestEpoch(keys: Map<string, Uint8Array>, cls: SensitivityClass): number | undefined {
    let best: number | undefined;
    for (const name of keys.keys()) {
      const [c, e] = name.split('|');
      if (c === cls && (best === undefined || Number(e) > best)) best = Number(e);
    }
    return best;
  }

  // -------------------------------------------------------------------------------------------
  // authorization

  private decide(
    principal: Principal,
    patient: string,
    type: string,
    cls: SensitivityClass,
    access: 'read' | 'write',
  ): Access {
    switch (principal.kind) {
      case 'patient':
        return principal.did === patient ? { ok: true } : { ok: false, code: 'NOT_OWN_RECORD' };
      case 'practitioner': {
        if (principal.org !== this.node.orgDid) return { ok: false, code: 'OTHER_ORGANIZATION' };
        const result = findCoveringGrant(
          this.node.state,
          patient,
          principal.org,
          type,
          cls,
          access,
          Date.now(),
        );
        return result.code === 'OK'
          ? { ok: true, grantId: result.grant.id }
          : { ok: false, code: result.code };
      }
      case 'node':
        return { ok: false, code: 'NOT_AUTHORIZED' };
    }
  }

  private denied(code: string, what: string): FhirError {
    const text: Record<string, string> = {
      NOT_OWN_RECORD: 'a patient may access only their own records',
      OTHER_ORGANIZATION: `the practitioner does not belong to this node's organization`,
      NOT_AUTHORIZED: 'this principal may not access patient records',
    };
    return new FhirError(forbidden(`${code}: ${text[code] ?? `no usable grant for ${what}`}`));
  }

  private event(
    ctx: FhirRequestContext,
    patient: string,
    action: AuditEvent['action'],
    outcome: AuditEvent['outcome'],
    extra: { resourceType?: string; recordId?: string; grantId?: string | undefined },
  ): AuditEvent {
    return {
      actor: ctx.principal.did,
      patient,
      action,
      outcome,
      purpose: ctx.purpose,
      ...(extra.resourceType === undefined ? {} : { resourceType: extra.resourceType }),
      ...(extra.recordId === undefined ? {} : { recordId: extra.recordId }),
      ...(extra.grantId === undefined ? {} : { grantId: extra.grantId }),
    };
  }

  // -------------------------------------------------------------------------------------------
  // writes

  private now(): number {
    this.lastWrite = Math.max(this.lastWrite, Date.now());
    return this.lastWrite;
  }

  /** The patient DID a resource belongs to (see the module comment). */
  private patientOf(
    resource: StoredResource,
    entries: readonly IndexEntry[],
    ctx: FhirRequestContext,
    staged: Staged | undefined,
  ): string {
    if (resource.resourceType === 'Patient') {
      const identifiers = resource.identifier ?? [];
      if (ctx.principal.kind === 'patient') {
        // A patient's own Patient resource always names their DID.
        resource.identifier = [
          ...identifiers.filter((i) => i.system !== DID_IDENTIFIER_SYSTEM),
          { system: DID_IDENTIFIER_SYSTEM, value: ctx.principal.did },
        ];
        return ctx.principal.did;
      }
      const did = identifiers.find((i) => i.system === DID_IDENTIFIER_SYSTEM)?.value;
      if (did === undefined || !did.startsWith('did:')) {
        throw new FhirError(
          badRequest(
            `a Patient needs an identifier with system ${DID_IDENTIFIER_SYSTEM} holding the patient's DID`,
            'Patient.identifier',
          ),
        );
      }
      return did;
    }
    const refs = entries.filter((e) => e.kind === 'reference' && e.param === 'patient');
    if (refs.length !== 1) {
      throw new FhirError(
        badRequest(
          `a ${resource.resourceType} must reference exactly one Patient of this server (Patient/<id>); found ${refs.length}`,
          `${resource.resourceType}.subject`,
        ),
      );
    }
    const patientId = (refs[0] as { value: string }).value.slice('Patient/'.length);
    const row = staged?.get(patientId) ?? this.index.getResource(patientId);
    if (row === undefined || row.type !== 'Patient') {
      throw new FhirError(
        badRequest(`Patient/${patientId} is not stored on this server`, `${resource.resourceType}.subject`),
      );
    }
    return row.patient;
  }

  /** Validates and authorizes one version and picks its key; nothing is stored yet (see `store`). */
  private async prepare(
    type: SupportedType,
    id: string,
    input: StoredResource,
    mode: 'create' | 'update',
    ifMatch: string | undefined,
    ctx: FhirRequestContext,
    staged: Staged | undefined,
    at: number,
  ): Promise<PendingWrite> {
    const validation = validateFhirResource(input);
    if (!validation.ok) throw new FhirError(validation.outcome);
    if (input.resourceType !== type) {
      throw new FhirError(
        badRequest(`resourceType ${input.resourceType} does not match the URL (${type})`, 'resourceType'),
      );
    }
    if (!isFhirId(id)) throw new FhirError(badRequest(`id "${id}" is not a FHIR id`, 'id'));
    if (mode === 'update' && input.id !== id) {
      throw new FhirError(
        badRequest(`Resource id ${JSON.stringify(input.id)} must equal the id in the URL (${id})`, 'id'),
      );
    }
    const previous = staged?.get(id) ?? this.index.getResource(id);
    if (previous === undefined && this.vault.store.getErasure(id) !== undefined)
      throw new FhirError(gone(type, id)); // an erased id is never reused
    if (mode === 'create' && previous !== undefined)
      throw new FhirError(conflict(`${type}/${id} already exists`));
    if (previous !== undefined && previous.type !== type) {
      throw new FhirError(conflict(`id ${id} is taken by a resource of another type`));
    }
    checkIfMatch(ifMatch, previous === undefined ? undefined : String(previous.version), `${type}/${id}`);

    const version = previous === undefined ? 1 : previous.version + 1;
    const stored = structuredClone(input);
    stored.id = id;
    stored.meta = { ...stored.meta, versionId: String(version), lastUpdated: new Date(at).toISOString() };
    const patient = this.patientOf(stored, indexEntries(stored), ctx, staged);
    if (previous !== undefined && previous.patient !== patient) {
      throw new FhirError(badRequest(`${type}/${id} belongs to another patient`, `${type}.subject`));
    }
    const cls = sensitivityOf(stored);
    const action = mode === 'create' || previous === undefined ? 'create' : 'update';
    const decision = this.decide(ctx.principal, patient, type, cls, 'write');
    if (!decision.ok) {
      this.audit.record([this.event(ctx, patient, action, 'denied', { resourceType: type, recordId: id })]);
      throw this.denied(decision.code, `writing ${cls} ${type} records`);
    }
    const keys = await this.keysOf(patient);
    const epoch = EncryptedFhirRepository.highestEpoch(keys, cls);
    if (epoch === undefined) {
      this.audit.record([this.event(ctx, patient, action, 'denied', { resourceType: type, recordId: id })]);
      throw new FhirError(forbidden(`no record key granted for class ${cls}`));
    }
    return {
      input: {
        recordId: id,
        version,
        patient,
        resourceType: type,
        class: cls,
        epoch,
        resource: stored as unknown as Record<string, unknown>,
        kek: keys.get(`${cls}|${epoch}`)!,
        custodian: this.node.orgDid,
        author: ctx.principal.did,
      },
      row: { recordId: id, type, version, patient, lastUpdated: at, class: cls, epoch },
      previous,
      resource: stored,
      index: this.indexRows(type, indexEntries(stored)),
      audit: this.event(ctx, patient, action, 'success', {
        resourceType: type,
        recordId: id,
        grantId: decision.grantId,
      }),
    };
  }

  /**
   * Encrypts and stores the versions in the vault in one transaction (not synced: `commit` makes
   * the request's durable commit), and builds their anchors. When one fails nothing is stored and
   * `onError` gets its position (it may throw its own error).
   */
  private store(
    pending: readonly PendingWrite[],
    onError: (error: FhirError, position: number) => never = (error) => {
      throw error;
    },
  ): PreparedWrite[] {
    let position = 0;
    try {
      return this.vault.unsyncedBatch(() =>
        pending.map((p, i): PreparedWrite => {
          position = i;
          const { contentHash } = this.vault.writeRecordVersion(p.input);
          const { input } = p;
          const envelope = signTx(
            createTx({
              type: 'records.anchor',
              signer: this.node.did,
              payload: {
                recordId: input.recordId,
                version: input.version,
                patient: input.patient,
                resourceType: input.resourceType,
                class: input.class,
                contentHash,
                author: input.author,
                epoch: input.epoch,
              },
            }),
            this.node.nodeSecretKey,
          );
          return {
            row: p.row,
            previous: p.previous,
            resource: p.resource,
            index: p.index,
            envelope,
            audit: p.audit,
          };
        }),
      );
    } catch (error) {
      const cls = pending[position]?.input.class ?? 'general';
      return onError(vaultFailure(error, cls), position);
    }
  }

  private rollback(writes: readonly PreparedWrite[]): void {
    for (const w of writes) this.index.deleteVersion(w.row.recordId, w.row.version);
  }

  /** Anchors the versions (one submission), then indexes them; on any failure rolls all back. */
  private async commit(writes: readonly PreparedWrite[]): Promise<void> {
    if (writes.length === 0) return;
    let failure: { code: string; message: string } | undefined;
    try {
      const outcome = await this.node.submit(writes.map((w) => w.envelope));
      const rejected = outcome.rejected[0];
      if (rejected !== undefined) failure = { code: rejected.code, message: rejected.message ?? '' };
      const committed = await Promise.all(
        outcome.accepted.map((a) => this.node.waitForCommit(a.id, ANCHOR_COMMIT_WAIT_MS)),
      );
      const bad = committed.find((c) => c.code !== 'OK');
      if (failure === undefined && bad !== undefined)
        failure = { code: bad.code, message: bad.message ?? '' };
    } catch (error) {
      this.rollback(writes);
      throw error;
    }
    if (failure !== undefined) {
      this.rollback(writes);
      const text = `the ledger refused the record anchor: ${failure.code}${failure.message === '' ? '' : `: ${failure.message}`}`;
      throw new FhirError(FORBIDDEN_CODES.has(failure.code) ? forbidden(text) : conflict(text));
    }
    // The request's one durable commit: its index rows and audit entries, synced with the WAL
    // frames of the vault versions written (unsynced) before.
    this.index.durably(() => {
      for (const w of writes) this.index.putResource(w.row, w.index);
      this.audit.record(writes.map((w) => w.audit));
    });
  }

  async create<T extends SupportedType>(
    resource: ResourceByType[T] & { readonly resourceType: T },
    ctx: FhirRequestContext,
    options: { readonly id?: string } = {},
  ): Promise<ResourceByType[T]> {
    checkResource(resource);
    const pending = await this.prepare(
      resource.resourceType,
      options.id ?? this.newId(),
      resource,
      'create',
      undefined,
      ctx,
      undefined,
      this.now(),
    );
    const [prepared] = this.store([pending]);
    await this.commit([prepared!]);
    return prepared!.resource as ResourceByType[T];
  }

  async update<T extends SupportedType>(
    type: T,
    id: string,
    resource: ResourceByType[T],
    options: UpdateOptions,
    ctx: FhirRequestContext,
  ): Promise<ResourceByType[T]> {
    if (!isSupportedType(type)) throw new FhirError(unknownType(type));
    checkResource(resource);
    const pending = await this.prepare(
      type,
      id,
      resource,
      'update',
      options.ifMatch,
      ctx,
      undefined,
      this.now(),
    );
    const [prepared] = this.store([pending]);
    await this.commit([prepared!]);
    return prepared!.resource as ResourceByType[T];
  }

  // -------------------------------------------------------------------------------------------
  // reads

  private row(type: string, id: string): FhirResourceRow {
    if (!isSupportedType(type)) throw new FhirError(unknownType(type));
    const row = this.index.getResource(id);
    if (row === undefined && this.vault.store.getErasure(id) !== undefined)
      throw new FhirError(gone(type, id)); // erased ($erase): 410
    if (row === undefined || row.type !== type) throw new FhirError(notFound(type, id));
    return row;
  }

  /** Authorizes a read of `row` (audited when denied); returns the grant used. */
  private authorizeRead(
    row: FhirResourceRow,
    cls: SensitivityClass,
    ctx: FhirRequestContext,
    action: 'read' | 'search',
  ): string | undefined {
    const decision = this.decide(ctx.principal, row.patient, row.type, cls, 'read');
    if (!decision.ok) {
      this.audit.record([
        this.event(ctx, row.patient, action, 'denied', { resourceType: row.type, recordId: row.recordId }),
      ]);
      throw this.denied(decision.code, `reading ${cls} ${row.type} records`);
    }
    return decision.grantId;
  }

  private decrypt(
    recordId: string,
    version: number | undefined,
    keys: Map<string, Uint8Array>,
  ): StoredResource {
    this.decryptions++;
    return this.vault.readRecordVersion(recordId, version, (ref) =>
      keys.get(`${ref.class}|${ref.epoch}`),
    ) as unknown as StoredResource;
  }

  async read<T extends SupportedType>(
    type: T,
    id: string,
    ctx: FhirRequestContext,
  ): Promise<ResourceByType[T]> {
    const row = this.row(type, id);
    return this.readAudited(type, row, undefined, row.class as SensitivityClass, ctx);
  }

  async vread<T extends SupportedType>(
    type: T,
    id: string,
    vid: string,
    ctx: FhirRequestContext,
  ): Promise<ResourceByType[T]> {
    const row = this.row(type, id);
    const version = /^[1-9]\d{0,8}$/.test(vid) ? Number(vid) : undefined;
    if (version === undefined || version > row.version) throw new FhirError(notFound(type, id, vid));
    return this.readAudited(type, row, version, this.vault.getVersionInfo(id, version).class, ctx);
  }

  /** Reads one version (undefined = the current one) after authorizing it; audits either outcome. */
  private async readAudited<T extends SupportedType>(
    type: T,
    row: FhirResourceRow,
    version: number | undefined,
    cls: SensitivityClass,
    ctx: FhirRequestContext,
  ): Promise<ResourceByType[T]> {
    const id = row.recordId;
    const grantId = this.authorizeRead(row, cls, ctx, 'read');
    const keys = await this.keysOf(row.patient);
    let resource: StoredResource;
    try {
      resource = this.decrypt(id, version, keys);
    } catch (error) {
      this.audit.record([this.event(ctx, row.patient, 'read', 'denied', { resourceType: type, recordId: id })]);
      throw vaultFailure(error, cls);
    }
    this.audit.record([
      this.event(ctx, row.patient, 'read', 'success', { resourceType: type, recordId: id, grantId }),
    ]);
    return resource as ResourceByType[T];
  }

  async history<T extends SupportedType>(
    type: T,
    id: string,
    ctx: FhirRequestContext,
  ): Promise<ResourceByType[T][]> {
    const row = this.row(type, id);
    const grantId = this.authorizeRead(row, row.class as SensitivityClass, ctx, 'read');
    const keys = await this.keysOf(row.patient);
    const out: ResourceByType[T][] = [];
    for (let v = row.version; v >= 1; v--) {
      const info = this.vault.getVersionInfo(id, v);
      if (!this.decide(ctx.principal, row.patient, type, info.class, 'read').ok) continue;
      try {
        out.push(this.decrypt(id, v, keys) as ResourceByType[T]);
      } catch {
        // a version under a key this node does not hold (e.g. a class not granted): omitted
      }
    }
    if (out.length === 0) throw new FhirError(forbidden(`no record key granted for class ${row.class}`));
    this.audit.record([
      this.event(ctx, row.patient, 'read', 'success', { resourceType: type, recordId: id, grantId }),
    ]);
    return out;
  }

  /**
   * One page of the readable, matching resources among candidate rows, cut from the index: rows
   * are authorized, filtered by their date rows and by the keys at hand, and ordered by the sort
   * key kept in the index without decrypting anything; then candidates after the cursor are
   * decrypted in order (`matches` re-checked on the plaintext) until the page is full, plus one
   * to know whether a next page exists. `total` counts the candidates the index selects.
   */
  private async pageFromIndex(
    rows: readonly FhirResourceRow[],
    options: {
      readonly dateFilters: readonly DateFilter[];
      readonly filter: (entries: readonly IndexEntry[]) => boolean;
      readonly sort: SortSpec;
      readonly cursorSort: string;
      readonly cursor: Cursor | undefined;
      readonly count: number;
      readonly idOf: (row: FhirResourceRow) => string;
    },
    ctx: FhirRequestContext,
  ): Promise<{
    page: SearchPage;
    patients: Map<string, string | undefined>;
    deniedCode: string | undefined;
    authorized: number;
  }> {
    const { sort, dateFilters } = options;
    const params = [...new Set([sort.param, ...dateFilters.map((f) => f.param)])];
    const dates = this.index.datesOf(
      rows.map((r) => r.recordId),
      params,
    );
    const patients = new Map<string, string | undefined>();
    const keyCache = new Map<string, Map<string, Uint8Array>>();
    let deniedCode: string | undefined;
    let authorized = 0;
    const candidates: { row: FhirResourceRow; id: string; key: SortKey; keys: Map<string, Uint8Array> }[] =
      [];
    // One decision per (patient, type, class): the ledger state does not change within a request.
    const decisions = new Map<string, Access>();
    for (const row of rows) {
      const which = `${row.patient}|${row.type}|${row.class}`;
      let decision = decisions.get(which);
      if (decision === undefined) {
        decision = this.decide(ctx.principal, row.patient, row.type, row.class as SensitivityClass, 'read');
        decisions.set(which, decision);
      }
      if (!decision.ok) {
        deniedCode ??= decision.code;
        continue;
      }
      authorized++;
      let keys = keyCache.get(row.patient);
      if (keys === undefined) {
        keys = await this.keysOf(row.patient);
        keyCache.set(row.patient, keys);
      }
      if (!keys.has(`${row.class}|${row.epoch}`)) continue; // no key for its class/epoch: omitted
      const own = dates.get(row.recordId) ?? [];
      const datesOk = dateFilters.every((f) =>
        own.some((d) => d.param === f.param && f.anyOf.some((c) => dateConditionHolds(c, d.start, d.end))),
      );
      if (!datesOk) continue;
      const first = own.find((d) => d.param === sort.param);
      candidates.push({ row, id: options.idOf(row), key: [first === undefined ? null : first.start], keys });
      if (!patients.has(row.patient)) patients.set(row.patient, decision.grantId);
    }
    candidates.sort((a, b) => compareForSort(a, b, sort));
    const { cursor, count } = options;
    let at = 0;
    if (cursor !== undefined) {
      // First candidate after the cursor (binary search: the order is total).
      let lo = 0;
      let hi = candidates.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (isAfterCursor(candidates[mid]!, cursor, sort)) hi = mid;
        else lo = mid + 1;
      }
      at = lo;
    }
    const items: Item[] = [];
    for (let i = at; i < candidates.length && items.length <= count && count > 0; i++) {
      const c = candidates[i]!;
      let resource: StoredResource;
      try {
        resource = this.decrypt(c.row.recordId, undefined, c.keys);
      } catch {
        continue; // erased meanwhile, or a key that does not open it: omitted
      }
      const entries = indexEntries(resource);
      if (!options.filter(entries)) continue;
      items.push({ id: c.id, key: sortKey(entries, sort), resource });
    }
    const pageItems = items.slice(0, count);
    const lastItem = pageItems[pageItems.length - 1];
    const page: SearchPage = { resources: pageItems.map((item) => item.resource), total: candidates.length };
    return {
      page:
        items.length > count && lastItem !== undefined
          ? { ...page, next: { sort: options.cursorSort, key: lastItem.key, id: lastItem.id } }
          : page,
      patients,
      deniedCode,
      authorized,
    };
  }

  async search<T extends SupportedType>(
    type: T,
    query: SearchQuery,
    ctx: FhirRequestContext,
  ): Promise<SearchPage<ResourceByType[T]>> {
    if (query.resourceType !== type) {
      throw new FhirError(badRequest(`Query for ${query.resourceType} run on ${type}`, 'resourceType'));
    }
    const scoping = query.filters.filter(
      (f) => f.kind === 'reference' || f.param === '_id' || f.param === 'identifier',
    );
    if (ctx.principal.kind !== 'patient' && scoping.length === 0) {
      throw new FhirError(
        badRequest(
          'a practitioner search must name a patient (patient, subject, _id or identifier)',
          'patient',
        ),
      );
    }
    // Candidates: the intersection of every token filter's records.
    let candidates: Set<string> | undefined;
    for (const f of query.filters) {
      if (f.kind === 'date') continue;
      const found = this.index.recordsWithToken(
        f.param,
        f.anyOf.map((v) => this.token(type, f.param, v)),
      );
      candidates = candidates === undefined ? found : new Set([...candidates].filter((id) => found.has(id)));
    }
    const rows =
      candidates === undefined
        ? this.index.resourcesOfPatient(ctx.principal.did, type)
        : this.index.getResources(candidates).filter((r) => r.type === type);

    // A search scoped to patients the practitioner has no usable grant for is refused, not empty.
    const scopedPatients = this.patientsOfQuery(query);
    if (ctx.principal.kind !== 'patient') {
      for (const did of scopedPatients) {
        const general = this.decide(ctx.principal, did, type, 'general', 'read');
        const sensitive = this.decide(ctx.principal, did, type, 'sensitive', 'read');
        if (!general.ok && !sensitive.ok) {
          this.audit.record([this.event(ctx, did, 'search', 'denied', { resourceType: type })]);
          throw this.denied(general.code, `reading ${type} records`);
        }
      }
    }
    const count = query.summaryCount ? 0 : query.count;
    const { page, patients, deniedCode, authorized } = await this.pageFromIndex(
      rows,
      {
        dateFilters: query.filters.filter((f): f is DateFilter => f.kind === 'date'),
        filter: (entries) => matches(entries, query),
        sort: query.sort,
        cursorSort: sortName(query.sort),
        cursor: query.page,
        count,
        idOf: (row) => row.recordId,
      },
      ctx,
    );
    if (deniedCode !== undefined && authorized === 0) {
      const events = [...new Set(rows.map((r) => r.patient))].map((p) =>
        this.event(ctx, p, 'search', 'denied', { resourceType: type }),
      );
      this.audit.record(events);
      throw this.denied(deniedCode, `reading ${type} records`);
    }
    for (const did of scopedPatients) if (!patients.has(did)) patients.set(did, undefined);
    this.audit.record(
      [...patients].map(([patient, grantId]) =>
        this.event(ctx, patient, 'search', 'success', { resourceType: type, grantId }),
      ),
    );
    return page as SearchPage<ResourceByType[T]>;
  }

  /** DIDs of the patients a query's `patient` filter names (those stored here). */
  private patientsOfQuery(query: SearchQuery): string[] {
    const out = new Set<string>();
    for (const f of query.filters) {
      if (f.kind !== 'reference') continue;
      for (const ref of f.anyOf) {
        const row = this.index.getResource(ref.slice('Patient/'.length));
        if (row?.type === 'Patient') out.add(row.patient);
      }
    }
    return [...out];
  }

  async everything(
    patientId: string,
    options: EverythingOptions,
    ctx: FhirRequestContext,
  ): Promise<SearchPage> {
    const patientRow = this.row('Patient', patientId);
    if (options.page !== undefined) checkCursor(options.page, EVERYTHING_SORT, 1);
    const reference = patientReference(patientId);
    const ids = new Set<string>();
    for (const type of SUPPORTED_TYPES) {
      for (const id of this.index.recordsWithToken('patient', [this.token(type, 'patient', reference)]))
        ids.add(id);
    }
    const rows = this.index.getResources(ids);
    const sort: SortSpec = { param: '_lastUpdated', descending: false };
    const { page, patients, deniedCode, authorized } = await this.pageFromIndex(
      rows,
      {
        dateFilters: [],
        filter: (entries) =>
          entries.some((e) => e.kind === 'reference' && e.param === 'patient' && e.value === reference),
        sort,
        cursorSort: EVERYTHING_SORT,
        cursor: options.page,
        count: options.count,
        idOf: (row) => `${row.type}/${row.recordId}`,
      },
      ctx,
    );
    if (deniedCode !== undefined && authorized === 0) {
      this.audit.record([
        this.event(ctx, patientRow.patient, 'search', 'denied', {
          resourceType: 'Patient',
          recordId: patientId,
        }),
      ]);
      throw this.denied(deniedCode, 'reading this patient’s records');
    }
    if (!patients.has(patientRow.patient)) patients.set(patientRow.patient, undefined);
    this.audit.record(
      [...patients].map(([patient, grantId]) =>
        this.event(ctx, patient, 'search', 'success', {
          resourceType: 'Patient',
          recordId: patientId,
          grantId,
        }),
      ),
    );
    return page;
  }

  // -------------------------------------------------------------------------------------------
  // Bundles

  async execute(plan: BundlePlan, ctx: FhirRequestContext): Promise<EntryResult[]> {
    if (plan.type === 'batch') return executeBatch(this, plan, ctx);
    const executed = new Map<number, EntryResult>();

    // Transaction: every write prepared (stored in the vault) first, then anchored together.
    const at = this.now();
    const staged: Staged = new Map();
    const writes: { index: number; pending: PendingWrite; status: 200 | 201 }[] = [];
    const fail = (error: unknown, index: number): never => {
      if (error instanceof FhirError)
        throw new FhirError(entryOutcome(error.outcome, index), { cause: error });
      throw error;
    };
    for (const entry of plan.entries) {
      const op = entry.op;
      if (op.method === 'GET') continue;
      try {
        checkResource(op.resource);
        const pending = await this.prepare(
          op.type,
          op.id,
          op.resource,
          op.method === 'POST' ? 'create' : 'update',
          op.method === 'PUT' ? op.ifMatch : undefined,
          ctx,
          staged,
          at,
        );
        staged.set(op.id, pending.row);
        writes.push({ index: entry.index, pending, status: pending.row.version === 1 ? 201 : 200 });
      } catch (error) {
        fail(error, entry.index);
      }
    }
    // Every version stored in one vault transaction (all or none), then anchored together.
    const prepared = this.store(
      writes.map((w) => w.pending),
      (error, position) => fail(error, writes[position]!.index),
    );
    await this.commit(prepared);
    for (const w of writes)
      executed.set(w.index, { kind: 'resource', status: w.status, resource: w.pending.resource });
    for (const entry of plan.entries) {
      if (entry.op.method !== 'GET') continue;
      try {
        executed.set(entry.index, await runEntry(this, entry, ctx));
      } catch (error) {
        if (error instanceof FhirError)
          throw new FhirError(entryOutcome(error.outcome, entry.index), { cause: error });
        throw error;
      }
    }
    return assembleResults(plan, executed);
  }
}

/** The FhirError of a vault failure. */
function vaultFailure(error: unknown, cls: string): FhirError {
  if (error instanceof FhirError) return error;
  if (error instanceof VaultError) {
    const code: string = error.code;
    if (code === VaultErrorCode.KEY_UNAVAILABLE)
      return new FhirError(forbidden(`no record key granted for class ${cls}`));
    if (code === VaultErrorCode.STALE_EPOCH)
      return new FhirError(
        forbidden(`no record key granted for class ${cls} at the patient's current epoch`),
      );
    if (code === VaultErrorCode.VERSION_EXISTS)
      return new FhirError(conflict('the resource was written concurrently; retry'));
    if (code === VaultErrorCode.CLASS_MISMATCH)
      return new FhirError(badRequest(error.message, 'meta.security'));
  }
  return new FhirError(serverError, { cause: error });
}

function checkResource(resource: unknown): asserts resource is StoredResource {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    throw new FhirError(badRequest('Expected a FHIR resource (a JSON object)', 'resourceType'));
  }
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string') throw new FhirError(badRequest('resourceType is missing', 'resourceType'));
  if (!isSupportedType(type)) throw new FhirError(unknownType(type));
}

/** Whether `did` is a registered patient in `state`. */
export function isRegisteredPatient(state: StateReader, did: string): boolean {
  return state.get<PartyRecord>(StateKey.party(did))?.kind === 'patient';
}
