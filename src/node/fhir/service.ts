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
 *   resources reference `Patient/<id>` of a Patient stored on this node or, when the node roams,
 *   of a live Patient another custodian anchored on the ledger.
 * - Search: index tokens (and date rows) select candidates, which are authorized and ordered by
 *   the sort key kept in the index; only the candidates a page needs are decrypted (page size
 *   + 1), and `matches` is checked again on their plaintext entries. Records the principal may
 *   not read are omitted. `total` counts the candidates the index selects. A patient reference
 *   (`patient=`, `$everything`) selects the records of that patient's DID.
 * - Roaming (`useRemote`, `src/node/roaming`): reads by id, searches naming a patient and
 *   `$everything` also ask the other custodians of the patient's records (found on the ledger)
 *   for their matches, as ciphertext; those join the candidates by their sort key and are
 *   decrypted only when a page shows them. A custodian not reached adds an OperationOutcome to
 *   the page (a read by id of its record answers 503).
 * - Validation: before anything is stored, by the node's `FhirValidator` (a worker-thread pool;
 *   the same `validateFhirResource`, so the same OperationOutcomes). A transaction Bundle hands
 *   all its resources over at once and prepares each entry, in order, as its result comes in.
 * - A write is stored in the vault, anchored (wait for commit), then indexed; when the anchor
 *   fails the vault versions are deleted again and the request fails with the ledger code.
 * - Group commit: the write requests that reach a step within one event-loop turn share it
 *   (`TurnBatch`): their vault versions are written in one unsynced transaction (a savepoint
 *   each), their anchors go in shared `records.anchor` transactions of up to ANCHORS_PER_TX
 *   anchors (a request's anchors together: a transaction Bundle of up to that many versions is
 *   anchored all or none), and their index rows and audit entries in one synchronous=FULL commit
 *   to the same WAL after the anchors commit — so an acknowledged write is on disk, with one
 *   sync per turn instead of one per request. When the ledger refuses a shared anchor
 *   transaction, each of its requests is anchored again in a transaction of its own, so that one
 *   request's refusal is not another's. (A Bundle larger than ANCHORS_PER_TX spans transactions:
 *   if one fails every version is deleted locally, and anchors that did commit remain on the
 *   ledger pointing to nothing.)
 */
import { randomUUID } from 'node:crypto';
import type { RecordAnchorPayload, StateReader } from '../../contracts/index.js';
import { indexToken, indexTokenKey } from '../../crypto/index.js';
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
import { inThreadValidator, type FhirValidator } from '../../fhir/validation-pool.js';
import type { FhirValidationResult } from '../../fhir/validation.js';
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
import { AccessPolicy, type AccessDecision, type Reach } from './access.js';
import type { AuditEvent, AuditTrail } from './audit.js';
import { recordOnce } from './audit-once.js';
import type { RemoteRecordSource, RemoteResource } from './remote.js';
import {
  NO_REMOTE,
  didsOfIdentifiers,
  fetchRemote,
  isClaimedKey,
  patientDidOf,
  remoteAnchor,
  remoteItems,
  remoteReadFailure,
  unopenable,
  type RemoteFetch,
  type RemoteItem,
} from './remote-reads.js';
import { TurnBatch, settle, type Settled } from './turn-batch.js';

/** Identifier system of a Patient's DID. */
export const DID_IDENTIFIER_SYSTEM = 'urn:ietf:rfc:3986';
/** How long a write waits for its anchor to commit. */
export const ANCHOR_COMMIT_WAIT_MS = 30_000;
/** Most anchors in one `records.anchor` transaction of this node (the contract takes 1,000). */
export const ANCHORS_PER_TX = 250;
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
  readonly anchor: RecordAnchorPayload;
  readonly audit: AuditEvent;
}

/** Why the ledger did not anchor a request's versions. */
interface AnchorRefusal {
  readonly code: string;
  readonly message: string;
}

/**
 * One request's versions after the vault step: stored, or the error of the version at
 * `position` (then nothing of the request is stored).
 */
type Stored =
  | { readonly ok: true; readonly writes: readonly PreparedWrite[] }
  | { readonly ok: false; readonly error: FhirError; readonly position: number };

/**
 * One request after the vault and ledger steps: stored, and anchored or refused by the ledger
 * (its versions then deleted again); or not stored at all.
 */
type Anchored =
  | { readonly ok: true; readonly writes: readonly PreparedWrite[]; readonly refusal?: AnchorRefusal }
  | { readonly ok: false; readonly error: FhirError; readonly position: number };

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
 * What the writes of one request look up once (the ledger state does not change within a
 * request): write decisions by patient, type and class, the record keys by patient, and index
 * tokens. It lives as long as the request.
 */
interface WriteMemo {
  readonly decisions: Map<string, AccessDecision>;
  readonly keys: Map<string, Map<string, Uint8Array>>;
  /** Index tokens by `type|param|value` (a Bundle's resources share most of theirs). */
  readonly tokens: Map<string, string>;
}

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
  /** Who may reach what: asked before any index or vault lookup. */
  readonly access: AccessPolicy;
  /** Keys opened from grants, by grant id (memory only). */
  private readonly opened = new Map<string, readonly OpenedRecordKey[]>();
  private lastWrite = 0;
  /** How many record versions this repository decrypted (a measure for tests and benchmarks). */
  decryptions = 0;

  /** The vault writes and anchors of the write requests of one event-loop turn. */
  private readonly storing = new TurnBatch<readonly PendingWrite[], Anchored>((groups) =>
    this.storeAndAnchor(groups),
  );
  /** The durable index and audit commits of the writes whose anchors committed in one turn. */
  private readonly indexing = new TurnBatch<readonly PreparedWrite[], void>((groups) =>
    this.indexDurably(groups),
  );

  /**
   * @param validator validates resources before anything is stored (default: in this thread;
   *   the node passes its worker pool)
   */
  constructor(
    private readonly node: FhirNodePort,
    private readonly vault: Vault,
    private readonly index: FhirIndexStore,
    private readonly audit: AuditTrail,
    private readonly validator: FhirValidator = inThreadValidator,
  ) {
    this.indexKey = indexTokenKey(node.orgEncryptionSecretKey, node.orgDid);
    this.access = new AccessPolicy({ orgDid: node.orgDid, state: node.state });
  }

  // -------------------------------------------------------------------------------------------
  // keys and tokens

  private token(type: string, param: string, value: string): string {
    return indexToken(this.indexKey, { resourceType: type, param, value });
  }

  /** The index rows of `entries`; `tokens` remembers the tokens of one request (many repeat). */
  private indexRows(
    type: string,
    entries: readonly IndexEntry[],
    tokens: Map<string, string> = new Map(),
  ): FhirIndexRow[] {
    return entries.map((e): FhirIndexRow => {
      if (e.kind === 'date') return { kind: 'date', param: e.param, start: e.start, end: e.end };
      const which = `${type}|${e.param}|${e.value}`;
      let token = tokens.get(which);
      if (token === undefined) {
        token = this.token(type, e.param, e.value);
        tokens.set(which, token);
      }
      return { kind: 'token', param: e.param, token };
    });
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

  /** One decision of the access policy (see `access.ts`), for a principal of this node's API. */
  private decide(
    principal: Principal,
    patient: string,
    type: string,
    cls: SensitivityClass,
    access: 'read' | 'write',
  ): AccessDecision {
    return this.access
      .reachOf(principal, DEFAULT_PURPOSE)
      .decide({ patient, resourceType: type, class: cls, action: access });
  }

  /**
   * Names the grant for patients whose only matches were records fetched from other custodians
   * (no local record decided one), so the audit entry says under which grant they were read.
   */
  private grantsOfRemoteReads(
    patients: Map<string, string | undefined>,
    remote: readonly RemoteResource[],
    ctx: FhirRequestContext,
  ): void {
    for (const r of remote) {
      if (patients.get(r.patient) !== undefined) continue;
      const decision = this.decide(ctx.principal, r.patient, r.type, r.class, 'read');
      if (decision.ok && decision.grantId !== undefined) patients.set(r.patient, decision.grantId);
    }
  }

  /** Appends a request's audit entries, at most one per (patient, action, outcome) per request. */
  private recordAudit(ctx: FhirRequestContext, events: readonly AuditEvent[]): void {
    recordOnce(this.audit, ctx, events);
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
    if (row?.type === 'Patient') return row.patient;
    // Roaming: the live Patient another custodian anchored on the ledger (a visiting patient).
    const remote = row === undefined ? this.didOfReference(patientReference(patientId)) : undefined;
    if (remote !== undefined) return remote;
    throw new FhirError(
      badRequest(`Patient/${patientId} is not stored on this server`, `${resource.resourceType}.subject`),
    );
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
    validating: Promise<FhirValidationResult> = this.validator.validate(input),
    memo: WriteMemo = { decisions: new Map(), keys: new Map(), tokens: new Map() },
  ): Promise<PendingWrite> {
    const validation = await validating;
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
    const entries = indexEntries(stored);
    const patient = this.patientOf(stored, entries, ctx, staged);
    if (previous !== undefined && previous.patient !== patient) {
      throw new FhirError(badRequest(`${type}/${id} belongs to another patient`, `${type}.subject`));
    }
    const cls = sensitivityOf(stored);
    const action = mode === 'create' || previous === undefined ? 'create' : 'update';
    // A new version replaces the current one: the writer needs write access to the class of the
    // version it replaces too, or an overwrite without the label would downgrade the record.
    const replacedClass = previous === undefined ? undefined : (previous.class as SensitivityClass);
    const decisionOf = (c: SensitivityClass): AccessDecision => {
      const which = `${patient}|${type}|${c}`;
      let found = memo.decisions.get(which);
      if (found === undefined) {
        found = this.decide(ctx.principal, patient, type, c, 'write');
        memo.decisions.set(which, found);
      }
      return found;
    };
    const replaced =
      replacedClass === undefined || replacedClass === cls ? undefined : decisionOf(replacedClass);
    const decision = replaced !== undefined && !replaced.ok ? replaced : decisionOf(cls);
    if (!decision.ok) {
      this.recordAudit(ctx, [
        this.event(ctx, patient, action, 'denied', { resourceType: type, recordId: id }),
      ]);
      throw this.denied(decision.code, `writing ${cls} ${type} records`);
    }
    let keys = memo.keys.get(patient);
    if (keys === undefined) {
      keys = await this.keysOf(patient);
      memo.keys.set(patient, keys);
    }
    const epoch = EncryptedFhirRepository.highestEpoch(keys, cls);
    if (epoch === undefined) {
      this.recordAudit(ctx, [
        this.event(ctx, patient, action, 'denied', { resourceType: type, recordId: id }),
      ]);
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
        // Decided above: the writer may write the class the record had.
        ...(replacedClass === 'sensitive' && cls === 'general' ? { mayLowerClass: true } : {}),
      },
      row: { recordId: id, type, version, patient, lastUpdated: at, class: cls, epoch },
      previous,
      resource: stored,
      // A Patient's entries again: `patientOf` may have added the DID identifier.
      index: this.indexRows(type, type === 'Patient' ? indexEntries(stored) : entries, memo.tokens),
      audit: this.event(ctx, patient, action, 'success', {
        resourceType: type,
        recordId: id,
        grantId: decision.grantId,
      }),
    };
  }

  /**
   * Writes one request's versions: stored in the vault and anchored on the ledger together with
   * the writes of other requests of the same event-loop turn (one vault transaction, shared
   * `records.anchor` transactions), then indexed and audited in one durable commit shared the
   * same way. When a version cannot be stored nothing of the request is, and `onError` gets the
   * version's position (it may throw its own error); when the ledger refuses the request's
   * anchors, or they do not commit, every version of the request is deleted again.
   */
  private async write(
    pending: readonly PendingWrite[],
    onError: (error: FhirError, position: number) => never = (error) => {
      throw error;
    },
  ): Promise<void> {
    if (pending.length === 0) return;
    const anchored = await this.storing.add(pending);
    if (!anchored.ok) return onError(anchored.error, anchored.position);
    const { refusal } = anchored;
    if (refusal !== undefined) {
      const text = `the ledger refused the record anchor: ${refusal.code}${refusal.message === '' ? '' : `: ${refusal.message}`}`;
      throw new FhirError(FORBIDDEN_CODES.has(refusal.code) ? forbidden(text) : conflict(text));
    }
    await this.indexing.add(anchored.writes);
  }

  /**
   * The vault and ledger steps of a turn: every request's versions in one unsynced vault
   * transaction (each request in its own savepoint, so that one failing leaves the others
   * stored; `indexDurably` makes the durable commit), then anchored (see `anchor`).
   */
  private async storeAndAnchor(groups: readonly (readonly PendingWrite[])[]): Promise<Settled<Anchored>[]> {
    const stored = this.vault.unsyncedBatch(() => groups.map((pending) => this.storeOne(pending)));
    const kept = stored.flatMap((s) => (s.ok ? [s.writes] : []));
    const outcomes = await this.anchor(kept);
    let at = 0;
    return stored.map((s): Settled<Anchored> => {
      if (!s.ok) return { ok: true, value: s };
      const outcome = outcomes[at++]!;
      if (!outcome.ok || outcome.value !== undefined) this.rollback(s.writes);
      if (!outcome.ok) return outcome;
      return { ok: true, value: outcome.value === undefined ? s : { ...s, refusal: outcome.value } };
    });
  }

  /**
   * Anchors the versions of several requests and waits for the commit: `ANCHORS_PER_TX` at most
   * per `records.anchor` transaction, the requests of a turn sharing transactions (a request
   * larger than that has its own). A shared transaction the ledger refuses is retried as one
   * transaction per request, so that each request gets its own answer. Answers, per request,
   * undefined when every anchor committed, else the ledger's refusal (or the error of the
   * submission or of the wait).
   */
  private async anchor(
    groups: readonly (readonly PreparedWrite[])[],
  ): Promise<Settled<AnchorRefusal | undefined>[]> {
    if (groups.length === 0) return [];
    const answers: Settled<AnchorRefusal | undefined>[] = groups.map(() => ({ ok: true, value: undefined }));
    const round = async (members: readonly number[], share: boolean): Promise<number[]> => {
      // Transactions of whole requests: a request's anchors stay together when they fit one.
      const txs: number[][] = [];
      let size = ANCHORS_PER_TX;
      for (const g of members) {
        const n = groups[g]!.length;
        if (!share || size + n > ANCHORS_PER_TX) {
          txs.push([]);
          size = 0;
        }
        txs[txs.length - 1]!.push(g);
        size += n;
      }
      const chunks = txs.flatMap((tx) => {
        const anchors = tx.flatMap((g) => groups[g]!.map((w) => w.anchor));
        const out: { tx: number[]; anchors: RecordAnchorPayload[] }[] = [];
        for (let i = 0; i < anchors.length; i += ANCHORS_PER_TX)
          out.push({ tx, anchors: anchors.slice(i, i + ANCHORS_PER_TX) });
        return out;
      });
      const results = await this.submitAnchors(chunks.map((c) => c.anchors));
      const retry = new Set<number>();
      chunks.forEach(({ tx }, i) => {
        const result = results[i]!;
        if (result.ok && result.value === undefined) return;
        if (result.ok && tx.length > 1) {
          for (const g of tx) retry.add(g);
          return;
        }
        // A refusal of a request's own transaction, or an error (an anchor that did not commit
        // in time may still commit: not retried).
        for (const g of tx) {
          const first = answers[g]!;
          if (first.ok && first.value === undefined) answers[g] = result;
        }
      });
      return [...retry];
    };
    const retry = await round(
      groups.map((_, g) => g),
      true,
    );
    if (retry.length > 0) await round(retry, false);
    return answers;
  }

  /** Submits one `records.anchor` per list and waits for each to commit; answers as `anchor`. */
  private async submitAnchors(
    lists: readonly (readonly RecordAnchorPayload[])[],
  ): Promise<Settled<AnchorRefusal | undefined>[]> {
    const envelopes = lists.map((anchors) =>
      signTx(
        createTx({
          type: 'records.anchor',
          signer: this.node.did,
          payload: anchors.length === 1 ? anchors[0]! : { anchors: [...anchors] },
        }),
        this.node.nodeSecretKey,
      ),
    );
    let outcome: Awaited<ReturnType<FhirNodePort['submit']>>;
    try {
      outcome = await this.node.submit(envelopes);
    } catch (error) {
      return lists.map(() => ({ ok: false, error }));
    }
    const answers = new Array<Promise<Settled<AnchorRefusal | undefined>>>(lists.length);
    for (const r of outcome.rejected)
      answers[r.index] = Promise.resolve({ ok: true, value: { code: r.code, message: r.message ?? '' } });
    for (const a of outcome.accepted) {
      answers[a.index] = this.node.waitForCommit(a.id, ANCHOR_COMMIT_WAIT_MS).then(
        (c): Settled<AnchorRefusal | undefined> => ({
          ok: true,
          value: c.code === 'OK' ? undefined : { code: c.code, message: c.message ?? '' },
        }),
        (error: unknown): Settled<AnchorRefusal | undefined> => ({ ok: false, error }),
      );
    }
    return Promise.all(answers);
  }

  /**
   * Encrypts and stores one request's versions in a savepoint of the vault transaction; when one
   * fails nothing of the request is stored.
   */
  private storeOne(pending: readonly PendingWrite[]): Stored {
    let position = 0;
    try {
      const writes = this.vault.unsyncedBatch(() =>
        pending.map((p, i): PreparedWrite => {
          position = i;
          const { contentHash } = this.vault.writeRecordVersion(p.input);
          const { input } = p;
          return {
            row: p.row,
            previous: p.previous,
            resource: p.resource,
            index: p.index,
            anchor: {
              recordId: input.recordId,
              version: input.version,
              patient: input.patient,
              resourceType: input.resourceType,
              class: input.class,
              contentHash,
              author: input.author,
              epoch: input.epoch,
            },
            audit: p.audit,
          };
        }),
      );
      return { ok: true, writes };
    } catch (error) {
      const cls = pending[position]?.input.class ?? 'general';
      return { ok: false, error: vaultFailure(error, cls), position };
    }
  }

  private rollback(writes: readonly PreparedWrite[]): void {
    for (const w of writes) this.index.deleteVersion(w.row.recordId, w.row.version);
  }

  /**
   * The durable commit of a turn: the index rows and audit entries of every request whose anchors
   * committed, synced with the WAL frames of their vault versions written (unsynced) before. If
   * that commit fails, each request is committed alone so that each gets its own answer.
   */
  private indexDurably(groups: readonly (readonly PreparedWrite[])[]): Settled<void>[] {
    const put = (writes: readonly PreparedWrite[]): void => {
      for (const w of writes) this.index.putResource(w.row, w.index);
    };
    try {
      this.index.durably(() => {
        for (const writes of groups) put(writes);
        this.audit.record(groups.flatMap((writes) => writes.map((w) => w.audit)));
      });
      return groups.map(() => ({ ok: true, value: undefined }));
    } catch {
      return groups.map((writes) =>
        settle(() =>
          this.index.durably(() => {
            put(writes);
            this.audit.record(writes.map((w) => w.audit));
          }),
        ),
      );
    }
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
    await this.write([pending]);
    return pending.resource as ResourceByType[T];
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
    await this.write([pending]);
    return pending.resource as ResourceByType[T];
  }

  // -------------------------------------------------------------------------------------------
  // reads

  /** Records of other custodians (roaming); none until the node attaches its roaming client. */
  private remote: RemoteRecordSource | undefined;

  /** Lets reads, searches and `$everything` include the records other custodians keep (roaming). */
  useRemote(source: RemoteRecordSource): void {
    this.remote = source;
  }

  /** The keyed index token of a search value (what a custodian's roaming search looks up). */
  searchToken(type: string, param: string, value: string): string {
    return this.token(type, param, value);
  }

  /**
   * The other custodians' records of `patients` that a practitioner's (or a patient's own)
   * `query` names (nothing without roaming). Patients `reach` reaches nothing of among `types`
   * are not asked for.
   */
  private async fetchRemoteFor(
    ctx: FhirRequestContext,
    patients: readonly string[],
    query: Parameters<typeof fetchRemote>[2]['query'],
    types: readonly string[],
  ): Promise<RemoteFetch> {
    if (this.remote === undefined || ctx.principal.kind === 'node') return NO_REMOTE;
    const reach = this.access.reachOf(ctx.principal, ctx.purpose);
    return fetchRemote(
      this.remote,
      patients,
      { onBehalfOf: ctx.principal.did, purpose: ctx.purpose, query },
      (patient) => this.keysOf(patient),
      (patient) => reach.refusalFor(patient, types) === undefined,
    );
  }

  /**
   * A read by id of a record another custodian keeps (undefined when `id` is not such a record),
   * by a practitioner or the record's patient: authorized here, fetched from the custodian (which
   * decides again on its own ledger), checked against the anchor, decrypted, audited.
   */
  private async readRemote(
    type: string,
    id: string,
    ctx: FhirRequestContext,
  ): Promise<StoredResource | undefined> {
    if (this.remote === undefined || ctx.principal.kind === 'node') return undefined;
    const anchor = remoteAnchor(this.node.state, id, this.node.orgDid);
    if (anchor === undefined || (anchor.status === 'active' && anchor.resourceType !== type))
      return undefined;
    if (anchor.status === 'erased') throw new FhirError(gone(type, id));
    const decision = this.decide(ctx.principal, anchor.patient, type, anchor.class, 'read');
    const extra = { resourceType: type, recordId: id };
    if (!decision.ok) {
      this.recordAudit(ctx, [this.event(ctx, anchor.patient, 'read', 'denied', extra)]);
      throw this.denied(decision.code, `reading ${anchor.class} ${type} records`);
    }
    const result = await this.remote.fetch(
      {
        patient: anchor.patient,
        onBehalfOf: ctx.principal.did,
        purpose: ctx.purpose,
        query: { kind: 'read', type, id },
        custodians: [anchor.custodian],
      },
      await this.keysOf(anchor.patient),
    );
    const found = result.resources.find((r) => r.id === id);
    if (found === undefined) {
      if (result.failures[0]?.kind !== 'unreachable')
        this.recordAudit(ctx, [this.event(ctx, anchor.patient, 'read', 'denied', extra)]);
      throw remoteReadFailure(type, id, result.failures);
    }
    let resource: StoredResource;
    try {
      resource = found.open();
    } catch (error) {
      throw unopenable(type, id, error);
    }
    this.recordAudit(ctx, [
      this.event(ctx, anchor.patient, 'read', 'success', { ...extra, grantId: decision.grantId }),
    ]);
    return resource;
  }

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
      this.recordAudit(ctx, [
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
    if (this.remote !== undefined && isSupportedType(type) && this.index.getResource(id) === undefined) {
      const remote = await this.readRemote(type, id, ctx);
      if (remote !== undefined) return remote as ResourceByType[T];
    }
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
      this.recordAudit(ctx, [
        this.event(ctx, row.patient, 'read', 'denied', { resourceType: type, recordId: id }),
      ]);
      throw vaultFailure(error, cls);
    }
    this.recordAudit(ctx, [
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
    this.recordAudit(ctx, [
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
      /** Candidates from other custodians (roaming), readable; decrypted when the page shows them. */
      readonly remote?: readonly RemoteItem[];
    },
    reach: Reach,
  ): Promise<{
    page: SearchPage;
    patients: Map<string, string | undefined>;
  }> {
    const { sort, dateFilters } = options;
    const params = [...new Set([sort.param, ...dateFilters.map((f) => f.param)])];
    const dates = this.index.datesOf(
      rows.map((r) => r.recordId),
      params,
    );
    const patients = new Map<string, string | undefined>();
    const keyCache = new Map<string, Map<string, Uint8Array>>();
    const candidates: (
      | { row: FhirResourceRow; id: string; key: SortKey; keys: Map<string, Uint8Array> }
      | { row: undefined; id: string; key: SortKey; open: () => StoredResource }
    )[] = [];
    for (const row of rows) {
      const decision = reach.decide({
        patient: row.patient,
        resourceType: row.type,
        class: row.class as SensitivityClass,
        action: 'read',
      });
      // The caller narrowed `rows` to its reach already; this is the grant the audit names.
      if (!decision.ok) continue;
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
    for (const r of options.remote ?? []) candidates.push({ row: undefined, ...r });
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
        resource = c.row === undefined ? c.open() : this.decrypt(c.row.recordId, undefined, c.keys);
      } catch {
        continue; // erased meanwhile, or a key that does not open it: omitted
      }
      const entries = indexEntries(resource);
      if (!options.filter(entries)) continue;
      const key = sortKey(entries, sort);
      // A remote record sorts by the key its custodian claimed: it must be the true one.
      if (c.row === undefined && !isClaimedKey(key, c.key)) continue;
      items.push({ id: c.id, key, resource });
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
    };
  }

  /**
   * A type-level search, narrowed to the caller's reach before any filter (see `access.ts`):
   * - Every patient the query names (`patient=`, or a DID identifier of a Patient search) must
   *   be reachable for `type`, else 403 with the grant's code, audited once for that patient: the
   *   answer depends on the grant alone, never on which records exist.
   * - The candidates are the records of the named patients, or — naming none — of the patients
   *   the caller reaches (a patient: their own; a practitioner: those granting the organization
   *   access), of the classes it may read. Records outside that set are never looked at again:
   *   they count for nothing, write no audit entry and change no status.
   * - `total` is the number of those reachable candidates the index selects (and whose key the
   *   node holds).
   */
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
    const reach = this.access.reachOf(ctx.principal, ctx.purpose);
    if (reach.refusal !== undefined) throw this.denied(reach.refusal, `reading ${type} records`);
    // The patients the query names: each must be reachable, whatever their records.
    const named = [
      ...new Set([...this.patientsOfQuery(query), ...didsOfIdentifiers(query, DID_IDENTIFIER_SYSTEM)]),
    ];
    for (const did of named) {
      const refusal = reach.refusalFor(did, [type]);
      if (refusal !== undefined) {
        this.recordAudit(ctx, [this.event(ctx, did, 'search', 'denied', { resourceType: type })]);
        throw this.denied(refusal, `reading ${type} records`);
      }
    }
    const reachable = named.length > 0 ? new Set(named) : reach.unnamedPatients();
    const readable = (row: FhirResourceRow): boolean =>
      row.type === type &&
      reachable.has(row.patient) &&
      reach.mayRead(row.patient, type, row.class as SensitivityClass);
    // Candidates: the intersection of every token filter's records. A patient reference selects
    // the records of that patient (DID), whichever of its Patient resources here they reference.
    let candidates: Set<string> | undefined;
    for (const f of query.filters) {
      if (f.kind === 'date') continue;
      const found =
        f.kind === 'reference'
          ? this.recordsOfPatients(type, f.anyOf)
          : this.index.recordsWithToken(
              f.param,
              f.anyOf.map((v) => this.token(type, f.param, v)),
            );
      candidates = candidates === undefined ? found : new Set([...candidates].filter((id) => found.has(id)));
    }
    const own = reach.ownRecordsOnly;
    const rows = (
      candidates === undefined
        ? own === undefined
          ? []
          : this.index.resourcesOfPatient(own, type)
        : this.index.getResources(candidates)
    ).filter(readable);
    // Reference filters are settled by the index (records of the patient's DID).
    const unreferenced = query.filters.filter((f) => f.kind !== 'reference');
    const remote = await this.fetchRemoteFor(
      ctx,
      named,
      {
        kind: 'search',
        type,
        params: query.params.filter(([name]) => name !== 'patient' && name !== 'subject'),
      },
      [type],
    );
    const remoteFound = remoteItems(remote.resources, {
      sort: query.sort,
      idOf: (r) => r.id,
      readable: (r) => r.type === type && reach.mayRead(r.patient, type, r.class),
    });
    const count = query.summaryCount ? 0 : query.count;
    const { page, patients } = await this.pageFromIndex(
      rows,
      {
        dateFilters: query.filters.filter((f): f is DateFilter => f.kind === 'date'),
        filter: (entries) => matches(entries, { filters: unreferenced }),
        sort: query.sort,
        cursorSort: sortName(query.sort),
        cursor: query.page,
        count,
        idOf: (row) => row.recordId,
        remote: remoteFound,
      },
      reach,
    );
    for (const did of named) if (!patients.has(did)) patients.set(did, undefined);
    this.grantsOfRemoteReads(patients, remote.resources, ctx);
    this.recordAudit(
      ctx,
      [...patients].map(([patient, grantId]) =>
        this.event(ctx, patient, 'search', 'success', { resourceType: type, grantId }),
      ),
    );
    const result = remote.outcomes.length === 0 ? page : { ...page, outcomes: remote.outcomes };
    return result as SearchPage<ResourceByType[T]>;
  }

  /** The DID a `Patient/<id>` reference names: a Patient kept here or (roaming) anchored elsewhere. */
  private didOfReference(reference: string): string | undefined {
    const state = this.remote === undefined ? undefined : this.node.state;
    return patientDidOf(this.index, state, this.node.orgDid, reference.slice('Patient/'.length));
  }

  /** Ids of the `type` records of the patients `references` name (by token when unknown here). */
  private recordsOfPatients(type: string, references: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (const reference of references) {
      const did = this.didOfReference(reference);
      const ids =
        did === undefined
          ? this.index.recordsWithToken('patient', [this.token(type, 'patient', reference)])
          : this.index.resourcesOfPatient(did, type).map((r) => r.recordId);
      for (const id of ids) out.add(id);
    }
    return out;
  }

  /** DIDs of the patients a query's `patient` filter names (kept here or, roaming, elsewhere). */
  private patientsOfQuery(query: SearchQuery): string[] {
    const out = new Set<string>();
    for (const f of query.filters) {
      if (f.kind !== 'reference') continue;
      for (const ref of f.anyOf) {
        const did = this.didOfReference(ref);
        if (did !== undefined) out.add(did);
      }
    }
    return [...out];
  }

  async everything(
    patientId: string,
    options: EverythingOptions,
    ctx: FhirRequestContext,
  ): Promise<SearchPage> {
    // The patient: a Patient kept here, or (roaming) one another custodian anchored on the ledger.
    const patient =
      this.didOfReference(patientReference(patientId)) ?? this.row('Patient', patientId).patient;
    if (options.page !== undefined) checkCursor(options.page, EVERYTHING_SORT, 1);
    // The patient is named: reachable for some type and class, or 403 from the grants alone.
    const reach = this.access.reachOf(ctx.principal, ctx.purpose);
    const refusal = reach.refusal ?? reach.refusalFor(patient, SUPPORTED_TYPES);
    if (refusal !== undefined) {
      this.recordAudit(ctx, [
        this.event(ctx, patient, 'search', 'denied', { resourceType: 'Patient', recordId: patientId }),
      ]);
      throw this.denied(refusal, 'reading this patient’s records');
    }
    // Every readable record of the patient's DID, whichever of its Patient resources it references.
    const rows = this.index
      .resourcesOfPatient(patient)
      .filter((row) => reach.mayRead(patient, row.type, row.class as SensitivityClass));
    const sort: SortSpec = { param: '_lastUpdated', descending: false };
    const remote = await this.fetchRemoteFor(ctx, [patient], { kind: 'everything' }, SUPPORTED_TYPES);
    const remoteFound = remoteItems(remote.resources, {
      sort,
      idOf: (r) => `${r.type}/${r.id}`,
      readable: (r) => reach.mayRead(r.patient, r.type, r.class),
    });
    const { page, patients } = await this.pageFromIndex(
      rows,
      {
        dateFilters: [],
        filter: () => true,
        sort,
        cursorSort: EVERYTHING_SORT,
        cursor: options.page,
        count: options.count,
        idOf: (row) => `${row.type}/${row.recordId}`,
        remote: remoteFound,
      },
      reach,
    );
    if (!patients.has(patient)) patients.set(patient, undefined);
    this.grantsOfRemoteReads(patients, remote.resources, ctx);
    this.recordAudit(
      ctx,
      [...patients].map(([patient, grantId]) =>
        this.event(ctx, patient, 'search', 'success', {
          resourceType: 'Patient',
          recordId: patientId,
          grantId,
        }),
      ),
    );
    return remote.outcomes.length === 0 ? page : { ...page, outcomes: remote.outcomes };
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
    // Every resource is handed to validation at once (validated meanwhile the first ones are
    // prepared); each entry is prepared, in order, once its own result is in.
    const validations = new Map<number, Promise<FhirValidationResult>>();
    for (const { index, op } of plan.entries)
      if (op.method !== 'GET') validations.set(index, this.validator.validate(op.resource));
    const memo: WriteMemo = { decisions: new Map(), keys: new Map(), tokens: new Map() };
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
          validations.get(entry.index),
          memo,
        );
        staged.set(op.id, pending.row);
        writes.push({ index: entry.index, pending, status: pending.row.version === 1 ? 201 : 200 });
      } catch (error) {
        fail(error, entry.index);
      }
    }
    // Every version stored in one vault transaction (all or none), then anchored together.
    await this.write(
      writes.map((w) => w.pending),
      (error, position) => fail(error, writes[position]!.index),
    );
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
    if (code === VaultErrorCode.CLASS_DOWNGRADE)
      return new FhirError(forbidden(`writing a ${cls} version over a sensitive record is not granted`));
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
