import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { COMMIT_SQL, LOG_ROW_SPAN, commitRows, type BlockCommit } from './ledger-store.js';
import { StoreError, StoreErrorCode } from './errors.js';

/**
 * The worker: plain JavaScript (it runs the same from `dist/` and under a TypeScript loader),
 * its own better-sqlite3 connection to the node's file, the same SQL as LedgerStore. It is the
 * file's only writer while it runs — orderer-log appends and block commits, in the order they
 * were asked — so the main thread never waits for SQLite's write lock or an fsync.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
db.pragma('cache_size = -65536');
const s = {};
for (const [name, sql] of Object.entries(workerData.sql)) s[name] = db.prepare(sql);
let synchronous;
function setSynchronous(mode) {
  if (synchronous !== mode) { db.pragma('synchronous = ' + mode); synchronous = mode; }
}
const commit = db.transaction((rows) => {
  const head = s.headHeight.get().height;
  const expected = head === null ? 0 : head + 1;
  if (rows.height !== expected) throw new Error('block ' + rows.height + ' does not follow head ' + (expected - 1));
  s.insertBlock.run(rows.height, rows.hash, rows.header, rows.position);
  for (const tx of rows.txs) s.insertTx.run(rows.height, ...tx);
  for (const [key, value] of rows.writes) {
    if (value === null) s.delState.run(key); else s.putState.run(key, value, rows.height);
  }
  for (const [key, value] of rows.meta) s.setMeta.run(key, value);
  if (rows.logThrough !== null) s.truncateLog.run(rows.logThrough);
});
parentPort.on('message', (message) => {
  try {
    if (message.kind === 'commit') {
      setSynchronous('FULL');
      commit(message.rows);
      parentPort.postMessage({ id: message.id });
    } else if (message.kind === 'append') {
      setSynchronous('NORMAL');
      const seq = s.appendLog.get(message.envelopes.length, JSON.stringify(message.envelopes)).seq;
      parentPort.postMessage({ id: message.id, seq });
    } else if (message.kind === 'close') {
      db.close();
      parentPort.postMessage({ id: message.id });
    }
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: String((error && error.message) || error) });
  }
});
`;

interface Pending {
  readonly resolve: (reply: { seq?: number }) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Writes blocks and orderer-log entries on a worker thread. Durability is unchanged: a commit's
 * promise resolves only once SQLite has committed it (synchronous=FULL); callers acknowledge
 * nothing before that. Requests are served strictly in order; after a failure every later
 * request fails too (a gap in the chain must stop the node, not be skipped).
 */
export class BlockWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;

  private constructor(path: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver, sql: COMMIT_SQL } });
    this.worker.on('message', (reply: { id: number; seq?: number; error?: string }) => {
      const pending = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.error !== undefined) {
        this.fail(new StoreError(StoreErrorCode.WRITE_FAILED, `block writer: ${reply.error}`));
        pending?.reject(this.failure!);
      } else {
        pending?.resolve(reply);
      }
      if (this.pending.size === 0) this.worker.unref();
    });
    this.worker.on('error', (error: Error) => this.fail(error));
    this.worker.unref();
  }

  /** Starts a writer for the store file at `path` (not ':memory:'). */
  static start(path: string): BlockWriter {
    return new BlockWriter(path);
  }

  /** Commits a block; resolves once it is durable. */
  async commit(commit: BlockCommit): Promise<void> {
    await this.request({ kind: 'commit', rows: commitRows(commit) });
  }

  /** Appends envelopes to the orderer log as one row; resolves with their positions. */
  async appendLog(envelopes: readonly string[]): Promise<number[]> {
    if (envelopes.length === 0) return [];
    if (envelopes.length > LOG_ROW_SPAN) throw new RangeError(`at most ${LOG_ROW_SPAN} envelopes per append`);
    const { seq } = await this.request({ kind: 'append', envelopes });
    return envelopes.map((_, i) => seq! * LOG_ROW_SPAN + i);
  }

  /** Waits for every request so far, then closes the worker's connection and the worker. */
  async close(): Promise<void> {
    if (!this.failure) await this.request({ kind: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }

  private request(message: Record<string, unknown>): Promise<{ seq?: number }> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
  }
}
