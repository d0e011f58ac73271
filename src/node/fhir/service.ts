/**
 * The encrypted FHIR repository of one node: records encrypted in the node's vault under the
 * patients' record keys (KEKs the node received, sealed to its organization, in the patients'
 * active grants), searched through keyed index tokens (`FhirIndexStore`), every version anchored
 * on the ledger (`records.anchor`, signed by the node), every access decided first by the node's
 * access policy (`access.ts`) from its ledger state and written to the audit outbox
 * (`AuditTrail`), at most one entry per (patient, action, outcome) per request (`audit-once.ts`).
 *
 * This file is the facade and the read stage; the other stages have their own files:
 * `write.ts` (prepare → vault → anchor → index, `anchoring.ts`), `search.ts` (search, paging,
 * `$everything`, roaming candidates), `grant-keys.ts` (record keys), `request.ts` (the request
 * context and the answers every stage shares).
 *
 * Semantics follow the in-memory reference (`src/fhir/memory-repository.ts`), with:
 * - Authorization (`access.ts`): a patient reaches only their own records; a practitioner of this
 *   node's organization what the patients' grants to it cover (type, class, read or write); a
 *   refusal is a 403 naming the code (NOT_OWN_RECORD, GRANT_REVOKED, GRANT_EXPIRED, NO_GRANT,
 *   SCOPE_NOT_COVERED, OTHER_ORGANIZATION, NOT_AUTHORIZED). A search never answers from records
 *   outside the caller's reach (see `search.ts`).
 * - Keys: the node can encrypt or decrypt a patient's record only with the KEK of the class and
 *   epoch it holds from an ACTIVE grant of that patient to its organization. So even a patient
 *   writing their own record needs to have granted this organization access with keys.
 * - Patient ↔ DID: a Patient carries the DID as `identifier` (system `urn:ietf:rfc:3986`); other
 *   resources reference `Patient/<id>` of a Patient stored on this node or, when the node roams,
 *   of a live Patient another custodian anchored on the ledger.
 * - Roaming (`useRemote`, `src/node/roaming`): reads by id of a record another custodian keeps
 *   are fetched from it (a custodian not reached answers 503).
 * - Validation: before anything is stored, by the node's `FhirValidator` (a worker-thread pool).
 *   A transaction Bundle hands all its resources over at once and prepares each entry, in order,
 *   as its result comes in.
 */
import { randomUUID } from 'node:crypto';
import { indexTokenKey } from '../../crypto/index.js';
import {
  FhirError,
  assembleResults,
  entryOutcome,
  executeBatch,
  forbidden,
  gone,
  isSupportedType,
  notFound,
  runEntry,
  unknownType,
  type BundlePlan,
  type EntryResult,
  type EverythingOptions,
  type FhirRepository,
  type ResourceByType,
  type SearchPage,
  type SearchQuery,
  type StoredResource,
  type SupportedType,
  type UpdateOptions,
} from '../../fhir/index.js';
import { inThreadValidator, type FhirValidator } from '../../fhir/validation-pool.js';
import type { FhirValidationResult } from '../../fhir/validation.js';
import type { SensitivityClass } from '../../ledger/types.js';
import type { FhirIndexStore, FhirResourceRow, NewRecordVersion } from '../../store/index.js';
import type { Vault } from '../../vault/index.js';
import { AccessPolicy, basisOf, type AccessBasis, type AccessDecision } from './access.js';
import type { AuditTrail } from './audit.js';
import { recordOnce, recordOnceInTurn } from './audit-once.js';
import { GrantKeyRing } from './grant-keys.js';
import { IndexTokens, storedRow, type RepositoryParts } from './parts.js';
import type { RemoteRecordSource } from './remote.js';
import {
  emergencyRequest,
  patientDidOf,
  remoteAnchor,
  remoteReadFailure,
  unopenable,
} from './remote-reads.js';
import {
  auditEvent,
  deniedError,
  vaultFailure,
  type FhirNodePort,
  type FhirRequestContext,
} from './request.js';
import { CiphertextGaps, anchoredRow, missingCiphertext } from './ciphertext-gaps.js';
import { indexAnchoredVersions, recoverUnindexedVersions, type RecoveryReport } from './recovery.js';
import { RecordSearch } from './search.js';
import { RecordWriter, checkResource, newWriteMemo, type PendingWrite, type Staged } from './write.js';

// The names other modules import from here (kept where they were before the split).
export {
  DID_IDENTIFIER_SYSTEM,
  DEFAULT_PURPOSE,
  isRegisteredPatient,
  type FhirNodePort,
  type FhirRequestContext,
} from './request.js';
export { ANCHOR_COMMIT_WAIT_MS, ANCHORS_PER_TX } from './anchoring.js';

/**
 * The encrypted repository (see the module comment).
 *
 * @example
 * const repo = new EncryptedFhirRepository(port, vault, index, audit);
 * const obs = await repo.create(observation, { principal, purpose: 'treatment' });
 */
export class EncryptedFhirRepository implements FhirRepository<FhirRequestContext> {
  readonly newId: () => string = randomUUID;
  /** Who may reach what: asked before any index or vault lookup. */
  readonly access: AccessPolicy;
  /** How many record versions this repository decrypted (a measure for tests and benchmarks). */
  decryptions = 0;
  private readonly parts: RepositoryParts;
  private readonly writer: RecordWriter;
  private readonly searcher: RecordSearch;
  /** Records of other custodians (roaming); none until the node attaches its roaming client. */
  private remote: RemoteRecordSource | undefined;
  /** Anchored versions of this node's records whose ciphertext it lacks (counted at `recover`). */
  private gaps = CiphertextGaps.none();
  /** Records this node may continue as a patient's replica; none until the node attaches its replica. */
  private heldReplica: RepositoryParts['heldReplica'] | undefined;

  /**
   * @param validator validates resources before anything is stored (default: in this thread;
   *   the node passes its worker pool)
   */
  constructor(
    node: FhirNodePort,
    vault: Vault,
    index: FhirIndexStore,
    audit: AuditTrail,
    validator: FhirValidator = inThreadValidator,
  ) {
    this.access = new AccessPolicy({ orgDid: node.orgDid, state: node.state });
    this.parts = {
      node,
      vault,
      index,
      audit,
      access: this.access,
      keys: new GrantKeyRing(node, { emergency: node.emergencyKeys }),
      tokens: new IndexTokens(indexTokenKey(node.orgEncryptionSecretKey, node.orgDid)),
      remote: () => this.remote,
      heldReplica: (recordId) => this.heldReplica?.(recordId),
      didOfReference: (reference) =>
        patientDidOf(
          index,
          this.remote === undefined ? undefined : node.state,
          node.orgDid,
          reference.slice('Patient/'.length),
        ),
      decrypt: (recordId, version, keys) =>
        this.parts.decryptCiphertext(vault.readCiphertext(recordId, version), keys),
      decryptCiphertext: (ciphertext, keys) => {
        this.decryptions++;
        return vault.decryptCiphertext(ciphertext, (ref) =>
          keys.get(`${ref.class}|${ref.epoch}`),
        ) as unknown as StoredResource;
      },
    };
    this.writer = new RecordWriter(this.parts, validator);
    this.searcher = new RecordSearch(this.parts);
  }

  /**
   * Reconciles the vault with the index and the ledger after a crash (see recovery.ts): run once
   * at start, before requests are served.
   */
  async recover(): Promise<RecoveryReport> {
    const report = await recoverUnindexedVersions(this.parts);
    this.gaps = CiphertextGaps.atStart(this.parts);
    return report;
  }

  /**
   * Counts again the anchored versions of this node's records whose ciphertext its vault lacks
   * (see ciphertext-gaps.ts); reads of them answer CIPHERTEXT_MISSING until they are back.
   */
  findMissingCiphertexts(): CiphertextGaps {
    this.gaps = CiphertextGaps.findAndRemember(this.parts);
    return this.gaps;
  }

  /** The anchored versions whose ciphertext is missing here, as last counted. */
  get missingCiphertexts(): CiphertextGaps {
    return this.gaps;
  }

  /**
   * Refuses a read of an anchored version whose ciphertext is not here: after the access decision
   * (a caller without access gets the refusal of any record of the patient), a coded 503.
   */
  private refuseMissing(
    type: string,
    id: string,
    version: number | undefined,
    ctx: FhirRequestContext,
  ): void {
    const gap = this.gaps.gapOf(type, id, version);
    if (gap === undefined) return;
    this.authorizeRead(anchoredRow(gap), gap.class, ctx, 'read');
    throw missingCiphertext(gap);
  }

  /**
   * Takes a version of one of this node's records that the patient's replica wrote and anchored,
   * or gave back after a restore (checked against its anchor by the caller, `src/node/replica`):
   * into the vault, then the index when it is newer than the version indexed, as the recovery
   * rolls an anchored version forward.
   */
  async adoptAnchoredVersion(row: NewRecordVersion, blob: Uint8Array): Promise<'stored' | 'exists'> {
    const inserted = this.parts.vault.store.insertVersion(row, blob);
    if (inserted.status !== 'inserted') return 'exists';
    // An older version given back (a refill fills a record's history too) leaves the index on
    // the newer version it holds: the index describes a record's current version only.
    const indexed = this.parts.index.getResource(row.recordId);
    if (indexed === undefined || indexed.version < row.version)
      await indexAnchoredVersions(this.parts, row.recordId, [{ ...row, contentHash: inserted.contentHash }], {
        audit: false,
      });
    // A record counted as missing its ciphertext (a node restored from a backup) may be whole
    // again: only its own gap is counted again (a refill stores many versions in a row).
    this.gaps = this.gaps.recount(this.parts, row.recordId);
    return 'stored';
  }

  /** Lets updates continue the records this node holds as a patient's replica (`src/node/replica`). */
  useReplica(held: RepositoryParts['heldReplica']): void {
    this.heldReplica = held;
  }

  /** Lets reads, searches and `$everything` include the records other custodians keep (roaming). */
  useRemote(source: RemoteRecordSource): void {
    this.remote = source;
  }

  /** The keyed index token of a search value (what a custodian's roaming search looks up). */
  searchToken(type: string, param: string, value: string): string {
    return this.parts.tokens.token(type, param, value);
  }

  /** One read decision of the access policy. */
  private decideRead(
    ctx: FhirRequestContext,
    patient: string,
    type: string,
    cls: SensitivityClass,
  ): AccessDecision {
    return this.access
      .reachOf(ctx.principal, ctx.purpose)
      .decide({ patient, resourceType: type, class: cls, action: 'read' });
  }

  // -------------------------------------------------------------------------------------------
  // writes

  async create<T extends SupportedType>(
    resource: ResourceByType[T] & { readonly resourceType: T },
    ctx: FhirRequestContext,
    options: { readonly id?: string } = {},
  ): Promise<ResourceByType[T]> {
    checkResource(resource);
    const pending = await this.writer.prepare({
      type: resource.resourceType,
      id: options.id ?? this.newId(),
      resource,
      mode: 'create',
      ctx,
      at: this.writer.now(),
    });
    await this.writer.write([pending]);
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
    const pending = await this.writer.prepare({
      type,
      id,
      resource,
      mode: 'update',
      ifMatch: options.ifMatch,
      ctx,
      at: this.writer.now(),
    });
    await this.writer.write([pending]);
    return pending.resource as ResourceByType[T];
  }

  // -------------------------------------------------------------------------------------------
  // reads

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
    const remote = this.remote;
    if (remote === undefined || ctx.principal.kind === 'node') return undefined;
    const anchor = remoteAnchor(this.parts.node.state, id, this.parts.node.orgDid);
    if (anchor === undefined || (anchor.status === 'active' && anchor.resourceType !== type))
      return undefined;
    if (anchor.status === 'erased') throw new FhirError(gone(type, id));
    const decision = this.decideRead(ctx, anchor.patient, type, anchor.class);
    const extra = { resourceType: type, recordId: id };
    if (!decision.ok) {
      recordOnce(this.parts.audit, ctx, [auditEvent(ctx, anchor.patient, 'read', 'denied', extra)]);
      throw deniedError(decision.code, `reading ${anchor.class} ${type} records`);
    }
    const result = await remote.fetch(
      {
        patient: anchor.patient,
        onBehalfOf: ctx.principal.did,
        purpose: ctx.purpose,
        ...emergencyRequest(decision.emergency),
        query: { kind: 'read', type, id },
        custodians: [anchor.custodian],
      },
      await this.parts.keys.keysOf(anchor.patient),
    );
    const found = result.resources.find((r) => r.id === id);
    if (found === undefined) {
      if (result.failures[0]?.kind !== 'unreachable')
        recordOnce(this.parts.audit, ctx, [auditEvent(ctx, anchor.patient, 'read', 'denied', extra)]);
      throw remoteReadFailure(type, id, result.failures);
    }
    let resource: StoredResource;
    try {
      resource = found.open();
    } catch (error) {
      throw unopenable(type, id, error);
    }
    recordOnce(this.parts.audit, ctx, [
      auditEvent(ctx, anchor.patient, 'read', 'success', { ...extra, ...basisOf(decision) }),
    ]);
    return resource;
  }

  /** Authorizes a read of `row` (audited when denied); returns what allowed it (a grant, a break-glass). */
  private authorizeRead(
    row: FhirResourceRow,
    cls: SensitivityClass,
    ctx: FhirRequestContext,
    action: 'read' | 'search',
  ): AccessBasis {
    const decision = this.decideRead(ctx, row.patient, row.type, cls);
    if (!decision.ok) {
      recordOnce(this.parts.audit, ctx, [
        auditEvent(ctx, row.patient, action, 'denied', { resourceType: row.type, recordId: row.recordId }),
      ]);
      throw deniedError(decision.code, `reading ${cls} ${row.type} records`);
    }
    return basisOf(decision);
  }

  async read<T extends SupportedType>(
    type: T,
    id: string,
    ctx: FhirRequestContext,
  ): Promise<ResourceByType[T]> {
    if (
      this.remote !== undefined &&
      isSupportedType(type) &&
      this.parts.index.getResource(id) === undefined
    ) {
      const remote = await this.readRemote(type, id, ctx);
      if (remote !== undefined) return remote as ResourceByType[T];
    }
    this.refuseMissing(type, id, undefined, ctx);
    const row = storedRow(this.parts, type, id);
    return this.readAudited(type, row, undefined, row.class as SensitivityClass, ctx);
  }

  async vread<T extends SupportedType>(
    type: T,
    id: string,
    vid: string,
    ctx: FhirRequestContext,
  ): Promise<ResourceByType[T]> {
    const version = /^[1-9]\d{0,8}$/.test(vid) ? Number(vid) : undefined;
    if (version !== undefined) this.refuseMissing(type, id, version, ctx);
    const row = storedRow(this.parts, type, id);
    if (version === undefined || version > row.version) throw new FhirError(notFound(type, id, vid));
    return this.readAudited(type, row, version, this.parts.vault.getVersionInfo(id, version).class, ctx);
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
    const basis = this.authorizeRead(row, cls, ctx, 'read');
    const keys = await this.parts.keys.keysOf(row.patient);
    let resource: StoredResource;
    try {
      // The current version is the one the index names: the anchored one (a newer vault version
      // may still be waiting for its anchor).
      resource = this.parts.decrypt(id, version ?? row.version, keys);
    } catch (error) {
      recordOnce(this.parts.audit, ctx, [
        auditEvent(ctx, row.patient, 'read', 'denied', { resourceType: type, recordId: id }),
      ]);
      throw vaultFailure(error, cls);
    }
    await recordOnceInTurn(this.parts.audit, ctx, [
      auditEvent(ctx, row.patient, 'read', 'success', { resourceType: type, recordId: id, ...basis }),
    ]);
    return resource as ResourceByType[T];
  }

  async history<T extends SupportedType>(
    type: T,
    id: string,
    ctx: FhirRequestContext,
  ): Promise<ResourceByType[T][]> {
    this.refuseMissing(type, id, undefined, ctx);
    const row = storedRow(this.parts, type, id);
    const basis = this.authorizeRead(row, row.class as SensitivityClass, ctx, 'read');
    const keys = await this.parts.keys.keysOf(row.patient);
    const out: ResourceByType[T][] = [];
    for (let v = row.version; v >= 1; v--) {
      const info = this.parts.vault.getVersionInfo(id, v);
      if (!this.decideRead(ctx, row.patient, type, info.class).ok) continue;
      try {
        out.push(this.parts.decrypt(id, v, keys) as ResourceByType[T]);
      } catch {
        // a version under a key this node does not hold (e.g. a class not granted): omitted
      }
    }
    if (out.length === 0) throw new FhirError(forbidden(`no record key granted for class ${row.class}`));
    recordOnce(this.parts.audit, ctx, [
      auditEvent(ctx, row.patient, 'read', 'success', { resourceType: type, recordId: id, ...basis }),
    ]);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // search

  search<T extends SupportedType>(
    type: T,
    query: SearchQuery,
    ctx: FhirRequestContext,
  ): Promise<SearchPage<ResourceByType[T]>> {
    return this.searcher.search(type, query, ctx);
  }

  everything(patientId: string, options: EverythingOptions, ctx: FhirRequestContext): Promise<SearchPage> {
    return this.searcher.everything(patientId, options, ctx);
  }

  // -------------------------------------------------------------------------------------------
  // Bundles

  async execute(plan: BundlePlan, ctx: FhirRequestContext): Promise<EntryResult[]> {
    if (plan.type === 'batch') return executeBatch(this, plan, ctx);
    const executed = new Map<number, EntryResult>();

    // Transaction: every write prepared (stored in the vault) first, then anchored together.
    const at = this.writer.now();
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
      if (op.method !== 'GET') validations.set(index, this.writer.validate(op.resource));
    const memo = newWriteMemo();
    for (const entry of plan.entries) {
      const op = entry.op;
      if (op.method === 'GET') continue;
      try {
        checkResource(op.resource);
        const pending = await this.writer.prepare({
          type: op.type,
          id: op.id,
          resource: op.resource,
          mode: op.method === 'POST' ? 'create' : 'update',
          ifMatch: op.method === 'PUT' ? op.ifMatch : undefined,
          ctx,
          staged,
          at,
          validating: validations.get(entry.index),
          memo,
        });
        staged.set(op.id, pending.row);
        writes.push({ index: entry.index, pending, status: pending.row.version === 1 ? 201 : 200 });
      } catch (error) {
        fail(error, entry.index);
      }
    }
    // Every version stored in one vault transaction (all or none), then anchored together.
    await this.writer.write(
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
