/**
 * The audit trail of the FHIR API: every access is appended synchronously to a durable outbox
 * (`fhir_audit_outbox` in vault.sqlite) before the answer leaves, and a shipper sends the outbox
 * as `audit.batch` transactions signed by the node. Rows are deleted only once their batch
 * committed with code OK; what is left when the node stops is shipped at the next start.
 *
 * A batch the ledger refuses for what its entries say (a code in CONTENT_REFUSALS) is split in
 * halves and shipped again, down to single entries; an entry refused on its own is set aside in
 * `fhir_audit_refused` with the code (for the operator), so that one bad entry cannot hold up
 * the trail for good. Any other failure (no answer, a timeout, a halted ledger) leaves the rows
 * in the outbox for the next tick.
 */
import { randomUUID } from 'node:crypto';
import type { AuditAction, AuditEntry, AuditOutcome } from '../../contracts/index.js';
import { createTx, signTx, txIdOf, type CommittedTx } from '../../ledger/index.js';
import type { AuditInFlight, FhirIndexStore, OutboxRow } from '../../store/index.js';
import { TurnBatch, settle } from './turn-batch.js';

/** How often the outbox is shipped. */
export const AUDIT_FLUSH_INTERVAL_MS = 250;
/** Most entries in one `audit.batch` (the contract accepts up to MAX_AUDIT_BATCH = 1000). */
export const AUDIT_BATCH_SIZE = 500;
/** How long the shipper waits for a batch to commit. */
export const AUDIT_COMMIT_WAIT_MS = 10_000;

/**
 * Codes with which the ledger refuses an `audit.batch` for its content: shipping the same
 * entries again cannot succeed, so the batch is split to find the entries at fault.
 */
export const CONTENT_REFUSALS: ReadonlySet<string> = new Set([
  'INVALID_PAYLOAD',
  'TX_TOO_LARGE',
  'FOREIGN_ACTOR',
  'UNKNOWN_PATIENT',
  'UNKNOWN_PARTY',
]);

/** How one batch fared: committed, refused for its content (with the code), or not now. */
type BatchOutcome =
  | { readonly kind: 'committed' }
  | { readonly kind: 'refused'; readonly code: string }
  | { readonly kind: 'retry-later' };

/** What the shipper needs of the node. */
export interface AuditLedger {
  readonly did: string;
  /** The network's chain id, named in every transaction the node signs. */
  readonly chainId: string;
  readonly secretKey: Uint8Array;
  submit(envelopes: readonly unknown[]): Promise<{
    readonly accepted: ReadonlyArray<{ readonly id: string }>;
    readonly rejected?: ReadonlyArray<{ readonly code: string }>;
  }>;
  waitForCommit(id: string, timeoutMs: number): Promise<CommittedTx>;
  /** Whether `did` is a registered patient (entries of others would make the batch fail). */
  isPatient(did: string): boolean;
}

/** One access to record, before id and time are given. */
export interface AuditEvent {
  readonly actor: string;
  readonly patient: string;
  readonly action: AuditAction;
  readonly outcome: AuditOutcome;
  readonly resourceType?: string;
  readonly recordId?: string;
  readonly grantId?: string;
  readonly purpose?: string;
  /** The break-glass access the access was made under. */
  readonly emergency?: string;
  /** The node through which the access came, when it was not the recording node (roaming). */
  readonly via?: string;
}

/** The outbox and its shipper. */
export class AuditTrail {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** A ship queued behind the running one (see flush). */
  private followUp: Promise<void> | undefined;
  private closed = false;
  /** Entries appended since the shipper was last started early (instead of counting the outbox). */
  private appended = 0;
  /** Entries the ledger refused on their own and this trail set aside (see the module comment). */
  setAside = 0;
  /** The appends of one event-loop turn, in one outbox transaction (see `recordInTurn`). */
  private readonly appends = new TurnBatch<readonly AuditEvent[], void>((groups) => {
    const all = settle(() => this.record(groups.flat()));
    // When the shared transaction fails, each request's entries are tried alone, for its own answer.
    return all.ok ? groups.map(() => all) : groups.map((events) => settle(() => this.record(events)));
  });

  constructor(
    private readonly index: FhirIndexStore,
    private readonly ledger: AuditLedger,
  ) {}

  /** Starts shipping (leftover rows first). */
  start(): void {
    this.timer = setInterval(() => this.kick(), AUDIT_FLUSH_INTERVAL_MS);
    this.timer.unref();
    this.kick();
  }

  /**
   * Appends events to the outbox, durably, before returning. Events about a DID that is not a
   * registered patient are dropped (the ledger could not record them).
   */
  record(events: readonly AuditEvent[]): void {
    const at = Date.now();
    const rows: string[] = [];
    for (const event of events) {
      if (!this.ledger.isPatient(event.patient)) continue;
      const entry: AuditEntry = { id: randomUUID(), at, ...definedOnly(event) };
      rows.push(JSON.stringify(entry));
    }
    this.index.appendAudit(rows);
    // A full batch waiting is shipped at once, not at the next tick.
    this.appended += rows.length;
    if (this.appended >= AUDIT_BATCH_SIZE) {
      this.appended = 0;
      this.kick();
    }
  }

  /**
   * As `record`, in one outbox transaction with the other appends of this event-loop turn (the
   * reads answered together): resolves once the entries are in the outbox — the caller answers
   * after that, as after `record`.
   */
  recordInTurn(events: readonly AuditEvent[]): Promise<void> {
    return events.length === 0 ? Promise.resolve() : this.appends.add(events);
  }

  /** Ships what the outbox holds now (resolves when done or when a batch fails). */
  flush(): Promise<void> {
    if (this.running) {
      // The ship under way may have read the outbox before the latest rows: ship once more after
      // it (one follow-up, shared by every caller meanwhile).
      this.followUp ??= this.running
        .catch(() => undefined)
        .then(() => {
          this.followUp = undefined;
          return this.flush();
        });
      return this.followUp;
    }
    this.running = this.ship().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops the timer and ships what is left, once. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    await this.flush().catch(() => undefined);
    this.closed = true;
  }

  private kick(): void {
    if (this.closed) return;
    this.flush().catch(() => undefined);
  }

  private async ship(): Promise<void> {
    if (!(await this.settleInFlight())) return;
    for (;;) {
      const rows = this.index.readAudit(AUDIT_BATCH_SIZE);
      if (rows.length === 0) return;
      if (!(await this.shipRows(rows))) return;
      if (rows.length < AUDIT_BATCH_SIZE) return;
    }
  }

  /**
   * Ships `rows` as one batch; when the ledger refuses it for its content, ships each half on its
   * own, and sets aside a single entry it refuses. Answers false when shipping should stop until
   * the next tick (a failure that is not about the entries).
   */
  private async shipRows(rows: readonly OutboxRow[]): Promise<boolean> {
    const outcome = await this.shipBatch(rows);
    switch (outcome.kind) {
      case 'committed':
        return true;
      case 'retry-later':
        return false;
      case 'refused': {
        if (rows.length === 1) {
          this.index.setAsideAudit(rows[0]!.seq, outcome.code, Date.now());
          this.setAside++;
          return true;
        }
        const half = Math.ceil(rows.length / 2);
        return (await this.shipRows(rows.slice(0, half))) && (await this.shipRows(rows.slice(half)));
      }
    }
  }

  /**
   * Ships `rows` in a new `audit.batch`, remembered as in flight until its fate is known (see
   * `settleInFlight`): a batch that committed while its rows stayed in the outbox (a crash before
   * their deletion, or a wait that timed out) would otherwise be shipped, and recorded, twice.
   */
  private async shipBatch(rows: readonly OutboxRow[]): Promise<BatchOutcome> {
    const entries = rows.map((r) => JSON.parse(r.entry) as AuditEntry);
    const envelope = signTx(
      createTx({
        chainId: this.ledger.chainId,
        type: 'audit.batch',
        signer: this.ledger.did,
        payload: { entries },
      }),
      this.ledger.secretKey,
    );
    const txId = txIdOf(envelope.tx);
    this.index.markAuditInFlight({ txId, envelope: JSON.stringify(envelope), seqs: rows.map((r) => r.seq) });
    const outcome = await this.ledger.submit([envelope]).catch(() => undefined);
    if (outcome === undefined) return { kind: 'retry-later' }; // maybe accepted: still in flight
    const accepted = outcome.accepted[0];
    if (accepted === undefined) {
      this.index.settleAuditInFlight(txId, false);
      const code = outcome.rejected?.[0]?.code;
      return code !== undefined && CONTENT_REFUSALS.has(code)
        ? { kind: 'refused', code }
        : { kind: 'retry-later' };
    }
    const committed = await this.ledger
      .waitForCommit(accepted.id, AUDIT_COMMIT_WAIT_MS)
      .catch(() => undefined);
    if (committed === undefined) return { kind: 'retry-later' }; // may still commit: still in flight
    this.index.settleAuditInFlight(txId, committed.code === 'OK');
    if (committed.code === 'OK') return { kind: 'committed' };
    return CONTENT_REFUSALS.has(committed.code)
      ? { kind: 'refused', code: committed.code }
      : { kind: 'retry-later' };
  }

  /**
   * Settles the batches left in flight (by a crash, or a wait that timed out): each is submitted
   * again as it is — the same envelope, whose nonce the ledger takes once — and its commit looked
   * up. Committed: its rows are deleted; known not to have committed: its rows are shipped anew.
   * Answers false while one's fate is still unknown (its rows must not go in another batch).
   */
  private async settleInFlight(): Promise<boolean> {
    for (const batch of this.index.auditInFlight()) {
      const fate = await this.fateOf(batch);
      if (fate === 'unknown') return false;
      this.index.settleAuditInFlight(batch.txId, fate === 'committed');
    }
    return true;
  }

  private async fateOf(batch: AuditInFlight): Promise<'committed' | 'not-committed' | 'unknown'> {
    const outcome = await this.ledger.submit([JSON.parse(batch.envelope) as unknown]).catch(() => undefined);
    if (outcome === undefined) return 'unknown';
    // Taken again, or refused as a replay (committed, or on its way): its commit is waited for.
    // Refused otherwise (e.g. expired): it never committed, unless the ledger holds it already
    // (the lookup of a stored transaction answers at once).
    const known = outcome.accepted[0] !== undefined || outcome.rejected?.[0]?.code === 'REPLAY';
    const committed = await this.ledger
      .waitForCommit(batch.txId, known ? AUDIT_COMMIT_WAIT_MS : 0)
      .catch(() => undefined);
    if (committed === undefined) return known ? 'unknown' : 'not-committed';
    return committed.code === 'OK' ? 'committed' : 'not-committed';
  }
}

function definedOnly(event: AuditEvent): Omit<AuditEntry, 'id' | 'at'> {
  return Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined)) as Omit<
    AuditEntry,
    'id' | 'at'
  >;
}
