/**
 * When to close the block that writes wait on. A write answers only once its anchor's block has
 * committed, so with a fixed number of clients the block timeout (25 ms by default) bounds the
 * write rate: N clients make at most N writes per (timeout + commit). Closing the block as soon
 * as the anchors are submitted removes that wait; doing it for every submission would make one
 * block (one execution, one fsync) per event-loop turn under load. So this is a group commit:
 * the first submission closes its block at once; submissions made while that block is on its way
 * to commit wait for it, then close the next block together (or the orderer's timeout closes it
 * first, as before).
 */

/**
 * Paces early block cuts (see the module comment).
 *
 * @example
 * const pacer = new BlockPacer(() => node.cutBlock());
 * pacer.submitted(Promise.all(commits)); // after each accepted submission
 */
export class BlockPacer {
  /** The commit of the block this pacer closed last, while it is not committed. */
  private inFlight: Promise<unknown> | undefined;
  /** Commits of the submissions made meanwhile: they go in the next block this pacer closes. */
  private waiting: Promise<unknown>[] = [];

  constructor(private readonly cut: () => void) {}

  /** Tells the pacer that anchors were submitted; `committed` settles once they committed (or failed). */
  submitted(committed: Promise<unknown>): void {
    this.waiting.push(committed);
    if (this.inFlight === undefined) this.cutWaiting();
  }

  private cutWaiting(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.cut();
    const inFlight = Promise.allSettled(batch).then(() => {
      if (this.inFlight !== inFlight) return;
      this.inFlight = undefined;
      if (this.waiting.length > 0) this.cutWaiting();
    });
    this.inFlight = inFlight;
  }
}
