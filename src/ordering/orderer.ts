/**
 * A batch of transactions that ordering has fixed as the next block: every node that receives
 * the same cuts builds the same chain.
 */
export interface BlockCut {
  /** Canonical JSON envelopes, in order. */
  readonly envelopes: readonly string[];
  /** Block time (ms since epoch) chosen by ordering, not by the executing node's clock. */
  readonly time: number;
  /** Opaque position in the ordering log just after this cut, stored with the block for resumption. */
  readonly position: string;
}

export type CutHandler = (cut: BlockCut) => Promise<void>;

/**
 * Orders submitted transactions into block cuts. Implementations: `local` (in-process, persisted
 * in the node's SQLite file) and `jetstream` (a NATS JetStream stream shared by every node).
 */
export interface Orderer {
  readonly kind: 'local' | 'jetstream';
  /**
   * Begins delivering cuts after `position` (the one stored with the last committed block, or
   * undefined for none). Cuts are delivered one at a time: the next waits for `onCut` to settle.
   */
  start(onCut: CutHandler, position: string | undefined): Promise<void>;
  /** Durably accepts envelopes for ordering; resolves once they cannot be lost by a crash. */
  submit(envelopes: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_BLOCK_MAX_TXS = 2000;
export const DEFAULT_BLOCK_MAX_BYTES = 4 * 1024 * 1024;
/** Longest a transaction waits for its block to fill: the floor of commit latency at low load. */
export const DEFAULT_BLOCK_TIMEOUT_MS = 25;

export interface BlockLimits {
  readonly maxTxs: number;
  readonly maxBytes: number;
  readonly timeoutMs: number;
}

export const DEFAULT_BLOCK_LIMITS: BlockLimits = {
  maxTxs: DEFAULT_BLOCK_MAX_TXS,
  maxBytes: DEFAULT_BLOCK_MAX_BYTES,
  timeoutMs: DEFAULT_BLOCK_TIMEOUT_MS,
};
