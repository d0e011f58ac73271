/**
 * Opening one of the node's SQLite files the way they all are: owner-only (file-mode.ts), WAL,
 * `synchronous = NORMAL` (a killed process loses nothing committed; a power loss may lose the
 * last commits), `secure_delete` (deleted rows are overwritten, not only unlinked), and a busy
 * timeout for a second connection to the same file.
 */
import Database from 'better-sqlite3';
import { StoreError, StoreErrorCode } from './errors.js';
import { ensureOwnerOnlyDatabaseFile } from './file-mode.js';

/** How long a statement waits for another connection's write lock. */
export const BUSY_TIMEOUT_MS = 5000;

/** How a store opens its SQLite file. */
export interface StoreFileOptions {
  /**
   * false: this connection never checkpoints in its commits (`wal_autocheckpoint = 0`), because a
   * `WalCheckpointer` (wal-checkpointer.ts) checkpoints the file on a worker thread. Default true:
   * SQLite's automatic checkpoint, for a file nobody else checkpoints.
   */
  readonly autoCheckpoint?: boolean;
}

/**
 * Runs `fn` in a transaction that takes the write lock when it begins (BEGIN IMMEDIATE; inside an
 * open transaction, a savepoint of it). Every write transaction to a file that a
 * `WalCheckpointer` checkpoints must be one: its RESTART holds the write lock for a moment, and
 * a deferred transaction that has read already and then wants to write gets SQLITE_BUSY at once
 * (SQLite cannot wait there without risking a deadlock), where BEGIN IMMEDIATE waits (busy timeout).
 */
export function writeTransaction<T>(db: Database.Database, fn: () => T): T {
  return db.transaction(fn).immediate();
}

/** Hands the connection's checkpoints to a `WalCheckpointer` when `options` say so. */
export function applyCheckpointOption(db: Database.Database, options: StoreFileOptions): void {
  if (options.autoCheckpoint === false) db.pragma('wal_autocheckpoint = 0');
}

/**
 * Opens (creating it 0600 if needed) the SQLite file at `path` (':memory:' for a scratch one).
 *
 * @throws StoreError STORE_OPEN_FAILED
 */
export function openDatabaseFile(path: string, options: StoreFileOptions = {}): Database.Database {
  let db: Database.Database;
  try {
    ensureOwnerOnlyDatabaseFile(path);
    db = new Database(path);
  } catch (error) {
    throw new StoreError(StoreErrorCode.OPEN_FAILED, `cannot open ${path}: ${(error as Error).message}`);
  }
  if (path !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('secure_delete = ON');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  applyCheckpointOption(db, options);
  return db;
}
