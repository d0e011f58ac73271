/**
 * SQLite checkpoints of a WAL-mode file, taken on a worker thread instead of inside the main
 * thread's commits. By default SQLite checkpoints in the commit that pushes the WAL past 1,000
 * pages: it copies the pages into the database file and syncs it, and better-sqlite3 being
 * synchronous, every request of the node waits meanwhile. The main connections set
 * `wal_autocheckpoint = 0`; this worker, with its own connection to the file, checkpoints instead.
 *
 * What it runs, every `pollMs` while the WAL file changes:
 * - `PASSIVE`: copies what it can without waiting for anyone (the main thread goes on committing);
 * - `RESTART` when the WAL holds `restartFrames` or more: under steady writes a passive
 *   checkpoint never catches up (frames keep arriving while it runs, and the WAL starts over only
 *   at a commit that finds every frame copied), so the WAL would grow without bound. RESTART holds the
 *   write lock while it copies the few frames committed since the passive one (the main thread's
 *   writers wait for that, briefly: far less than a whole checkpoint), then the next commit
 *   starts the WAL from its beginning;
 * - `TRUNCATE` once the file has been quiet for `idleMs`, and when the checkpointer closes: the
 *   WAL file shrinks to nothing (which also drops the bytes of erased records it still held).
 *
 * Durability is SQLite's own: a checkpoint syncs the WAL before it copies frames and the database
 * file after (synchronous = NORMAL on this connection), and the WAL starts over only once every
 * frame is in the synced database file; a process killed mid-checkpoint recovers from the WAL. So
 * the main thread's WAL syncs (wal-sync.ts) still cover every commit they follow. The worker's
 * busy timeout is short: it never keeps the main thread's writers waiting long, and a RESTART
 * that finds a reader gives up and is tried again at the next poll.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';

/** How often the worker looks at the WAL file. */
export const DEFAULT_POLL_MS = 200;
/** WAL frames (pages) past which a checkpoint that did not catch up is followed by a RESTART. */
export const DEFAULT_RESTART_FRAMES = 1000;
/** How long the WAL stays untouched before it is truncated. */
export const DEFAULT_IDLE_MS = 2000;
/** The worker's busy timeout for its RESTART and TRUNCATE checkpoints while the node runs. */
const WORKING_BUSY_TIMEOUT_MS = 100;
/** Its busy timeout for the final checkpoint, when the main connections stopped writing. */
const CLOSING_BUSY_TIMEOUT_MS = 5000;

/**
 * Environment variables that override the defaults (a test that wants checkpoints running all
 * the time, an operator tuning a node): positive integers, else ignored.
 */
export const POLL_MS_ENV_VAR = 'ROAM_WAL_CHECKPOINT_POLL_MS';
export const RESTART_FRAMES_ENV_VAR = 'ROAM_WAL_RESTART_FRAMES';

function positiveIntegerFromEnv(name: string): number | undefined {
  const value = Number(process.env[name]);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** The checkpoint modes the worker runs (https://www.sqlite.org/pragma.html#pragma_wal_checkpoint). */
export type CheckpointMode = 'PASSIVE' | 'RESTART' | 'TRUNCATE';

/** How a WalCheckpointer works; every field has a default (the first two: or the environment's). */
export interface WalCheckpointerOptions {
  /** The SQLite file (WAL mode, not ':memory:'). */
  readonly path: string;
  readonly pollMs?: number;
  readonly restartFrames?: number;
  readonly idleMs?: number;
}

/** Checkpoints the worker completed, by mode (for metrics and tests). */
export type CheckpointCounts = Record<CheckpointMode, number>;

/**
 * The worker: plain JavaScript (it runs the same from `dist/` and under a TypeScript loader), its
 * own better-sqlite3 connection to the file; see the module comment for what it runs and when.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
db.pragma('busy_timeout = ${WORKING_BUSY_TIMEOUT_MS}');
const walPath = workerData.path + '-wal';
function look() {
  try { const s = statSync(walPath); return s.size + ':' + s.mtimeMs; } catch { return 'none'; }
}
function checkpoint(mode) {
  const [result] = db.pragma('wal_checkpoint(' + mode + ')');
  // busy = 0: the mode did all it does (for RESTART/TRUNCATE: the WAL starts over).
  if (result.busy === 0) parentPort.postMessage({ checkpointed: mode });
  return result;
}
// Nothing seen yet: a WAL already there when the worker starts (commits made while it loaded, or
// left by an earlier process) is checkpointed at the first poll and truncated once idle, instead
// of waiting for the next write.
let seen = '';
let changedAt = Date.now();
let truncated = false;
function poll() {
  const now = Date.now();
  const state = look();
  if (state !== seen) {
    seen = state;
    changedAt = now;
    truncated = false;
    const passive = checkpoint('PASSIVE');
    // 'log' counts the frames when the passive checkpoint started; more came in since, surely
    // under load: only a RESTART makes the WAL start over.
    if (passive.log >= workerData.restartFrames) checkpoint('RESTART');
  } else if (!truncated && now - changedAt >= workerData.idleMs) {
    truncated = checkpoint('TRUNCATE').busy === 0;
    seen = look();
  }
}
const timer = setInterval(() => {
  try { poll(); } catch (error) { parentPort.postMessage({ error: String((error && error.message) || error) }); }
}, workerData.pollMs);
parentPort.on('message', (message) => {
  if (message.kind !== 'close') return;
  clearInterval(timer);
  try {
    db.pragma('busy_timeout = ${CLOSING_BUSY_TIMEOUT_MS}');
    checkpoint('TRUNCATE');
    db.close();
    parentPort.postMessage({ closed: true });
  } catch (error) {
    parentPort.postMessage({ closed: true, error: String((error && error.message) || error) });
  }
});
`;

interface WorkerReply {
  readonly checkpointed?: CheckpointMode;
  readonly closed?: boolean;
  readonly error?: string;
}

/**
 * The checkpoints of one SQLite file, on a worker thread (see the module comment). The main
 * connections to the file must set `wal_autocheckpoint = 0` (`FhirIndexStore`/`VaultStore`
 * option `autoCheckpoint: false`), or they go on checkpointing in their commits too.
 *
 * @example
 * const checkpoints = WalCheckpointer.start({ path });
 * // … the node commits to `path` …
 * await checkpoints.close(); // a final checkpoint; then close the main connections
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly counts: CheckpointCounts = { PASSIVE: 0, RESTART: 0, TRUNCATE: 0 };
  private lastError: string | undefined;
  /** The last poll failed, or the worker is gone before `close`: the WAL grows until it recovers. */
  private isFailing = false;
  /** The worker thread has ended (closed, or died). */
  private exited = false;
  private closing: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;

  private constructor(options: WalCheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        path: resolve(options.path),
        driver,
        pollMs: options.pollMs ?? positiveIntegerFromEnv(POLL_MS_ENV_VAR) ?? DEFAULT_POLL_MS,
        restartFrames:
          options.restartFrames ?? positiveIntegerFromEnv(RESTART_FRAMES_ENV_VAR) ?? DEFAULT_RESTART_FRAMES,
        idleMs: options.idleMs ?? DEFAULT_IDLE_MS,
      },
    });
    this.worker.on('message', (reply: WorkerReply) => {
      if (reply.checkpointed !== undefined) {
        this.counts[reply.checkpointed]++;
        this.isFailing = false;
      }
      // A failed checkpoint loses nothing (the frames stay in the WAL): the next poll tries again.
      if (reply.error !== undefined) {
        this.lastError = reply.error;
        this.isFailing = true;
      }
      if (reply.closed === true) this.resolveClosed?.();
    });
    this.worker.on('error', (error: Error) => {
      this.lastError = error.message;
      this.isFailing = true;
      this.resolveClosed?.();
    });
    this.worker.on('exit', () => {
      this.exited = true;
      // Gone without being closed: nothing checkpoints the file any more.
      if (this.closing === undefined) this.isFailing = true;
      this.resolveClosed?.();
    });
    // A node that forgets to close does not stay alive for its checkpoints.
    this.worker.unref();
  }

  /** Starts the checkpoints of the file at `options.path` (it must exist, in WAL mode). */
  static start(options: WalCheckpointerOptions): WalCheckpointer {
    return new WalCheckpointer(options);
  }

  /** Checkpoints completed so far, by mode. */
  get completed(): Readonly<CheckpointCounts> {
    return { ...this.counts };
  }

  /** The last checkpoint failure, if any (the next poll tries again). */
  get error(): string | undefined {
    return this.lastError;
  }

  /**
   * Whether checkpoints are failing now: the last attempt failed (until one succeeds), or the
   * worker stopped before `close`. The node shows it on `/readyz` and `/metrics`: its WAL then
   * grows with every write, and only the operator can act (disk, permissions, a restart).
   */
  get failing(): boolean {
    return this.isFailing;
  }

  /**
   * Stops the polls, runs a final TRUNCATE checkpoint and closes the worker's connection. Call it
   * once the main connections stopped writing, before they close: their own checkpoint at close
   * then finds nothing to copy.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolveClosed) => {
      // A worker that already died answers nothing: there is nothing left to close.
      if (this.exited) return resolveClosed();
      this.resolveClosed = resolveClosed;
      this.worker.ref();
      this.worker.postMessage({ kind: 'close' });
    }).then(() => this.worker.terminate().then(() => undefined));
    return this.closing;
  }
}
