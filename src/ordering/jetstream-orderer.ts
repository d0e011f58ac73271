import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { sha256Hex } from '../crypto/index.js';
import { BlockCutter, type Batch } from './block-cutter.js';
import { BLOCK_CLOCK_HOLD_MS, BLOCK_CLOCK_WARNING_MS, millisFromNanos, nextBlockTime } from './block-time.js';
import { connectToNats, type NatsClientCredentials } from './nats-connection.js';
import { createOrderingStream, orderingStreamExists, orderingSubjects } from './ordering-stream.js';
import { DEFAULT_BLOCK_LIMITS, type BlockLimits, type CutHandler, type Orderer } from './orderer.js';
import { OrderingError, OrderingErrorCode } from './errors.js';

/** Where a transaction sits in the stream: message sequence, its index there, the message's time. */
interface StreamPosition {
  readonly seq: number;
  /** Number of envelopes of message `seq` consumed once this item is: where to resume after it. */
  readonly next: number;
  readonly time: number;
}

export interface JetStreamOrdererOptions {
  /** NATS servers of the cluster, e.g. ["nats://127.0.0.1:4222", …]; the client fails over among them. */
  readonly servers: readonly string[];
  /** The network's chain id: names the stream and its subjects. */
  readonly chainId: string;
  /**
   * The last block the node holds when ordering starts (read at `start`, after any catch-up): the
   * first cut delivered is for `height + 1`, and block times never go below `time`.
   */
  readonly head: () => { readonly height: number; readonly time: number };
  /** Must be the same on every node of the network (they decide where blocks end). */
  readonly limits?: Partial<BlockLimits>;
  /** Stream replicas when this node creates the stream (3 for a 3-server cluster). */
  readonly replicas?: number;
  /** TLS CA and nkey user of a secured cluster (`roam network up`); none for an open one. */
  readonly credentials?: NatsClientCredentials;
  /**
   * Whether this node creates the stream when it is missing (default true). A member of a secured
   * network may not: it waits for the operator to create it, up to `connectTimeoutMs`.
   */
  readonly createStream?: boolean;
  /** How long to keep trying to reach JetStream at start (cluster forming, leader election). */
  readonly connectTimeoutMs?: number;
  readonly clock?: () => number;
  /** Operational log lines (never transaction contents). */
  readonly log?: (line: string) => void;
}

/** How often `drained` says it is still reading the stream. */
export const DRAIN_LOG_INTERVAL_MS = 30_000;

/** Largest message this orderer publishes: below nats-server's default max_payload of 1 MiB. */
export const MAX_MESSAGE_BYTES = 900 * 1024;

/**
 * Ordering on a NATS JetStream stream replicated across a cluster (R3 on three servers): every
 * node publishes the transactions it admits into one stream and consumes the whole stream in
 * order, so every node sees the same sequence. Blocks are cut deterministically from that
 * sequence: a block ends when it is full (count or bytes), or at the first cut marker for its
 * height. Any node publishes a marker when its pending block is older than the block timeout;
 * markers carry a message id per height, so the racing markers of several nodes are one.
 *
 * Message formats (UTF-8):
 * - `roam.<chain>.tx`: first line `{"t":<ms>}` (publisher's clock, ignored: see below), then one
 *   canonical JSON envelope per line (canonical JSON never contains a raw newline).
 * - `roam.<chain>.cut`: `{"height":<h>,"t":<ms>}` (`t` ignored).
 * A block's time is the JetStream server's timestamp of the message that ended it, bounded as
 * block-time.ts explains: every node computes the same, and no publisher chooses it.
 */
export class JetStreamOrderer implements Orderer {
  readonly kind = 'jetstream';
  readonly streamName: string;
  private readonly txSubject: string;
  private readonly cutSubject: string;
  private readonly cutter: BlockCutter<StreamPosition>;
  private readonly limits: BlockLimits;
  private readonly clock: () => number;
  private readonly log: (line: string) => void;
  private nextHeight: number;
  private lastTime: number;
  private lastClockWarning = 0;
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private messages: ConsumerMessages | undefined;
  private consuming: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private caughtUp = false;
  /** Messages of the stream this node has not received yet, as the last one delivered said. */
  private streamPending = 0;
  /** The last stream sequence whose transactions are all in cuts handed to the node (0: none yet). */
  private deliveredThrough = 0;
  private closed = false;
  private failure: Error | undefined;

  constructor(private readonly options: JetStreamOrdererOptions) {
    const subjects = orderingSubjects(options.chainId);
    this.streamName = subjects.stream;
    this.txSubject = subjects.tx;
    this.cutSubject = subjects.cut;
    this.limits = { ...DEFAULT_BLOCK_LIMITS, ...options.limits };
    this.cutter = new BlockCutter(this.limits);
    this.clock = options.clock ?? Date.now;
    this.log = options.log ?? (() => undefined);
    this.nextHeight = 1;
    this.lastTime = 0;
  }

  /** Connects, creates the stream if no node has yet (and it may), and consumes it from `position` on. */
  async start(onCut: CutHandler, position: string | undefined): Promise<void> {
    const head = this.options.head();
    this.nextHeight = head.height + 1;
    this.lastTime = head.time;
    const nc = await connectToNats({
      servers: this.options.servers,
      name: `roam-${this.options.chainId}`,
      ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
      reconnectForever: true,
    });
    this.nc = nc;
    try {
      await this.ensureStream(nc);
      this.js = jetstream(nc);
      const { seq, skip } = parsePosition(position);
      const consumer = await this.js.consumers.get(this.streamName, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: seq,
      });
      // Short pulls (heartbeat every 2.5 s): a consumer whose server went away notices within
      // seconds and resumes from the last sequence it saw, instead of after the 30 s default.
      this.messages = await consumer.consume({ max_messages: 512, expires: 5_000 });
      const messages = this.messages;
      this.consuming = (async () => {
        for await (const message of messages) {
          if (this.closed) break;
          await this.handle(message, onCut, seq, skip);
        }
      })().catch((error: unknown) => {
        // A block that cannot be committed stops ordering here: going on would skip it.
        this.failure = error instanceof Error ? error : new Error(String(error));
        this.log(`ordering stopped: ${this.failure.message}`);
        this.closed = true;
      });
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error;
    }
  }

  /** Publishes envelopes into the stream; resolves once JetStream has stored them on a quorum of servers. */
  async submit(envelopes: readonly string[]): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed || !this.js) throw new OrderingError(OrderingErrorCode.CLOSED, 'orderer is not running');
    const js = this.js;
    await Promise.all(
      chunk(envelopes, MAX_MESSAGE_BYTES).map((part) => {
        const body = `{"t":${this.clock()}}\n${part.join('\n')}`;
        // Content-derived id: a publish retried after a lost acknowledgement is stored once.
        const msgID = sha256Hex(body);
        return publishWithRetry(() => js.publish(this.txSubject, body, { msgID, timeout: 10_000 }));
      }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.messages?.stop();
    await this.consuming;
    await this.nc?.close().catch(() => undefined);
  }

  /** The NATS connection (for the node's other messages, e.g. attestations); undefined before start. */
  get connection(): NatsConnection | undefined {
    return this.nc;
  }

  /**
   * How this node follows the ordering stream, for its metrics and readiness: the messages still
   * after the last one it received (0 before the first), and whether ordering stopped on a block
   * it could not commit.
   */
  get streamStatus(): { readonly pendingMessages: number; readonly stopped: boolean } {
    return { pendingMessages: this.streamPending, stopped: this.failure !== undefined };
  }

  /**
   * Resolves once every transaction the stream held when called is in a cut handed to the node
   * (the block still pending at the end is cut by its marker, which this node publishes once it
   * is caught up). A node restarted after a crash waits for this before it decides which of its
   * writes were anchored: a transaction it published before the crash is then either in a block
   * or was never stored, and cannot commit later (see src/node/fhir/recovery.ts).
   *
   * A node far behind may read for long: it says so every DRAIN_LOG_INTERVAL_MS, and waits
   * without limit unless `timeoutMs` is given (failing the start would not make it catch up).
   *
   * @throws OrderingError ORDERING_UNAVAILABLE when that takes longer than `timeoutMs`; the error
   *   ordering stopped on, or ORDERER_CLOSED, when it stops meanwhile
   */
  async drained(timeoutMs?: number): Promise<void> {
    if (!this.nc) throw new OrderingError(OrderingErrorCode.CLOSED, 'orderer is not running');
    const jsm = await jetstreamManager(this.nc, { checkAPI: false });
    const end = (await jsm.streams.info(this.streamName)).state.last_seq;
    const started = this.clock();
    let lastLog = started;
    while (this.deliveredThrough < end) {
      if (this.failure) throw this.failure;
      if (this.closed) throw new OrderingError(OrderingErrorCode.CLOSED, 'orderer closed while draining the stream');
      const now = this.clock();
      if (timeoutMs !== undefined && now - started > timeoutMs)
        throw new OrderingError(OrderingErrorCode.UNAVAILABLE, `the ordering stream was not read to its end (${this.deliveredThrough} of ${end} messages) within ${timeoutMs} ms`);
      if (now - lastLog >= DRAIN_LOG_INTERVAL_MS) {
        lastLog = now;
        this.log(`reading the ordering stream to its end before write-path recovery: message ${this.deliveredThrough} of ${end}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** The height the next block will have, as this orderer sees the stream. */
  get pendingHeight(): number {
    return this.nextHeight;
  }

  private async ensureStream(nc: NatsConnection): Promise<void> {
    const deadline = this.clock() + (this.options.connectTimeoutMs ?? 60_000);
    const mayCreate = this.options.createStream ?? true;
    for (let attempt = 0; ; attempt++) {
      try {
        const jsm = await jetstreamManager(nc, { checkAPI: false });
        if (mayCreate) {
          const replicas = this.options.replicas ?? 1;
          if (await createOrderingStream(jsm, { chainId: this.options.chainId, replicas })) this.log(`created stream ${this.streamName} (${replicas} replicas)`);
          return;
        }
        if (await orderingStreamExists(jsm, this.streamName)) return;
        throw new OrderingError(OrderingErrorCode.UNAVAILABLE, `stream ${this.streamName} does not exist yet (the network operator creates it)`);
      } catch (error) {
        if (this.clock() > deadline) {
          throw new OrderingError(OrderingErrorCode.UNAVAILABLE, `JetStream not reachable at ${this.options.servers.join(', ')}: ${(error as Error).message}`);
        }
        if (attempt % 10 === 0) this.log(`waiting for JetStream: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  private async handle(message: JsMsg, onCut: CutHandler, startSeq: number, skip: number): Promise<void> {
    this.caughtUp = message.info.pending === 0;
    this.streamPending = message.info.pending;
    const text = message.string();
    // The server's stamp, replicated with the message: the same on every node, whatever `t` says.
    const time = millisFromNanos(message.timestampNanos);
    if (message.subject === this.cutSubject) {
      const height = parseMarkerHeight(text);
      // Only the first marker for the pending height cuts; later ones and stale ones are no-ops.
      if (height === this.nextHeight) {
        const batch = this.cutter.cut('timeout');
        if (batch) await this.deliver(batch, time, onCut);
      }
    } else if (message.subject === this.txSubject) {
      const newline = text.indexOf('\n');
      // A message not in the format is skipped whole, the same way on every node.
      if (newline > 0 && hasTimeField(text.slice(0, newline))) {
        const lines = text.slice(newline + 1).split('\n');
        const first = message.seq === startSeq ? skip : 0;
        for (let i = first; i < lines.length; i++) {
          const batch = this.cutter.add({ envelope: lines[i]!, position: { seq: message.seq, next: i + 1, time } }, this.clock());
          if (batch) await this.deliver(batch, time, onCut);
        }
      }
    }
    // Nothing of this message (or of any before it) waits in the cutter any more.
    if (this.cutter.pendingCount === 0) this.deliveredThrough = message.seq;
    this.armTimer();
  }

  private async deliver(batch: Batch<StreamPosition>, time: number, onCut: CutHandler): Promise<void> {
    const last = batch.items[batch.items.length - 1]!.position;
    this.nextHeight += 1;
    // The timer was for the block just cut; the next one arms its own.
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastTime = nextBlockTime({ previousHeight: this.nextHeight - 2, previousTime: this.lastTime, stampedTime: time });
    this.warnOnClockGap(this.lastTime);
    await this.holdWhileAhead(this.lastTime);
    if (this.closed) return;
    await onCut({ envelopes: batch.items.map((item) => item.envelope), time: this.lastTime, position: `${last.seq}:${last.next}` });
  }

  /**
   * Node-local only (never changes the block): a caught-up node whose clock is far from the
   * servers' stamps says so, at most once a minute. Either clock may be wrong; operators check both.
   */
  private warnOnClockGap(blockTime: number): void {
    const now = this.clock();
    if (!this.caughtUp || Math.abs(now - blockTime) <= BLOCK_CLOCK_WARNING_MS || now - this.lastClockWarning < 60_000) return;
    this.lastClockWarning = now;
    this.log(`warning: block ${this.nextHeight - 1} has time ${new Date(blockTime).toISOString()}, ${Math.round((blockTime - now) / 1000)} s from this node's clock`);
  }

  /**
   * Node-local (see block-time.ts): a block stamped further ahead of this node's clock than
   * BLOCK_CLOCK_HOLD_MS waits until the clock gets there, saying so once a minute.
   */
  private async holdWhileAhead(blockTime: number): Promise<void> {
    let lastLog = Number.NEGATIVE_INFINITY;
    while (!this.closed && blockTime - this.clock() > BLOCK_CLOCK_HOLD_MS) {
      const now = this.clock();
      if (now - lastLog >= 60_000) {
        lastLog = now;
        this.log(`holding block ${this.nextHeight - 1}: its time ${new Date(blockTime).toISOString()} is ${Math.round((blockTime - now) / 1000)} s ahead of this node's clock; check the clocks of the NATS servers and of this host`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }

  /** While this node is caught up and a block is pending, publish its cut marker when it times out. */
  private armTimer(): void {
    if (this.timer || this.closed || !this.caughtUp) return;
    const wait = this.cutter.msUntilTimeout(this.clock());
    if (wait === undefined) return;
    const height = this.nextHeight;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed || !this.js) return;
      if (this.nextHeight !== height || this.cutter.pendingCount === 0) return this.armTimer();
      const body = JSON.stringify({ height, t: this.clock() });
      this.js.publish(this.cutSubject, body, { msgID: `${this.streamName}-cut-${height}`, timeout: 10_000 }).then(
        () => this.armTimer(),
        (error: unknown) => {
          this.log(`cut marker for block ${height} not published: ${(error as Error).message}`);
          this.armTimer();
        },
      );
    }, wait);
  }
}

/** `seq:next` → where to start consuming; no position → the stream's first message. */
function parsePosition(position: string | undefined): { seq: number; skip: number } {
  if (position === undefined) return { seq: 1, skip: 0 };
  const match = /^(\d+):(\d+)$/.exec(position);
  if (!match) throw new OrderingError(OrderingErrorCode.BAD_POSITION, `"${position}" is not a JetStream position (seq:index)`);
  return { seq: Number(match[1]), skip: Number(match[2]) };
}

/** The first line of a transaction message: `{"t":<integer>}` (kept for the format; the value is not used). */
function hasTimeField(line: string): boolean {
  try {
    const value = JSON.parse(line) as { t?: unknown };
    return typeof value.t === 'number' && Number.isSafeInteger(value.t);
  } catch {
    return false;
  }
}

/** A marker's height; like a transaction message, a marker without its integer `t` is not in the format. */
function parseMarkerHeight(text: string): number | undefined {
  try {
    const value = JSON.parse(text) as { height?: unknown; t?: unknown };
    if (typeof value.t !== 'number' || !Number.isSafeInteger(value.t)) return undefined;
    return typeof value.height === 'number' && Number.isSafeInteger(value.height) ? value.height : undefined;
  } catch {
    return undefined;
  }
}

/** Splits envelopes into runs whose joined size stays under `maxBytes` (one envelope may exceed it alone). */
function chunk(envelopes: readonly string[], maxBytes: number): string[][] {
  const parts: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const envelope of envelopes) {
    if (current.length > 0 && size + envelope.length + 1 > maxBytes) {
      parts.push(current);
      current = [];
      size = 0;
    }
    current.push(envelope);
    size += envelope.length + 1;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

/** Retries a publish through a server failover (same message id: stored once). */
async function publishWithRetry<T>(publish: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await publish();
    } catch (error) {
      if (attempt >= attempts) throw new OrderingError(OrderingErrorCode.UNAVAILABLE, `JetStream did not acknowledge: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}
