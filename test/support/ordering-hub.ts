/**
 * In-process ordering shared by several RoamNodes of one test network: every node's orderer
 * hands its submissions to one hub, which cuts blocks (by timeout) and delivers the same cuts,
 * in the same order, to every node. Ordering is not what these tests test: this is the smallest
 * thing that gives every node the same chain (the network orderer is NATS JetStream).
 *
 * @example
 * const hub = new OrderingHub();
 * const node = await RoamNode.open({ dataDir, orderer: hub.orderer });
 */
import type { BlockCut, CutHandler, Orderer } from '../../src/ordering/index.js';
import type { OrdererContext } from '../../src/node/roam-node.js';

/** The hub: one log of cuts, delivered to every member. */
export class OrderingHub {
  private readonly cuts: BlockCut[] = [];
  private readonly members = new Set<HubOrderer>();
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastTime = 0;

  /** @param timeoutMs how long a submission waits for its block to be cut */
  constructor(private readonly timeoutMs = 5) {}

  /** The orderer factory to pass to `RoamNode.open`. */
  readonly orderer = (_context: OrdererContext): Orderer => new HubOrderer(this);

  /** How many blocks were cut. */
  get height(): number {
    return this.cuts.length;
  }

  cutsAfter(position: number): readonly BlockCut[] {
    return this.cuts.slice(position);
  }

  join(member: HubOrderer): void {
    this.members.add(member);
  }

  leave(member: HubOrderer): void {
    this.members.delete(member);
  }

  append(envelopes: readonly string[]): void {
    this.pending.push(...envelopes);
    this.timer ??= setTimeout(() => this.cut(), this.timeoutMs);
  }

  private cut(): void {
    this.timer = undefined;
    if (this.pending.length === 0) return;
    this.lastTime = Math.max(this.lastTime, Date.now());
    this.cuts.push({ envelopes: this.pending, time: this.lastTime, position: String(this.cuts.length + 1) });
    this.pending = [];
    for (const member of this.members) member.deliver();
  }
}

/** One node's view of the hub. */
class HubOrderer implements Orderer {
  readonly kind = 'local';
  private onCut: CutHandler | undefined;
  private next = 0;
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly hub: OrderingHub) {}

  start(onCut: CutHandler, position: string | undefined): Promise<void> {
    this.onCut = onCut;
    this.next = position === undefined ? 0 : Number(position);
    this.hub.join(this);
    this.deliver();
    return Promise.resolve();
  }

  submit(envelopes: readonly string[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('orderer is closed'));
    this.hub.append(envelopes);
    return Promise.resolve();
  }

  /** Hands the cuts this node has not seen to it, one at a time. */
  deliver(): void {
    this.draining ??= (async () => {
      for (;;) {
        const [cut] = this.hub.cutsAfter(this.next);
        if (cut === undefined || this.closed || this.onCut === undefined) return;
        await this.onCut(cut);
        this.next++;
      }
    })()
      .catch(() => {
        this.closed = true; // the node's ledger failed; it reports that itself
      })
      .finally(() => {
        this.draining = undefined;
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.leave(this);
    await this.draining?.catch(() => undefined);
  }
}
