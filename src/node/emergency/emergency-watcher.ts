/**
 * Break-glass on one node, driven by committed blocks: for every `emergency.access` or
 * `emergency.release` a block commits (code OK), the node reads the access from its own ledger
 * and (as a trustee) releases its organization's share, or (as the requesting organization)
 * reconstructs the keys once enough releases are in. When the node starts, it looks at every
 * access still active, so a release or reconstruction missed while it was down still happens.
 * One access is worked on at a time (a queue); a failed release is tried again a few times while
 * the access is active.
 */
import type { StateReader } from '../../contracts/index.js';
import type { CommittedBlock } from '../../ledger/index.js';
import { isEmergencyActive } from '../../contracts/index.js';
import { emergencyAccessOf, type EmergencyAccessRecord } from './access-record.js';
import type { KeyReconstruction } from './key-reconstruction.js';
import type { TrusteeRelease } from './trustee-release.js';

/** How long after a failed release the node tries again, and how often at most. */
export const RELEASE_RETRY_MS = 2_000;
export const RELEASE_ATTEMPTS = 5;

/** The transaction types that start or advance a break-glass. */
const EMERGENCY_TX_TYPES: ReadonlySet<string> = new Set(['emergency.access', 'emergency.release']);

/** What the watcher reads of its node. */
export interface EmergencyWatcherPort {
  readonly state: StateReader;
  /** The type and payload of committed transaction `id`. */
  txOf(id: string): { readonly type: string; readonly payload: unknown } | undefined;
  /** Subscribes to committed blocks; returns the unsubscribe. */
  onBlock(listener: (block: CommittedBlock) => void): () => void;
  readonly now?: () => number;
  /** Operational lines (access ids and codes only, never shares or keys). */
  readonly log?: (line: string) => void;
  /** Records the break-glass in the patient's trail (ready: success; shares that do not open: denied). */
  readonly breakGlass?: (access: EmergencyAccessRecord, outcome: 'success' | 'denied') => void;
}

/** The access id a break-glass transaction is about. */
function accessIdOf(type: string, payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const value =
    type === 'emergency.access' ? (payload as { id?: unknown }).id : (payload as { access?: unknown }).access;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Watches the ledger for break-glass work (see the module comment).
 *
 * @example
 * const watcher = new EmergencyWatcher(port, { release, reconstruction });
 * watcher.start(); … await watcher.stop();
 */
export class EmergencyWatcher {
  private unsubscribe: (() => void) | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly retries = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly port: EmergencyWatcherPort,
    private readonly parts: {
      readonly release: TrusteeRelease;
      readonly reconstruction: KeyReconstruction;
      /** This node's organization (the requesting one of its own accesses). */
      readonly org: string;
    },
  ) {
    this.now = port.now ?? Date.now;
  }

  /** Looks at every active access now, then at each committed block. */
  start(): void {
    this.unsubscribe = this.port.onBlock((block) => this.onBlock(block));
    const now = this.now();
    for (const [, access] of this.port.state.range<EmergencyAccessRecord>('emergency/'))
      if (isEmergencyActive(access, now)) this.enqueue(access.id, RELEASE_ATTEMPTS);
  }

  /** Stops watching; waits for the work under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
    await this.queue;
  }

  /** Resolves once the work queued so far is done (tests). */
  idle(): Promise<void> {
    return this.queue;
  }

  private onBlock(block: CommittedBlock): void {
    for (const tx of block.txs) {
      // Filtered on the block's own list first: reading every committed transaction back from
      // the store cost a node a tenth of its main thread under load.
      if (tx.code !== 'OK' || !EMERGENCY_TX_TYPES.has(tx.type)) continue;
      const committed = this.port.txOf(tx.id);
      if (committed === undefined || !EMERGENCY_TX_TYPES.has(committed.type)) continue;
      const id = accessIdOf(committed.type, committed.payload);
      if (id !== undefined) this.enqueue(id, RELEASE_ATTEMPTS);
    }
  }

  private enqueue(id: string, attemptsLeft: number): void {
    if (this.stopped) return;
    this.queue = this.queue
      .then(() => this.work(id, attemptsLeft))
      .catch((error: unknown) => {
        this.port.log?.(`emergency: access ${id} failed: ${(error as Error).message}`);
      });
  }

  private async work(id: string, attemptsLeft: number): Promise<void> {
    const access = emergencyAccessOf(this.port.state, id);
    if (access === undefined || this.stopped) return;
    const now = this.now();
    const released = await this.parts.release.release(access, now);
    if (released.kind === 'failed') {
      this.port.log?.(`emergency: release for access ${id} failed (${released.code})`);
      if (attemptsLeft > 1) this.retryLater(id, attemptsLeft - 1);
    }
    const status = await this.parts.reconstruction.reconstruct(access, now);
    if (status.state === 'ready' && access.org === this.parts.org) this.port.breakGlass?.(access, 'success');
    if (status.state === 'invalid') {
      this.port.log?.(`emergency: access ${id}: ${status.code}`);
      this.port.breakGlass?.(access, 'denied');
    }
  }

  private retryLater(id: string, attemptsLeft: number): void {
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      this.enqueue(id, attemptsLeft);
    }, RELEASE_RETRY_MS);
    timer.unref();
    this.retries.add(timer);
  }
}
