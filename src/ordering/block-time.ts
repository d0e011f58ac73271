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
 * - one block moves the clock at most MAX_BLOCK_TIME_STEP_MS past the previous block. The cost:
 *   after a network was stopped or idle for longer than the step, the first blocks lag real time
 *   and a transaction signed "now" is refused as from the future until the blocks catch up (one
 *   step per block); a week is longer than any routine stop of a hospital network.
 * The first block after genesis takes the stamp as it is: genesis may be signed long before the
 * network starts.
 *
 * And one node-local rule, which never changes a block, only when a node commits it: a node does
 * not commit a block stamped more than BLOCK_CLOCK_HOLD_MS ahead of its own clock until its clock
 * gets there (the orderer holds it and says so). Committing it would expire every honest
 * transaction until real time caught up, so a stream leader whose clock jumped ahead stalls the
 * network visibly (the operator fixes the server's clock and removes the message) instead of
 * moving the ledger's clock for good; blocks are the same on every node either way.
 */

/** Furthest one block may move the ledger's clock past the previous block's time. */
export const MAX_BLOCK_TIME_STEP_MS = 7 * 24 * 60 * 60 * 1000;
/** A caught-up node warns (in its own log) when a block's time is this far from its clock. */
export const BLOCK_CLOCK_WARNING_MS = 60 * 1000;
/** A node holds a block stamped further than this ahead of its clock (half the default tx validity). */
export const BLOCK_CLOCK_HOLD_MS = 5 * 60 * 1000;

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
