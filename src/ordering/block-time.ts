/**
 * A block's time, which every node must compute alike (transactions expire against it).
 *
 * The time is the JetStream server's timestamp of the stream message that ends the block (the
 * last transaction message of a full block, or the cut marker): the stream leader stamps each
 * message when it stores it, and the timestamp is replicated with the message, so every consumer
 * reads the same value and no publisher chooses it. Publishers still write a `t` field (older
 * nodes read it); it is ignored.
 *
 * Two deterministic rules bound what one stamp can do:
 * - block times never go backwards (a stamp behind the previous block's time gives that time);
 * - one block moves the clock at most MAX_BLOCK_TIME_STEP_MS past the previous block. A stream
 *   leader whose clock jumped a century ahead moves the ledger by a day per block, not by a
 *   century at once, and operators see the node-local warning below long before that adds up.
 *   The cost: after a network was idle for longer than the step, the first blocks lag real time
 *   and a transaction signed "now" is refused as from the future until the blocks catch up (one
 *   step per block). Idle periods up to the step (a night, a day) cost nothing.
 * The first block after genesis takes the stamp as it is: genesis may be signed long before the
 * network starts.
 */

/** Furthest one block may move the ledger's clock past the previous block's time. */
export const MAX_BLOCK_TIME_STEP_MS = 24 * 60 * 60 * 1000;
/** A caught-up node warns (in its own log) when a block's time is this far from its clock. */
export const BLOCK_CLOCK_WARNING_MS = 60 * 1000;

export interface BlockTimeInput {
  /** Height and time of the block before this one (height 0: genesis). */
  readonly previousHeight: number;
  readonly previousTime: number;
  /** The JetStream server's timestamp (ms) of the message that ends this block. */
  readonly stampedTime: number;
}

export function nextBlockTime({ previousHeight, previousTime, stampedTime }: BlockTimeInput): number {
  if (previousHeight === 0) return Math.max(previousTime, stampedTime);
  return Math.min(Math.max(previousTime, stampedTime), previousTime + MAX_BLOCK_TIME_STEP_MS);
}

/** Milliseconds since the epoch of a JetStream message timestamp (nanoseconds). */
export function millisFromNanos(nanos: bigint): number {
  return Number(nanos / 1_000_000n);
}
