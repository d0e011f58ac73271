/**
 * A custodian's node restored from a backup takes back, from the patient's replica, the latest
 * versions of its own records whose ciphertexts its vault lost (the versions written after the
 * backup: on the ledger, not in the vault — src/node/fhir/ciphertext-gaps.ts).
 *
 * For each such record the node asks the replica the patient named on this node's ledger, with
 * signed, audience-bound node requests (`POST /node/v1/replica/refill`, refill-wire.ts), for the
 * version its ledger anchors as the latest. Each version answered is checked here, on this node's
 * own ledger, before anything is stored: it must be the version asked (record id and version),
 * of a live record this organization keeps, and match the anchor — patient, type, class, key
 * epoch and the SHA-256 of its ciphertext (anchor-check.ts). A version that does not is refused
 * (logged by code, nothing stored, its gap stays). A version that does goes to the vault and the
 * index as any anchored version the node did not write itself (`adoptAnchoredVersion`), so
 * reads, search and `$everything` find it again and the gap count (metric, `/readyz`) drops.
 *
 * While a replica does not answer, or does not hold a version yet (its ledger or its shipments
 * behind), the node asks again with exponential backoff (capped); {@link CiphertextRefill.status}
 * tells the operator what is still missing, in counts only.
 */
import { namedReplica, type RecordEntry, type StateReader } from '../../contracts/index.js';
import { StateKey } from '../../ledger/index.js';
import type { RoamingClient } from '../roaming/client.js';
import { contentMismatch, identityMismatch, type AnchorMismatchCode } from './anchor-check.js';
import type { AdoptOwnVersion } from './receiver.js';
import {
  MAX_VERSIONS_PER_REFILL,
  REPLICA_REFILL_PATH,
  refillAnswerSchema,
  type AskedVersion,
  type RefillRequest,
  type RefillResult,
} from './refill-wire.js';

/** First retry delay; doubles with each pass that leaves versions missing, up to MAX_REFILL_RETRY_MS. */
export const FIRST_REFILL_RETRY_MS = 1_000;
export const MAX_REFILL_RETRY_MS = 60_000;

/** The code of a version answered that does not match the version asked. */
export const REFILL_NOT_ASKED = 'REFILL_NOT_ASKED';

/** What became of one version asked: stored (or held already), not held by the replica, or refused with a code. */
type TakeOutcome = 'stored' | 'exists' | 'absent' | AnchorMismatchCode | typeof REFILL_NOT_ASKED;

/** How the last pass ended, for the operator (no identifiers). */
export type RefillOutcome = 'complete' | 'partial' | 'absent' | 'unreachable' | 'refused';

/** What is still missing, in counts only (`/readyz` detail). */
export interface RefillStatus {
  /** Latest versions still missing that a replica may give back. */
  readonly fromReplica: number;
  /** Latest versions still missing of patients that named no replica (only the operator can help). */
  readonly withoutReplica: number;
  /** Versions answered that failed the check against their anchor, since start. */
  readonly refused: number;
  readonly lastOutcome?: RefillOutcome;
  /** When the next pass runs (ms since the epoch), while one is planned. */
  readonly nextAttemptAt?: number;
}

export interface CiphertextRefillPort {
  readonly orgDid: string;
  readonly state: StateReader;
  readonly client: Pick<RoamingClient, 'send'>;
  /** The records kept here whose latest anchored version the vault lacks, now. */
  readonly missingLatest: () => ReadonlyArray<{ readonly recordId: string; readonly patient: string }>;
  /** Stores a checked version in the vault and the index. */
  readonly adopt: AdoptOwnVersion;
  /** Operational lines (counts and codes only; never identifiers of records or health data). */
  readonly log: (line: string) => void;
  /** ms since the epoch (default Date.now). */
  readonly now?: () => number;
}

/** One pass's counts. */
export interface RefillPass {
  readonly stored: number;
  readonly absent: number;
  readonly refused: number;
  readonly unreachable: number;
}

/** Takes back lost ciphertexts from the patients' replicas (see the module comment). */
export class CiphertextRefill {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RefillPass> | undefined;
  private stopped = false;
  private failedPasses = 0;
  private refusedTotal = 0;
  private lastOutcome: RefillOutcome | undefined;
  private nextAttemptAt: number | undefined;

  constructor(private readonly port: CiphertextRefillPort) {
    this.now = port.now ?? Date.now;
  }

  /** Starts passes when a replica may give back a missing version (none otherwise: a node that was never restored does nothing). */
  start(): void {
    if (this.port.missingLatest().some(({ patient }) => this.replicaOf(patient) !== undefined)) this.schedule(0);
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
    const missing = this.port.missingLatest();
    const fromReplica = missing.filter(({ patient }) => this.replicaOf(patient) !== undefined).length;
    return {
      fromReplica,
      withoutReplica: missing.length - fromReplica,
      refused: this.refusedTotal,
      ...(this.lastOutcome === undefined ? {} : { lastOutcome: this.lastOutcome }),
      ...(this.nextAttemptAt === undefined ? {} : { nextAttemptAt: this.nextAttemptAt }),
    };
  }

  /** One pass over every missing latest version (serialized with the planned passes). */
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
    if (this.stopped) return;
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

  /** Plans the next pass while a replica may still give back something (backoff on each pass that leaves versions missing). */
  private afterPass(pass: RefillPass): void {
    const left = this.port.missingLatest().filter(({ patient }) => this.replicaOf(patient) !== undefined).length;
    this.lastOutcome = outcomeOf(pass, left);
    if (pass.stored + pass.absent + pass.refused + pass.unreachable > 0)
      this.port.log(
        `ciphertext refill: ${pass.stored} version(s) stored, ${pass.absent} not held by the replica, ${pass.refused} refused, ${pass.unreachable} unanswered; ${left} still missing`,
      );
    if (left === 0) return;
    this.failedPasses = pass.stored > 0 ? 0 : this.failedPasses + 1;
    this.schedule(Math.min(MAX_REFILL_RETRY_MS, FIRST_REFILL_RETRY_MS * 2 ** Math.min(this.failedPasses, 16)));
  }

  /** The organization the patient named its replica on this ledger, unless it is this one. */
  private replicaOf(patient: string): string | undefined {
    const replica = namedReplica(this.port.state, patient)?.org;
    return replica === undefined || replica === this.port.orgDid ? undefined : replica;
  }

  private async askAll(): Promise<RefillPass> {
    const byReplica = new Map<string, AskedVersion[]>();
    for (const { recordId, patient } of this.port.missingLatest()) {
      const replica = this.replicaOf(patient);
      const anchor = this.port.state.get<RecordEntry>(StateKey.record(recordId));
      if (replica === undefined || anchor?.status !== 'active') continue;
      byReplica.set(replica, [...(byReplica.get(replica) ?? []), { id: recordId, version: anchor.latest.version }]);
    }
    const total = { stored: 0, absent: 0, refused: 0, unreachable: 0 };
    for (const [replica, asked] of byReplica) {
      for (let i = 0; i < asked.length && !this.stopped; i += MAX_VERSIONS_PER_REFILL) {
        const pass = await this.askBatch(replica, asked.slice(i, i + MAX_VERSIONS_PER_REFILL));
        total.stored += pass.stored;
        total.absent += pass.absent;
        total.refused += pass.refused;
        total.unreachable += pass.unreachable;
      }
    }
    this.refusedTotal += total.refused;
    return total;
  }

  private async askBatch(replica: string, asked: readonly AskedVersion[]): Promise<RefillPass> {
    const request: RefillRequest = { versions: [...asked] };
    const answer = await this.port.client.send<unknown>(replica, REPLICA_REFILL_PATH, request);
    const unanswered = { stored: 0, absent: 0, refused: 0, unreachable: asked.length };
    if (answer.kind !== 'ok') {
      if (answer.kind === 'refused') this.port.log(`ciphertext refill refused by the replica: ${answer.code}`);
      return unanswered;
    }
    const parsed = refillAnswerSchema.safeParse(answer.answer);
    if (!parsed.success) {
      this.port.log('ciphertext refill: the replica answered an unreadable body');
      return unanswered;
    }
    const pass = { stored: 0, absent: 0, refused: 0, unreachable: 0 };
    for (const [i, wanted] of asked.entries()) {
      const outcome = await this.take(wanted, parsed.data.results[i]);
      if (outcome === 'stored' || outcome === 'exists') pass.stored++;
      else if (outcome === 'absent') pass.absent++;
      else {
        pass.refused++;
        this.port.log(`ciphertext refill: a version answered was refused: ${outcome}`);
      }
    }
    return pass;
  }

  /** Checks one answered version against what was asked and the anchor on this ledger; stores it when it matches. */
  private async take(asked: AskedVersion, result: RefillResult | undefined): Promise<TakeOutcome> {
    if (result === undefined || result.status === 'absent') return 'absent';
    const { record } = result;
    if (result.id !== asked.id || result.version !== asked.version || record.id !== asked.id || record.version !== asked.version)
      return REFILL_NOT_ASKED;
    const anchor = this.port.state.get<RecordEntry>(StateKey.record(asked.id));
    // Only a live record this organization keeps, at the version the ledger anchors as its latest.
    if (anchor?.status !== 'active' || anchor.custodian !== this.port.orgDid || anchor.latest.version !== record.version)
      return REFILL_NOT_ASKED;
    const blob = new Uint8Array(Buffer.from(record.ciphertext, 'base64url'));
    const mismatch = identityMismatch(record, anchor) ?? contentMismatch(record, blob, anchor);
    if (mismatch !== undefined) return mismatch;
    return this.port.adopt(record, blob);
  }
}

function outcomeOf(pass: RefillPass, left: number): RefillOutcome {
  if (left === 0) return 'complete';
  if (pass.stored > 0) return 'partial';
  if (pass.refused > 0) return 'refused';
  if (pass.unreachable > 0) return 'unreachable';
  return 'absent';
}
