import type { BlockLimits } from './orderer.js';

export interface PendingItem<P = number> {
  readonly envelope: string;
  /** Log position of this item (local: sequence number; jetstream: stream sequence and index). */
  readonly position: P;
}

export interface Batch<P = number> {
  readonly items: ReadonlyArray<PendingItem<P>>;
  readonly reason: 'size' | 'timeout' | 'flush';
}

/**
 * Accumulates ordered items and says when a block is full (by count or bytes). The timeout is
 * the caller's business because it differs: the local orderer cuts on its own timer, the
 * JetStream orderer publishes a cut marker into the stream so every node cuts at the same item.
 */
export class BlockCutter<P = number> {
  private items: Array<PendingItem<P>> = [];
  private bytes = 0;
  private firstAddedAt: number | undefined;

  constructor(private readonly limits: BlockLimits) {}

  /** Adds one item; returns a full batch when this item completes one. */
  add(item: PendingItem<P>, now: number): Batch<P> | undefined {
    const size = item.envelope.length;
    let cut: Batch<P> | undefined;
    // An item that would overflow the byte limit closes the current batch first.
    if (this.items.length > 0 && this.bytes + size > this.limits.maxBytes) cut = this.take('size');
    if (this.items.length === 0) this.firstAddedAt = now;
    this.items.push(item);
    this.bytes += size;
    if (!cut && this.items.length >= this.limits.maxTxs) cut = this.take('size');
    return cut;
  }

  /** Milliseconds until the pending batch times out, or undefined when nothing is pending. */
  msUntilTimeout(now: number): number | undefined {
    if (this.firstAddedAt === undefined) return undefined;
    return Math.max(0, this.firstAddedAt + this.limits.timeoutMs - now);
  }

  get pendingCount(): number {
    return this.items.length;
  }

  /** Cuts whatever is pending (timeout or marker); undefined when empty. */
  cut(reason: 'timeout' | 'flush'): Batch<P> | undefined {
    return this.items.length > 0 ? this.take(reason) : undefined;
  }

  private take(reason: Batch['reason']): Batch<P> {
    const batch = { items: this.items, reason };
    this.items = [];
    this.bytes = 0;
    this.firstAddedAt = undefined;
    return batch;
  }
}
