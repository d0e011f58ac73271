/**
 * The write stage of the encrypted repository: prepare (validate, authorize with the access
 * policy — the class of the version replaced included —, pick the record key) → vault → anchor →
 * index.
 *
 * - A write is stored in the vault, anchored (wait for commit), then indexed; when the anchor
 *   fails the vault versions are discarded again (through the vault) and the request fails with
 *   the ledger code. A node killed in between is put right at its next start (recovery.ts).
 * - Group commit: the write requests that reach a step within one event-loop turn share it
 *   (`TurnBatch`): their vault versions are written in one transaction (a savepoint each),
 *   synced to disk before any of their anchors is submitted (a power loss must not leave a
 *   committed anchor naming a ciphertext that was in an unsynced WAL frame); their anchors go in
 *   shared `records.anchor` transactions of up to ANCHORS_PER_TX anchors (a request's anchors
 *   together: a transaction Bundle of up to that many versions is anchored all or none); and
 *   their index rows and audit entries in one durable commit after the anchors commit —
 *   so an acknowledged write is on disk, with two syncs per turn instead of two per request.
 *   Both syncs run on the thread pool (src/store/wal-sync.ts), shared by every commit made to
 *   the file meanwhile: the main thread serves other requests while the disk syncs. When the ledger refuses a shared anchor
 *   transaction, each of its requests is anchored again in a transaction of its own, so that one
 *   request's refusal is not another's. A Bundle larger than ANCHORS_PER_TX spans transactions
 *   (the contract takes no more in one): when one is refused, the versions whose anchors did
 *   commit are kept and indexed — the ledger holds them, so their ciphertexts must stay — and
 *   the request fails saying how many were kept; only the others are discarded.
 */
import type { RecordAnchorPayload } from '../../contracts/index.js';
import {
  FhirError,
  badRequest,
  checkIfMatch,
  conflict,
  forbidden,
  gone,
  indexEntries,
  isFhirId,
  isSupportedType,
  patientReference,
  unknownType,
  type IndexEntry,
  type StoredResource,
  type SupportedType,
} from '../../fhir/index.js';
import type { FhirValidator } from '../../fhir/validation-pool.js';
import type { FhirValidationResult } from '../../fhir/validation.js';
import type { SensitivityClass } from '../../ledger/types.js';
import { StoreError, StoreErrorCode, type FhirIndexRow, type FhirResourceRow } from '../../store/index.js';
import { sensitivityOf, type WriteRecordVersionInput } from '../../vault/index.js';
import type { AccessDecision } from './access.js';
import type { AuditEvent } from './audit.js';
import { recordOnce } from './audit-once.js';
import { GrantKeyRing } from './grant-keys.js';
import type { RepositoryParts } from './parts.js';
import {
  DID_IDENTIFIER_SYSTEM,
  auditEvent,
  deniedError,
  vaultFailure,
  type FhirRequestContext,
} from './request.js';
import { TurnBatch, settle, type Settled } from './turn-batch.js';
import { anchorRequests, type AnchorRefusal } from './anchoring.js';
import { BlockPacer } from './block-pacer.js';

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
export interface PendingWrite {
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
  | {
      readonly ok: true;
      /** The versions whose anchors committed: all of them unless refused (or failed). */
      readonly writes: readonly PreparedWrite[];
      /** How many versions the request had. */
      readonly total: number;
      readonly refusal?: AnchorRefusal;
      /** The error of a submission or wait that failed after some of the request's anchors committed. */
      readonly failure?: Error;
    }
  | { readonly ok: false; readonly error: FhirError; readonly position: number };

/** Transaction staging: Patient ids written earlier in the same transaction → DID. */
export type Staged = Map<string, FhirResourceRow>;

/**
 * What the writes of one request look up once (the ledger state does not change within a
 * request): write decisions by patient, type and class, the record keys by patient, and index
 * tokens. It lives as long as the request.
 */
export interface WriteMemo {
  readonly decisions: Map<string, AccessDecision>;
  readonly keys: Map<string, Map<string, Uint8Array>>;
  /** Index tokens by `type|param|value` (a Bundle's resources share most of theirs). */
  readonly tokens: Map<string, string>;
}

/** A fresh memo for one request. */
export function newWriteMemo(): WriteMemo {
  return { decisions: new Map(), keys: new Map(), tokens: new Map() };
}

/** What `prepare` is asked to prepare. */
export interface PrepareOptions {
  readonly type: SupportedType;
  readonly id: string;
  readonly resource: StoredResource;
  readonly mode: 'create' | 'update';
  readonly ifMatch?: string | undefined;
  readonly ctx: FhirRequestContext;
  /** Transaction staging: Patients written earlier in the same transaction. */
  readonly staged?: Staged | undefined;
  /** The time of the new version (`now()`). */
  readonly at: number;
  /** Its validation, when already under way (a transaction Bundle starts them all at once). */
  readonly validating?: Promise<FhirValidationResult> | undefined;
  readonly memo?: WriteMemo;
}

/**
 * The write stage (see the module comment).
 *
 * @example
 * const pending = await writer.prepare({ type: 'Observation', id, resource, mode: 'create', ctx, at: writer.now() });
 * await writer.write([pending]);
 */
export class RecordWriter {
  private lastWrite = 0;

  /** The vault writes and anchors of the write requests of one event-loop turn. */
  private readonly storing = new TurnBatch<readonly PendingWrite[], Anchored>((groups) =>
    this.storeAndAnchor(groups),
  );
  /** The durable index and audit commits of the writes whose anchors committed in one turn. */
  private readonly indexing = new TurnBatch<readonly PreparedWrite[], void>((groups) =>
    this.indexDurably(groups),
  );

  /** Closes the blocks anchors wait on early, when the node can (see block-pacer.ts). */
  private readonly pacer: BlockPacer | undefined;

  constructor(
    private readonly parts: RepositoryParts,
    private readonly validator: FhirValidator,
  ) {
    const node = parts.node;
    this.pacer = node.cutBlock === undefined ? undefined : new BlockPacer(() => node.cutBlock!());
  }

  /** Starts validating a resource (a transaction Bundle starts all of its own at once). */
  validate(resource: StoredResource): Promise<FhirValidationResult> {
    return this.validator.validate(resource);
  }

  /** One write decision of the access policy. */
  private decide(
    ctx: FhirRequestContext,
    patient: string,
    type: string,
    cls: SensitivityClass,
  ): AccessDecision {
    return this.parts.access
      .reachOf(ctx.principal, ctx.purpose)
      .decide({ patient, resourceType: type, class: cls, action: 'write' });
  }

  /** The time of a new version: never earlier than the previous one written here. */
  now(): number {
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
    const row = staged?.get(patientId) ?? this.parts.index.getResource(patientId);
    if (row?.type === 'Patient') return row.patient;
    // Roaming: the live Patient another custodian anchored on the ledger (a visiting patient).
    const remote = row === undefined ? this.parts.didOfReference(patientReference(patientId)) : undefined;
    if (remote !== undefined) return remote;
    throw new FhirError(
      badRequest(`Patient/${patientId} is not stored on this server`, `${resource.resourceType}.subject`),
    );
  }

  /** Validates and authorizes one version and picks its key; nothing is stored yet (see `write`). */
  async prepare(options: PrepareOptions): Promise<PendingWrite> {
    const { type, id, mode, ifMatch, ctx, staged, at } = options;
    const input = options.resource;
    const validating = options.validating ?? this.validator.validate(input);
    const memo = options.memo ?? newWriteMemo();
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
    // A record kept elsewhere that this node holds as the patient's replica continues with the
    // next version (the ledger lets the replica in effect anchor it; the custodian stays).
    const indexed = staged?.get(id) ?? this.parts.index.getResource(id);
    const held = indexed === undefined && mode !== 'create' ? this.parts.heldReplica(id) : undefined;
    const previous = indexed ?? held;
    if (previous === undefined && this.parts.vault.store.getErasure(id) !== undefined)
      throw new FhirError(gone(type, id)); // an erased id is never reused
    if (mode === 'create' && previous !== undefined)
      throw new FhirError(conflict(`${type}/${id} already exists`));
    if (previous !== undefined && previous.type !== type) {
      throw new FhirError(conflict(`id ${id} is taken by a resource of another type`));
    }
    checkIfMatch(ifMatch, previous === undefined ? undefined : String(previous.version), `${type}/${id}`);

    const version = previous === undefined ? 1 : previous.version + 1;
    // A shallow copy: only top-level members are replaced below (id, meta, and a Patient's
    // identifier in `patientOf`), so the caller's object is left as it was without a deep clone
    // of every resource (a Bundle's were copied once already by planBundle).
    const stored = { ...input };
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
        found = this.decide(ctx, patient, type, c);
        memo.decisions.set(which, found);
      }
      return found;
    };
    const replaced =
      replacedClass === undefined || replacedClass === cls ? undefined : decisionOf(replacedClass);
    const decision = replaced !== undefined && !replaced.ok ? replaced : decisionOf(cls);
    if (!decision.ok) {
      recordOnce(this.parts.audit, ctx, [
        auditEvent(ctx, patient, action, 'denied', { resourceType: type, recordId: id }),
      ]);
      throw deniedError(decision.code, `writing ${cls} ${type} records`);
    }
    let keys = memo.keys.get(patient);
    if (keys === undefined) {
      keys = await this.parts.keys.keysOf(patient);
      memo.keys.set(patient, keys);
    }
    const epoch = GrantKeyRing.highestEpoch(keys, cls);
    if (epoch === undefined) {
      recordOnce(this.parts.audit, ctx, [
        auditEvent(ctx, patient, action, 'denied', { resourceType: type, recordId: id }),
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
        resource: stored,
        kek: keys.get(`${cls}|${epoch}`)!,
        custodian: held?.custodian ?? this.parts.node.orgDid,
        author: ctx.principal.did,
        // Decided above: the writer may write the class the record had.
        ...(replacedClass === 'sensitive' && cls === 'general' ? { mayLowerClass: true } : {}),
      },
      row: { recordId: id, type, version, patient, lastUpdated: at, class: cls, epoch },
      previous,
      resource: stored,
      // A Patient's entries again: `patientOf` may have added the DID identifier.
      index: this.parts.tokens.rows(type, type === 'Patient' ? indexEntries(stored) : entries, memo.tokens),
      audit: auditEvent(ctx, patient, action, 'success', {
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
  async write(
    pending: readonly PendingWrite[],
    onError: (error: FhirError, position: number) => never = (error) => {
      throw error;
    },
  ): Promise<void> {
    if (pending.length === 0) return;
    const anchored = await this.storing.add(pending);
    if (!anchored.ok) return onError(anchored.error, anchored.position);
    const { refusal, failure, writes, total } = anchored;
    // Versions whose anchors committed are indexed even when others of the request were refused:
    // the ledger holds them, so their ciphertexts stay (an anchor never points at nothing).
    if (writes.length > 0) await this.indexing.add(writes);
    const kept =
      writes.length === 0 || writes.length === total
        ? ''
        : ` (${writes.length} of the request's ${total} versions were anchored in earlier ledger transactions and are kept)`;
    if (refusal !== undefined) {
      const text = `the ledger refused the record anchor: ${refusal.code}${refusal.message === '' ? '' : `: ${refusal.message}`}${kept}`;
      throw new FhirError(FORBIDDEN_CODES.has(refusal.code) ? forbidden(text) : conflict(text));
    }
    if (failure !== undefined) throw failure;
  }

  /**
   * The vault and ledger steps of a turn: every request's versions in one vault transaction
   * synced to disk when it commits (each request in its own savepoint, so that one failing leaves
   * the others stored), then anchored (see `anchor`).
   */
  private async storeAndAnchor(groups: readonly (readonly PendingWrite[])[]): Promise<Settled<Anchored>[]> {
    // Synced before any anchor is submitted: an anchor that commits must never name a ciphertext
    // a power loss could still take (one sync for the whole turn).
    let written: Stored[] = [];
    let stored: Stored[];
    try {
      stored = await this.parts.vault.durableBatchOffThread(
        () => (written = groups.map((pending) => this.storeOne(pending))),
      );
    } catch (error) {
      // Committed but not known to be on disk (the sync failed): deleted again, never anchored.
      for (const s of written) if (s.ok) this.rollback(s.writes);
      throw error;
    }
    const kept = stored.flatMap((s) => (s.ok ? [s.writes] : []));
    const outcomes = await anchorRequests(
      this.parts.node,
      kept.map((writes) => writes.map((w) => w.anchor)),
      { pacer: this.pacer },
    );
    let at = 0;
    return stored.map((s): Settled<Anchored> => {
      if (!s.ok) return { ok: true, value: s };
      const { outcome, committed } = outcomes[at++]!;
      const total = s.writes.length;
      if (outcome.ok && outcome.value === undefined) return { ok: true, value: { ...s, total } };
      const anchoredWrites = s.writes.filter((_, i) => committed.has(i));
      this.rollback(s.writes.filter((_, i) => !committed.has(i)));
      if (!outcome.ok && anchoredWrites.length === 0) return outcome;
      const why = outcome.ok
        ? { refusal: outcome.value! }
        : {
            failure:
              outcome.error instanceof Error
                ? outcome.error
                : new Error('the record anchor did not commit', { cause: outcome.error }),
          };
      return { ok: true, value: { ok: true, writes: anchoredWrites, total, ...why } };
    });
  }

  /**
   * Encrypts and stores one request's versions in a savepoint of the vault transaction; when one
   * fails nothing of the request is stored.
   */
  private storeOne(pending: readonly PendingWrite[]): Stored {
    let position = 0;
    try {
      const writes = this.parts.vault.durableBatch(() =>
        pending.map((p, i): PreparedWrite => {
          position = i;
          const { contentHash } = this.parts.vault.writeRecordVersion(p.input);
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

  /** Deletes again, through the vault, the versions of a request whose anchors did not commit. */
  private rollback(writes: readonly PreparedWrite[]): void {
    for (const w of writes) this.parts.vault.discardUnanchoredVersion(w.row.recordId, w.row.version);
  }

  /**
   * The durable commit of a turn: the index rows and audit entries of every request whose anchors
   * committed (their vault versions were synced before the anchors were submitted). If
   * that commit fails, each request is committed alone so that each gets its own answer.
   */
  private async indexDurably(groups: readonly (readonly PreparedWrite[])[]): Promise<Settled<void>[]> {
    const put = (writes: readonly PreparedWrite[]): void => {
      for (const w of writes) this.parts.index.putResource(w.row, w.index);
    };
    try {
      await this.parts.index.durablyOffThread(() => {
        for (const writes of groups) put(writes);
        this.parts.audit.record(groups.flatMap((writes) => writes.map((w) => w.audit)));
      });
      return groups.map(() => ({ ok: true, value: undefined }));
    } catch (error) {
      // Committed but not synced: committing each request again would record its audit twice.
      if (error instanceof StoreError && error.code === StoreErrorCode.SYNC_FAILED)
        return groups.map(() => ({ ok: false, error }));
      return groups.map((writes) =>
        settle(() =>
          this.parts.index.durably(() => {
            put(writes);
            this.parts.audit.record(writes.map((w) => w.audit));
          }),
        ),
      );
    }
  }
}

export function checkResource(resource: unknown): asserts resource is StoredResource {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    throw new FhirError(badRequest('Expected a FHIR resource (a JSON object)', 'resourceType'));
  }
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string') throw new FhirError(badRequest('resourceType is missing', 'resourceType'));
  if (!isSupportedType(type)) throw new FhirError(unknownType(type));
}
