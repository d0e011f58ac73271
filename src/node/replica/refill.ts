/**
 * A custodian's node restored from a backup takes back, from the patient's replica, every version
 * of its own records whose ciphertext its vault lost (the versions written after the backup: on
 * the ledger, not in the vault — src/node/fhir/ciphertext-gaps.ts).
 *
 * For each such version the node asks the replica the patient named on this node's ledger, with
 * signed, audience-bound node requests (`POST /node/v1/replica/refill`, refill-wire.ts). Each
 * version answered is checked here, on this node's own ledger, before anything is stored: it
 * must be the version asked (record id and version), of a live record this organization keeps,
 * and match that version's anchor — patient, type, class, key epoch and the SHA-256 of its
 * ciphertext; the latest version's anchor is in state, an older one in the `records.anchor`
 * transaction the answer names, read from this node's ledger (anchor-check.ts). A version that
 * does not match is refused (logged by code, nothing stored, its gap stays). A version that does
 * goes to the vault (and, when it is the newest held, the index) as any anchored version the
 * node did not write itself (`adoptAnchoredVersion`), so reads, `_history`, vread, search and
 * `$everything` find it again and the gap count (metric, `/readyz`) drops.
 *
 * Passes run while gaps a replica may fill remain: at start, then with exponential backoff
 * (5 s doubling to 5 min; back to 5 s after a pass that stored something, and at once when a new
 * gap appears or a patient names a replica — `wake`, called after each block); none when nothing
 * is missing. The list of missing versions, with each one's last attempt and its outcome, is
 * written to the replica file (`RefillLog`) for `roam replica status`; {@link status} gives the
 * counts for `/readyz`.
 */
import { namedReplica, type RecordEntry, type StateReader } from '../../contracts/index.js';
import { StateKey } from '../../ledger/index.js';
import type { RefillLog } from '../../store/index.js';
import type { RoamingClient } from '../roaming/client.js';
import { checkAgainstAnchor, type AnchorMismatchCode, type CommittedTxLookup } from './anchor-check.js';
import type { AdoptOwnVersion } from './receiver.js';
import {
  MAX_VERSIONS_PER_REFILL,
  REPLICA_REFILL_PATH,
  refillAnswerSchema,
  type AskedVersion,
  type RefillRequest,
  type RefillResult,
} from './refill-wire.js';

/** First retry delay; doubles with each pass that stores nothing, up to MAX_REFILL_RETRY_MS. */
export const FIRST_REFILL_RETRY_MS = 5_000;
export const MAX_REFILL_RETRY_MS = 5 * 60_000;

/** The code of a version answered that does not match the version asked. */
export const REFILL_NOT_ASKED = 'REFILL_NOT_ASKED';

/** What became of one version asked: stored (or held already), not held by the replica, unanswered, or refused with a code. */
type TakeOutcome = 'stored' | 'exists' | 'absent' | 'unreachable' | AnchorMismatchCode | typeof REFILL_NOT_ASKED;

/** How the last pass ended, for the operator (no identifiers). */
export type RefillOutcome = 'complete' | 'partial' | 'absent' | 'unreachable' | 'refused';

/** What is still missing, in counts only (`/readyz` detail). */
export interface RefillStatus {
  /** Versions still missing that a replica may give back. */
  readonly fromReplica: number;
  /** Versions still missing of patients that named no replica (only the operator can help). */
  readonly withoutReplica: number;
  /** Versions answered that failed the check against their anchor, since start. */
  readonly refused: number;
  readonly lastOutcome?: RefillOutcome;
  /** When the next pass runs (ms since the epoch), while one is planned. */
  readonly nextAttemptAt?: number;
}

/** One anchored version of this node's records whose ciphertext the vault lacks. */
export interface MissingVersion {
  readonly recordId: string;
  readonly patient: string;
  readonly version: number;
}

export interface CiphertextRefillPort {
  readonly orgDid: string;
  readonly state: StateReader;
  readonly client: Pick<RoamingClient, 'send'>;
  /** Every anchored version of the records kept here that the vault lacks, now (ascending versions per record). */
  readonly missing: () => readonly MissingVersion[];
  /** Committed transactions of this node's ledger (the anchors of older versions). */
  readonly txById: CommittedTxLookup;
  /** Where the list of missing versions and the attempts go, for the operator. */
  readonly gapLog: Pick<RefillLog, 'replace' | 'noteAttempts'>;
  /** Stores a checked version in the vault and the index. */
  readonly adopt: AdoptOwnVersion;
  /** Operational lines (counts and codes only; never identifiers of records or health data). */
  readonly log: (line: string) => void;
  /** ms since the epoch (default Date.now). */
  readonly now?: () => number;
  /** Backoff bounds (default FIRST_REFILL_RETRY_MS, MAX_REFILL_RETRY_MS). */
  readonly retry?: { readonly firstMs: number; readonly maxMs: number };
}

/** One pass's counts. */
export interface RefillPass {
  readonly stored: number;
  readonly absent: number;
  readonly refused: number;
  readonly unreachable: number;
}

const keyOf = (v: { readonly recordId: string; readonly version: number }): string => `${v.recordId}\u0000${v.version}`;

/** Takes back lost ciphertexts from the patients' replicas (see the module comment). */
export class CiphertextRefill {
  private readonly now: () => number;
  private readonly retry: { readonly firstMs: number; readonly maxMs: number };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RefillPass> | undefined;
  private stopped = false;
  private planning = true;
  private failedPasses = 0;
  private refusedTotal = 0;
  private lastOutcome: RefillOutcome | undefined;
  private nextAttemptAt: number | undefined;
  /** The versions a replica may give back, as last seen (a new one resets the backoff). */
  private known = new Set<string>();
  /** How many versions were missing when the list was last written (it is rewritten when that changes). */
  private logged: number | undefined;

  constructor(private readonly port: CiphertextRefillPort) {
    this.now = port.now ?? Date.now;
    this.retry = port.retry ?? { firstMs: FIRST_REFILL_RETRY_MS, maxMs: MAX_REFILL_RETRY_MS };
  }

  /** Writes the list of missing versions, and starts passes when a replica may give one back. */
  start(): void {
    this.wake();
  }

  /**
   * Looks at what is missing now (cheap: the gaps are counted in memory): a version a replica may
   * give back that was not missing before (a new gap, or a patient who named a replica) starts a
   * pass at once and resets the backoff; nothing missing stops the passes.
   */
  wake(): void {
    if (this.stopped) return;
    const { askable, all } = this.missingNow();
    if (this.logged !== all.length) this.writeList(all);
    const fresh = askable.some((v) => !this.known.has(keyOf(v)));
    this.known = new Set(askable.map(keyOf));
    if (!fresh) return;
    this.failedPasses = 0;
    if (this.running !== undefined) return; // the pass under way plans the next one
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.schedule(0);
  }

  /**
   * Plans no more passes (explicit {@link pass} calls still run): for a caller that drives the
   * passes itself, e.g. a test that must see each pass's counts.
   */
  stopPlanning(): void {
    this.planning = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.nextAttemptAt = undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.nextAttemptAt = undefined;
    await this.running;
  }

  /** What is still missing (counts only). */
  status(): RefillStatus {
    const { askable, all } = this.missingNow();
    return {
      fromReplica: askable.length,
      withoutReplica: all.length - askable.length,
      refused: this.refusedTotal,
      ...(this.lastOutcome === undefined ? {} : { lastOutcome: this.lastOutcome }),
      ...(this.nextAttemptAt === undefined ? {} : { nextAttemptAt: this.nextAttemptAt }),
    };
  }

  /** One pass over every missing version (serialized with the planned passes). */
  async pass(): Promise<RefillPass> {
    while (this.running !== undefined) await this.running;
    this.running = this.askAll();
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped || !this.planning) return;
    this.nextAttemptAt = this.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.nextAttemptAt = undefined;
      void this.pass()
        .then((pass) => this.afterPass(pass))
        .catch((error: unknown) => {
          this.port.log(`ciphertext refill failed: ${(error as Error).message.slice(0, 200)}`);
          this.afterPass({ stored: 0, absent: 0, refused: 0, unreachable: 1 });
        });
    }, delayMs);
    this.timer.unref();
  }

  /** Plans the next pass while a replica may still give back something (see the module comment). */
  private afterPass(pass: RefillPass): void {
    const { askable } = this.missingNow();
    const left = askable.length;
    this.known = new Set(askable.map(keyOf));
    this.lastOutcome = outcomeOf(pass, left);
    if (pass.stored + pass.absent + pass.refused + pass.unreachable > 0)
      this.port.log(
        `ciphertext refill: ${pass.stored} version(s) stored, ${pass.absent} not held by the replica, ${pass.refused} refused, ${pass.unreachable} unanswered; ${left} still missing`,
      );
    if (left === 0 || this.stopped || this.timer !== undefined) return;
    this.failedPasses = pass.stored > 0 ? 0 : this.failedPasses + 1;
    this.schedule(Math.min(this.retry.maxMs, this.retry.firstMs * 2 ** Math.min(Math.max(0, this.failedPasses - 1), 16)));
  }

  /** The organization the patient named its replica on this ledger, unless it is this one. */
  private replicaOf(patient: string): string | undefined {
    const replica = namedReplica(this.port.state, patient)?.org;
    return replica === undefined || replica === this.port.orgDid ? undefined : replica;
  }

  /** Every missing version, with the replica that may give it back (when the patient named one). */
  private missingNow(): { all: Array<MissingVersion & { replica?: string }>; askable: Array<MissingVersion & { replica: string }> } {
    const replicas = new Map<string, string | undefined>();
    const all = this.port.missing().map((v): MissingVersion & { replica?: string } => {
      if (!replicas.has(v.patient)) replicas.set(v.patient, this.replicaOf(v.patient));
      const replica = replicas.get(v.patient);
      return replica === undefined ? v : { ...v, replica };
    });
    const askable = all.filter((v): v is MissingVersion & { replica: string } => v.replica !== undefined);
    return { all, askable };
  }

  private writeList(all: ReadonlyArray<MissingVersion & { replica?: string }>): void {
    this.port.gapLog.replace(
      all.map((v) => ({ recordId: v.recordId, version: v.version, replica: v.replica ?? null })),
      this.now(),
    );
    this.logged = all.length;
  }

  private async askAll(): Promise<RefillPass> {
    const { askable, all } = this.missingNow();
    this.writeList(all);
    const byReplica = new Map<string, AskedVersion[]>();
    for (const { recordId, version, replica } of askable)
      byReplica.set(replica, [...(byReplica.get(replica) ?? []), { id: recordId, version }]);
    const total = { stored: 0, absent: 0, refused: 0, unreachable: 0 };
    for (const [replica, asked] of byReplica) {
      for (let i = 0; i < asked.length && !this.stopped; i += MAX_VERSIONS_PER_REFILL) {
        const outcomes = await this.askBatch(replica, asked.slice(i, i + MAX_VERSIONS_PER_REFILL));
        for (const { outcome } of outcomes) {
          if (outcome === 'stored' || outcome === 'exists') total.stored++;
          else if (outcome === 'absent') total.absent++;
          else if (outcome === 'unreachable') total.unreachable++;
          else total.refused++;
        }
        this.port.gapLog.noteAttempts(
          outcomes.filter(({ outcome }) => outcome !== 'stored' && outcome !== 'exists').map(({ asked: a, outcome }) => ({ recordId: a.id, version: a.version, outcome })),
          this.now(),
        );
      }
    }
    this.refusedTotal += total.refused;
    if (total.stored > 0) this.writeList(this.missingNow().all);
    return total;
  }

  private async askBatch(replica: string, asked: readonly AskedVersion[]): Promise<Array<{ asked: AskedVersion; outcome: TakeOutcome }>> {
    const request: RefillRequest = { versions: [...asked] };
    const answer = await this.port.client.send<unknown>(replica, REPLICA_REFILL_PATH, request);
    const unanswered = asked.map((a) => ({ asked: a, outcome: 'unreachable' as const }));
    if (answer.kind !== 'ok') {
      if (answer.kind === 'refused') this.port.log(`ciphertext refill refused by the replica: ${answer.code}`);
      return unanswered;
    }
    const parsed = refillAnswerSchema.safeParse(answer.answer);
    if (!parsed.success) {
      this.port.log('ciphertext refill: the replica answered an unreadable body');
      return unanswered;
    }
    const outcomes: Array<{ asked: AskedVersion; outcome: TakeOutcome }> = [];
    for (const [i, wanted] of asked.entries()) {
      const outcome = await this.take(wanted, parsed.data.results[i]);
      if (outcome !== 'stored' && outcome !== 'exists' && outcome !== 'absent')
        this.port.log(`ciphertext refill: a version answered was refused: ${outcome}`);
      outcomes.push({ asked: wanted, outcome });
    }
    return outcomes;
  }

  /** Checks one answered version against what was asked and its anchor on this ledger; stores it when it matches. */
  private async take(asked: AskedVersion, result: RefillResult | undefined): Promise<TakeOutcome> {
    if (result === undefined || result.status === 'absent') return 'absent';
    const { record } = result;
    if (result.id !== asked.id || result.version !== asked.version || record.id !== asked.id || record.version !== asked.version)
      return REFILL_NOT_ASKED;
    const anchor = this.port.state.get<RecordEntry>(StateKey.record(asked.id));
    // Only a live record this organization keeps, at a version the ledger anchors.
    if (anchor?.status !== 'active' || anchor.custodian !== this.port.orgDid || anchor.latest.version < record.version)
      return REFILL_NOT_ASKED;
    const blob = new Uint8Array(Buffer.from(record.ciphertext, 'base64url'));
    const checked = checkAgainstAnchor(record, blob, anchor, this.port.txById);
    if (typeof checked === 'string') return checked;
    return this.port.adopt(record, blob, checked.author);
  }
}

function outcomeOf(pass: RefillPass, left: number): RefillOutcome {
  if (left === 0) return 'complete';
  if (pass.stored > 0) return 'partial';
  if (pass.refused > 0) return 'refused';
  if (pass.unreachable > 0) return 'unreachable';
  return 'absent';
}
