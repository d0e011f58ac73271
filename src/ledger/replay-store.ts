import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { ExecutedBlock, ReplayIndex } from './executor.js';
import type { FolderPage } from './folder-keys.js';
import type { StateSource } from './state-view.js';

/** Pages of the scratch file SQLite keeps in the process by default (the rest stay in the OS page cache). */
export const REPLAY_CACHE_BYTES = 64 * 2 ** 20;

/**
 * The scratch world state `roam ledger verify` re-executes the chain into: the state rows and
 * the spent (signer, nonce) pairs, nothing else. Blocks and envelopes stay in the store being
 * verified (re-reading them is what verification is), so a replay does not copy every envelope a
 * second time.
 *
 * It lives in a temporary file (deleted on `close`), with SQLite's page cache bounded
 * (`REPLAY_CACHE_BYTES`): the replay of the 568k-transaction bench ledger rebuilds 4.4M state
 * rows, which an in-memory database held in the process (3.1 GB RSS, over the 1 GB target). No
 * journal and no fsync (a crash loses only the scratch copy), and all blocks go into one open
 * SQLite transaction (a block's commit is a few row writes, not a write of its dirty pages to the
 * file; SQLite spills pages to the file when its cache is full): that keeps its cost near the
 * in-memory store's.
 */
export class ReplayStore implements StateSource, ReplayIndex {
  private readonly statements;
  private readonly commitTx: (block: ExecutedBlock) => void;

  private constructor(
    private readonly db: Database.Database,
    /** The scratch file (in a folder of its own, removed on `close`). */
    readonly path: string,
  ) {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma(`cache_size = -${Math.floor(REPLAY_CACHE_BYTES / 1024)}`);
    db.exec(`
      CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL, height INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE spent (signer TEXT NOT NULL, nonce TEXT NOT NULL, PRIMARY KEY (signer, nonce)) WITHOUT ROWID;
    `);
    this.statements = {
      get: db.prepare<[string], string>('SELECT value FROM state WHERE key = ?').pluck(),
      // Prefix scan as a key range, as LedgerStore.rangeState does: the same rows in the same order.
      range: db.prepare<[string, string], [string, string]>('SELECT key, value FROM state WHERE key >= ? AND key < ? ORDER BY key').raw(),
      // A page of a folder's keys: the first one from the folder's start, the next ones after a key.
      firstKeys: db.prepare<[string, string, number], string>('SELECT key FROM state WHERE key >= ? AND key < ? ORDER BY key LIMIT ?').pluck(),
      keysAfter: db.prepare<[string, string, number], string>('SELECT key FROM state WHERE key > ? AND key < ? ORDER BY key LIMIT ?').pluck(),
      all: db.prepare<[], { key: string; value: string; height: number }>('SELECT key, value, height FROM state ORDER BY key'),
      isSpent: db.prepare<[string, string], number>('SELECT 1 FROM spent WHERE signer = ? AND nonce = ?').pluck(),
      put: db.prepare<[string, string, number]>(
        'INSERT INTO state (key, value, height) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, height = excluded.height',
      ),
      del: db.prepare<[string]>('DELETE FROM state WHERE key = ?'),
      spend: db.prepare<[string, string]>('INSERT OR IGNORE INTO spent (signer, nonce) VALUES (?, ?)'),
    };
    this.commitTx = (block: ExecutedBlock) => {
      const height = block.header.height;
      for (const [key, value] of block.writes) {
        if (value === null) this.statements.del.run(key);
        else this.statements.put.run(key, value, height);
      }
      for (const tx of block.txs) if (tx.spent) this.statements.spend.run(tx.signer, tx.nonce);
    };
    // Ended by `iterateState` or `close`.
    db.exec('BEGIN');
  }

  /** A fresh, empty scratch store in a new temporary folder. */
  static create(): ReplayStore {
    const folder = mkdtempSync(join(tmpdir(), 'roam-verify-'));
    const path = join(folder, 'replay.sqlite');
    try {
      return new ReplayStore(new Database(path), path);
    } catch (error) {
      rmSync(folder, { recursive: true, force: true });
      throw error;
    }
  }

  get(key: string): string | undefined {
    return this.statements.get.get(key);
  }

  range(prefix: string): Array<[string, string]> {
    return this.statements.range.all(prefix, prefix + '\uffff');
  }

  folderPage(folder: string, after: string | undefined, limit: number): FolderPage {
    const keys =
      after === undefined ? this.statements.firstKeys.all(folder, folder + '\uffff', limit) : this.statements.keysAfter.all(after, folder + '\uffff', limit);
    return { keys, next: keys.length < limit ? undefined : keys[keys.length - 1] };
  }

  isSpent(signer: string, nonce: string): boolean {
    return this.statements.isSpent.get(signer, nonce) !== undefined;
  }

  /** Writes a re-executed block's state changes and spent pairs (visible to the next reads at once). */
  commit(block: ExecutedBlock): void {
    this.commitTx(block);
  }

  /** Every state row in key order (SQLite's order, as `LedgerStore.iterateState`). */
  iterateState(): IterableIterator<{ key: string; value: string; height: number }> {
    if (this.db.inTransaction) this.db.exec('COMMIT');
    return this.statements.all.iterate();
  }

  /** Closes the database and deletes the scratch file. */
  close(): void {
    if (this.db.open) this.db.close();
    rmSync(dirname(this.path), { recursive: true, force: true });
  }
}
