import { BlockCutter, type Batch } from './block-cutter.js';
import { DEFAULT_BLOCK_LIMITS, type BlockLimits, type CutHandler, type Orderer } from './orderer.js';

/**
 * The durable log behind the local orderer (implemented by the node's store). Entries a block
 * consumed are deleted by that block's commit (atomically with it), not by the orderer.
 */
export interface OrdererLog {
  append(envelopes: readonly string[]): number[] | Promise<number[]>;
  readAfter(seq: number): Array<{ seq: number; envelope: string }>;
  truncateThrough(seq: number): void;
}

export interface LocalOrdererOptions {
  readonly log: OrdererLog;
  readonly limits?: Partial<BlockLimits>;
  /** Time of the last committed block: block times never go backwards. */
  readonly lastBlockTime?: number;
  readonly clock?: () => number;
}

/**
 * In-process ordering for a one-node network: submissions are appended to a durable log in the
 * node's SQLite file, cut into blocks by size or timeout, and delivered in order. After a crash,
 * entries past the last committed position are cut again, so nothing accepted is lost.
 */
export class LocalOrderer implements Orderer {
  readonly kind = 'local';
  private readonly cutter: BlockCutter;
  private readonly log: OrdererLog;
  private readonly clock: () => number;
  private lastTime: number;
  private onCut: CutHandler | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: Batch[] = [];
  private draining: Promise<void> | undefined;
  private closed = false;
  private failure: Error | undefined;

  constructor(options: LocalOrdererOptions) {
    this.log = options.log;
    this.cutter = new BlockCutter({ ...DEFAULT_BLOCK_LIMITS, ...options.limits });
    this.clock = options.clock ?? Date.now;
    this.lastTime = options.lastBlockTime ?? 0;
  }

  start(onCut: CutHandler, position: string | undefined): Promise<void> {
    this.onCut = onCut;
    const after = position === undefined ? 0 : Number(position);
    this.log.truncateThrough(after);
    for (const entry of this.log.readAfter(after)) this.accept(entry.envelope, entry.seq);
    return Promise.resolve();
  }

  async submit(envelopes: readonly string[]): Promise<void> {
    if (this.closed) throw this.failure ?? new Error('orderer is closed');
    if (envelopes.length === 0) return;
    const seqs = await this.log.append(envelopes);
    envelopes.forEach((envelope, i) => this.accept(envelope, seqs[i]!));
  }

  /** Waits until every cut so far has been delivered and handled. */
  async flush(): Promise<void> {
    const batch = this.cutter.cut('flush');
    if (batch) this.enqueue(batch);
    while (this.draining) await this.draining;
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.draining) await this.draining;
  }

  private accept(envelope: string, seq: number): void {
    const batch = this.cutter.add({ envelope, position: seq }, this.clock());
    if (batch) this.enqueue(batch);
    this.armTimer();
  }

  private armTimer(): void {
    const wait = this.cutter.msUntilTimeout(this.clock());
    if (wait === undefined) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const batch = this.cutter.cut('timeout');
      if (batch) this.enqueue(batch);
      this.armTimer();
    }, wait);
  }

  private enqueue(batch: Batch): void {
    this.queue.push(batch);
    this.draining ??= this.drain()
      .catch((error: unknown) => {
        // A block that cannot be committed stops ordering: going on would skip it.
        this.failure = error instanceof Error ? error : new Error(String(error));
        this.closed = true;
      })
      .finally(() => {
        this.draining = undefined;
      });
  }

  private async drain(): Promise<void> {
    // Deliver on a later turn of the event loop: a submitter gets its answer before the block
    // that holds its transactions executes, and concurrent submissions can join the queue.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (let batch = this.queue.shift(); batch; batch = this.queue.shift()) {
      if (!this.onCut) throw new Error('orderer not started');
      this.lastTime = Math.max(this.lastTime, this.clock());
      const lastSeq = batch.items[batch.items.length - 1]!.position;
      await this.onCut({ envelopes: batch.items.map((i) => i.envelope), time: this.lastTime, position: String(lastSeq) });
    }
  }
}
