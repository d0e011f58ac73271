/**
 * Durable commits that do not stop the event loop. With `synchronous = FULL`, SQLite syncs the
 * write-ahead log inside the commit call: better-sqlite3 is synchronous, so the main thread waits
 * for the disk (measured under `bench:fhir` creates: a quarter of the node's main thread, during
 * which no request moved). Committing with `synchronous = NORMAL` writes the same WAL frames
 * without the sync; an `fdatasync` of the WAL file afterwards, on libuv's thread pool, makes them
 * exactly as durable as FULL would have (it is the call SQLite's unix VFS makes for FULL), while
 * the main thread goes on. The caller acknowledges nothing before that promise resolves.
 *
 * Why this is sound: in WAL mode, committed frames are only ever appended to the WAL until a
 * checkpoint has copied them into the database file and synced it (NORMAL syncs the WAL before
 * each checkpoint and the database after it), and SQLite deletes the WAL file only when its last
 * connection closes. So a sync of the WAL file after a commit returned covers that commit (or it
 * was checkpointed, synced, already).
 *
 * Group commit: a sync started before a commit does not cover it, so a commit made while one is
 * in flight waits for the next one; every commit made meanwhile shares that next sync (one fsync
 * per turn per file, whatever the number of connections and requests).
 */
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StoreError, StoreErrorCode } from './errors.js';

/**
 * The WAL syncs of one SQLite file (see the module comment); get the file's instance with
 * `walSyncOf(path)` so that every connection to it shares them.
 *
 * @example
 * db.transaction(write)(); // with synchronous = NORMAL
 * await walSyncOf(path).sync(); // now durable
 */
export class WalSync {
  /** The sync running now. */
  private running: Promise<void> | undefined;
  /** The sync that starts when `running` ends: it covers the commits made while it ran. */
  private queued: Promise<void> | undefined;
  private completedCount = 0;

  constructor(private readonly walPath: string) {}

  /** Syncs the WAL files completed since this one was made (for metrics and tests). */
  get completed(): number {
    return this.completedCount;
  }

  /**
   * Resolves once every commit made to the file before this call is on disk.
   *
   * @throws StoreError STORE_SYNC_FAILED (those commits are visible but not known to be on disk)
   */
  sync(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    if (this.running === undefined) return this.start();
    const queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    this.queued = queued;
    return queued;
  }

  private start(): Promise<void> {
    const running = this.syncOnce().finally(() => {
      if (this.running === running) this.running = undefined;
    });
    this.running = running;
    return running;
  }

  /** @throws StoreError STORE_SYNC_FAILED */
  private async syncOnce(): Promise<void> {
    try {
      // Opened for each sync, after the commits it covers: always the WAL file they were written to.
      const handle = await open(this.walPath, 'r+');
      try {
        await handle.datasync();
        this.completedCount++;
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw new StoreError(
        StoreErrorCode.SYNC_FAILED,
        `cannot sync ${this.walPath}: ${(error as Error).message}`,
      );
    }
  }
}

const byFile = new Map<string, WalSync>();

/**
 * The shared `WalSync` of the SQLite file at `databasePath` (WAL mode); undefined for
 * ':memory:' (nothing to sync).
 */
export function walSyncOf(databasePath: string): WalSync | undefined {
  if (databasePath === ':memory:') return undefined;
  const file = resolve(databasePath);
  let found = byFile.get(file);
  if (found === undefined) {
    found = new WalSync(`${file}-wal`);
    byFile.set(file, found);
  }
  return found;
}

/**
 * The `WalSync` of connection `db`'s file; undefined when nothing can be synced this way (an
 * in-memory or read-only database, or one not in WAL mode: its commits keep syncing themselves).
 */
export function walSyncOfConnection(db: {
  readonly name: string;
  readonly memory: boolean;
  readonly readonly: boolean;
  pragma(source: string, options: { simple: true }): unknown;
}): WalSync | undefined {
  if (db.memory || db.readonly) return undefined;
  if (db.pragma('journal_mode', { simple: true }) !== 'wal') return undefined;
  return walSyncOf(db.name);
}
