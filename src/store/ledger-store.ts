import Database from 'better-sqlite3';
import { sha256Hex } from '../crypto/index.js';
import { StoreError, StoreErrorCode } from './errors.js';
import { ensureOwnerOnlyDatabaseFile } from './file-mode.js';

const SCHEMA_VERSION = '2';
/** Positions per orderer-log row: a submission holds at most this many envelopes. */
export const LOG_ROW_SPAN = 65_536;
const LOG_ROW_SPAN_SQL = String(LOG_ROW_SPAN);
const TX_COLUMNS = 'height, idx, id, signer, nonce, envelope, code, message, spent';
const TX_ID_PATTERN = /^[0-9a-f]{64}$/;
/** Hex digits of a hash kept as an integer index key: 48 bits, a safe JavaScript integer. */
const KEY_HEX_DIGITS = 12;

function idKey(id: string): number {
  return parseInt(id.slice(0, KEY_HEX_DIGITS), 16);
}

/** The 48-bit key the (signer, nonce) pair of a spent transaction is indexed by. */
export function nonceKey(signer: string, nonce: string): number {
  return parseInt(sha256Hex(`${signer}\n${nonce}`).slice(0, KEY_HEX_DIGITS), 16);
}
/**
 * SQLite's page cache of a ledger connection, in KiB. Pages of the file below STORE_MMAP_BYTES are
 * read through the mapping and not copied here; the cache holds pages past it, WAL frames and the
 * pages a write changes. It was 256 MiB; block commits now run on the writer's connection
 * (block-writer.ts, its own 64 MiB), and the node's heap is what the rest of its memory is for.
 */
export const STORE_CACHE_KIB = 64 * 1024;
/**
 * Bytes of the ledger file SQLite maps into the process. Every page a read touches stays resident
 * and counts in the node's RSS: with 1 GiB mapped, a 4.5 GB ledger (1M transactions) could hold
 * 1 GiB of RSS through the mapping alone, plus the page cache. Reads past the mapping go through
 * the operating system's file cache (shared, reclaimable, not in the node's RSS) and SQLite's page
 * cache above. Measured on a 20k-transaction ledger (82 MB): 300k random state reads grew RssAnon by
 * 25 MiB with the file mapped, by 101 MiB with nothing mapped (the page cache filled instead).
 */
export const STORE_MMAP_BYTES = 256 * 1024 * 1024;

/**
 * The statements that write a block, shared by the store (same-thread commits) and the block
 * writer's worker thread (`block-writer.ts`), so both write exactly the same rows.
 */
export const COMMIT_SQL = {
  headHeight: 'SELECT max(height) AS height FROM blocks',
  insertBlock: 'INSERT INTO blocks (height, hash, header, position) VALUES (?, ?, ?, ?)',
  insertTx:
    'INSERT INTO txs (height, idx, id, signer, nonce, envelope, code, message, spent, id_key, nonce_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  putState:
    'INSERT INTO state (key, value, height) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, height = excluded.height',
  delState: 'DELETE FROM state WHERE key = ?',
  setMeta: 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  appendLog: 'INSERT INTO orderer_log (count, envelopes) VALUES (?, ?) RETURNING seq',
  truncateLog: `DELETE FROM orderer_log WHERE seq * ${LOG_ROW_SPAN_SQL} + count - 1 <= ?`,
} as const;

/** A block as the rows that store it: plain data, so it can be posted to a worker thread. */
export interface CommitRows {
  readonly height: number;
  readonly hash: string;
  readonly header: string;
  readonly position: string | null;
  /** [idx, id, signer, nonce, envelope, code, message, spent, idKey, nonceKey] */
  readonly txs: ReadonlyArray<readonly [number, string, string, string, string, string, string | null, number, number, number | null]>;
  readonly writes: ReadonlyArray<readonly [string, string | null]>;
  readonly meta: ReadonlyArray<readonly [string, string]>;
  /** Orderer-log rows at or before this position are deleted with the block (see truncateLog). */
  readonly logThrough: number | null;
}

export function commitRows(commit: BlockCommit): CommitRows {
  return {
    height: commit.block.height,
    hash: commit.block.hash,
    header: commit.block.header,
    position: commit.block.position ?? null,
    txs: commit.txs.map(
      (tx) =>
        [
          tx.idx,
          tx.id,
          tx.signer,
          tx.nonce,
          tx.envelope,
          tx.code,
          tx.message,
          tx.spent,
          idKey(tx.id),
          tx.spent ? nonceKey(tx.signer, tx.nonce) : null,
        ] as const,
    ),
    writes: [...commit.writes],
    meta: Object.entries(commit.meta ?? {}),
    logThrough: commit.logThrough ?? null,
  };
}

/** One transaction of a block, as stored. */
export interface StoredTx {
  readonly height: number;
  readonly idx: number;
  readonly id: string;
  readonly signer: string;
  readonly nonce: string;
  /** Canonical JSON of the signed envelope. */
  readonly envelope: string;
  readonly code: string;
  readonly message: string | null;
  /** 1 when the signature was valid, so the (signer, nonce) pair is spent. */
  readonly spent: 0 | 1;
}

export interface StoredBlock {
  readonly height: number;
  readonly hash: string;
  /** Canonical JSON of the block header. */
  readonly header: string;
  /**
   * Ordering position just after this block (opaque to the store): where a node that holds the
   * chain up to here resumes consuming the ordering log. Node-local data, not part of the hash.
   */
  readonly position?: string | null;
}

export interface BlockCommit {
  readonly block: StoredBlock;
  readonly txs: ReadonlyArray<Omit<StoredTx, 'height'>>;
  /** Key → canonical JSON value, or null to delete. */
  readonly writes: ReadonlyMap<string, string | null>;
  /** Extra metadata committed atomically with the block (e.g. the orderer's position). */
  readonly meta?: Readonly<Record<string, string>>;
  /** Orderer-log position this block consumed through: those log rows go with the commit. */
  readonly logThrough?: number;
}

/**
 * The node's SQLite file: blocks, transactions, world state, metadata and the local orderer's log.
 * A block, its transactions and its state changes commit in one SQLite transaction (WAL,
 * synchronous=FULL), so a crash at any point leaves either all of a block or none of it.
 */
export class LedgerStore {
  readonly db: Database.Database;
  private readonly statements;
  private readonly commitTx: (rows: CommitRows) => void;
  private readonly memory: boolean;
  private synchronous: 'FULL' | 'NORMAL' | undefined;

  private constructor(db: Database.Database) {
    this.db = db;
    this.memory = db.memory || db.readonly;
    db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
      CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, header TEXT NOT NULL, position TEXT) STRICT;
      CREATE TABLE IF NOT EXISTS txs (
        height INTEGER NOT NULL, idx INTEGER NOT NULL, id TEXT NOT NULL, signer TEXT NOT NULL, nonce TEXT NOT NULL,
        envelope TEXT NOT NULL, code TEXT NOT NULL, message TEXT, spent INTEGER NOT NULL,
        id_key INTEGER NOT NULL, nonce_key INTEGER,
        PRIMARY KEY (height, idx)) STRICT;
      -- Lookups go through 48-bit integer prefixes of SHA-256 (cheap B-tree inserts), then compare
      -- the full id / (signer, nonce), so a prefix collision costs a row read, never a wrong answer.
      CREATE INDEX IF NOT EXISTS txs_by_id_key ON txs (id_key);
      CREATE INDEX IF NOT EXISTS txs_by_nonce_key ON txs (nonce_key) WHERE nonce_key IS NOT NULL;
      CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL, height INTEGER NOT NULL) STRICT;
      -- One row per submission: a JSON array of envelopes (one insert, not one per transaction).
      CREATE TABLE IF NOT EXISTS orderer_log (seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, envelopes TEXT NOT NULL) STRICT;
    `);
    const version = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get('schema');
    if (!version) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
    else if (version.value === '1') {
      // Schema 1 → 2: blocks remember the ordering position after them (for peers catching up).
      db.transaction(() => {
        db.exec('ALTER TABLE blocks ADD COLUMN position TEXT');
        db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(SCHEMA_VERSION, 'schema');
      })();
    } else if (version.value !== SCHEMA_VERSION) {
      throw new StoreError(StoreErrorCode.SCHEMA_MISMATCH, `store schema ${version.value}, this build reads ${SCHEMA_VERSION}`);
    }
    this.statements = {
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare<[string, string]>(COMMIT_SQL.setMeta),
      head: db.prepare<[], StoredBlock>('SELECT height, hash, header, position FROM blocks ORDER BY height DESC LIMIT 1'),
      block: db.prepare<[number], StoredBlock>('SELECT height, hash, header, position FROM blocks WHERE height = ?'),
      blockByHash: db.prepare<[string], StoredBlock>('SELECT height, hash, header, position FROM blocks WHERE hash = ?'),
      blocksFrom: db.prepare<[number, number], StoredBlock>('SELECT height, hash, header, position FROM blocks WHERE height >= ? ORDER BY height LIMIT ?'),
      insertBlock: db.prepare<[number, string, string, string | null]>(COMMIT_SQL.insertBlock),
      headHeight: db.prepare<[], { height: number | null }>(COMMIT_SQL.headHeight),
      blockTxs: db.prepare<[number], StoredTx>(`SELECT ${TX_COLUMNS} FROM txs WHERE height = ? ORDER BY idx`),
      txById: db.prepare<[number, string], StoredTx>(
        `SELECT ${TX_COLUMNS} FROM txs WHERE id_key = ? AND id = ? ORDER BY spent DESC, height, idx LIMIT 1`,
      ),
      insertTx: db.prepare<[number, number, string, string, string, string, string, string | null, number, number, number | null]>(
        COMMIT_SQL.insertTx,
      ),
      nonceSpent: db.prepare<[number, string, string], { one: number }>(
        'SELECT 1 AS one FROM txs WHERE nonce_key = ? AND signer = ? AND nonce = ?',
      ),
      spentNonceKeys: db.prepare<[], number>('SELECT nonce_key FROM txs WHERE nonce_key IS NOT NULL').pluck(),
      getState: db.prepare<[string], { value: string }>('SELECT value FROM state WHERE key = ?'),
      // Many keys in one statement (a JSON array of keys): e.g. the anchors of a roaming answer.
      getStates: db.prepare<[string], { key: string; value: string }>(
        'SELECT key, value FROM state WHERE key IN (SELECT value FROM json_each(?))',
      ),
      getStateRow: db.prepare<[string], { value: string; height: number }>('SELECT value, height FROM state WHERE key = ?'),
      // Prefix scan as a key range: keys in [prefix, prefix + U+FFFF) share the prefix.
      rangeState: db.prepare<[string, string], { key: string; value: string }>(
        'SELECT key, value FROM state WHERE key >= ? AND key < ? ORDER BY key',
      ),
      // A page of a folder's keys (from its start, or after a key): lets a reader stop early.
      firstStateKeys: db.prepare<[string, string, number], string>('SELECT key FROM state WHERE key >= ? AND key < ? ORDER BY key LIMIT ?').pluck(),
      stateKeysAfter: db.prepare<[string, string, number], string>('SELECT key FROM state WHERE key > ? AND key < ? ORDER BY key LIMIT ?').pluck(),
      allState: db.prepare<[], { key: string; value: string; height: number }>('SELECT key, value, height FROM state ORDER BY key'),
      putState: db.prepare<[string, string, number]>(COMMIT_SQL.putState),
      delState: db.prepare<[string]>(COMMIT_SQL.delState),
      appendLog: db.prepare<[number, string], { seq: number }>(COMMIT_SQL.appendLog),
      readLog: db.prepare<[number], { seq: number; envelopes: string }>('SELECT seq, envelopes FROM orderer_log WHERE seq >= ? ORDER BY seq'),
      truncateLog: db.prepare<[number]>(COMMIT_SQL.truncateLog),
    };
    this.commitTx = db.transaction((rows: CommitRows) => {
      const expected = (this.statements.headHeight.get()?.height ?? -1) + 1;
      if (rows.height !== expected) {
        throw new StoreError(StoreErrorCode.HEIGHT_MISMATCH, `block ${rows.height} does not follow head ${expected - 1}`);
      }
      this.statements.insertBlock.run(rows.height, rows.hash, rows.header, rows.position);
      for (const tx of rows.txs) this.statements.insertTx.run(rows.height, ...tx);
      for (const [key, value] of rows.writes) {
        if (value === null) this.statements.delState.run(key);
        else this.statements.putState.run(key, value, rows.height);
      }
      for (const [key, value] of rows.meta) this.statements.setMeta.run(key, value);
      if (rows.logThrough !== null) this.statements.truncateLog.run(rows.logThrough);
    });
  }

  /** Opens (creating if needed) a store at `path`, or an in-memory one for ':memory:'. */
  /** Path of the SQLite file (':memory:' for an in-memory store). */
  get path(): string {
    return this.db.name;
  }

  static open(path: string, options: { readonly?: boolean } = {}): LedgerStore {
    let db: Database.Database;
    try {
      if (!options.readonly) ensureOwnerOnlyDatabaseFile(path);
      db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    } catch (error) {
      throw new StoreError(StoreErrorCode.OPEN_FAILED, `cannot open store ${path}: ${(error as Error).message}`);
    }
    if (!options.readonly && path !== ':memory:') {
      db.pragma('journal_mode = WAL');
    }
    db.pragma('busy_timeout = 5000');
    // Ledger tables are indexed by hashes and DIDs, i.e. random keys: a page cache far above
    // SQLite's 2 MB default keeps B-tree inserts and lookups off the disk.
    db.pragma(`cache_size = -${STORE_CACHE_KIB}`);
    db.pragma(`mmap_size = ${STORE_MMAP_BYTES}`);
    return new LedgerStore(db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  getMeta(key: string): string | undefined {
    return this.statements.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.statements.setMeta.run(key, value);
  }

  head(): StoredBlock | undefined {
    return this.statements.head.get();
  }

  getBlock(height: number): StoredBlock | undefined {
    return this.statements.block.get(height);
  }

  getBlockByHash(hash: string): StoredBlock | undefined {
    return this.statements.blockByHash.get(hash);
  }

  /** Up to `limit` blocks from `height` on, in order. */
  getBlocksFrom(height: number, limit: number): StoredBlock[] {
    return this.statements.blocksFrom.all(height, limit);
  }

  getBlockTxs(height: number): StoredTx[] {
    return this.statements.blockTxs.all(height);
  }

  /** The transaction with this id (its valid occurrence, when a replay of it was also included). */
  getTx(id: string): StoredTx | undefined {
    if (!TX_ID_PATTERN.test(id)) return undefined;
    return this.statements.txById.get(idKey(id), id);
  }

  isNonceSpent(signer: string, nonce: string): boolean {
    return this.isNonceKeySpent(nonceKey(signer, nonce), signer, nonce);
  }

  /** `isNonceSpent` when the caller holds the pair's `nonceKey` already. */
  isNonceKeySpent(key: number, signer: string, nonce: string): boolean {
    return this.statements.nonceSpent.get(key, signer, nonce) !== undefined;
  }

  /** The `nonceKey` of every spent pair (read from the index alone). */
  spentNonceKeys(): Iterable<number> {
    return this.statements.spentNonceKeys.iterate();
  }

  getState(key: string): string | undefined {
    return this.statements.getState.get(key)?.value;
  }

  /** The values of those of `keys` that are set, by key (one query). */
  getStates(keys: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    if (keys.length === 0) return out;
    for (const row of this.statements.getStates.all(JSON.stringify(keys))) out.set(row.key, row.value);
    return out;
  }

  getStateRow(key: string): { value: string; height: number } | undefined {
    return this.statements.getStateRow.get(key);
  }

  rangeState(prefix: string): Array<[string, string]> {
    return this.statements.rangeState.all(prefix, prefix + '\uffff').map((row) => [row.key, row.value]);
  }

  /**
   * Up to `limit` keys under `folder`, ascending, after `after` (from the folder's start when
   * undefined); `next` is the last key when more may follow (the ledger's `FolderPage`).
   */
  stateKeysPage(folder: string, after: string | undefined, limit: number): { keys: string[]; next: string | undefined } {
    const end = folder + '\uffff';
    const keys = after === undefined ? this.statements.firstStateKeys.all(folder, end, limit) : this.statements.stateKeysAfter.all(after, end, limit);
    return { keys, next: keys.length < limit ? undefined : keys[keys.length - 1] };
  }

  /** Every state row in key order (for verification). */
  *iterateState(): IterableIterator<{ key: string; value: string; height: number }> {
    yield* this.statements.allState.iterate();
  }

  /** Commits a block, its transactions and its writes atomically. */
  commitBlock(commit: BlockCommit): void {
    this.setSynchronous('FULL');
    this.commitTx(commitRows(commit));
  }

  /**
   * WAL durability per kind of write: a committed block is fsynced (FULL); an orderer-log append
   * (accepted, not yet committed) survives a killed process at once (NORMAL) and power loss from
   * the next block commit on, whose WAL sync covers the frames before it.
   */
  private setSynchronous(mode: 'FULL' | 'NORMAL'): void {
    if (this.memory || this.synchronous === mode) return;
    this.db.pragma(`synchronous = ${mode}`);
    this.synchronous = mode;
  }

  /**
   * Appends envelopes to the local orderer's durable log as one row; returns their positions,
   * `row × LOG_ROW_SPAN + offset`, increasing across calls.
   */
  appendLog(envelopes: readonly string[]): number[] {
    if (envelopes.length === 0) return [];
    if (envelopes.length > LOG_ROW_SPAN) throw new RangeError(`at most ${LOG_ROW_SPAN} envelopes per append`);
    this.setSynchronous('NORMAL');
    const seq = this.statements.appendLog.get(envelopes.length, JSON.stringify(envelopes))!.seq;
    return envelopes.map((_, i) => seq * LOG_ROW_SPAN + i);
  }

  /** Log entries after `position`, in order. */
  readLog(position: number): Array<{ seq: number; envelope: string }> {
    const out: Array<{ seq: number; envelope: string }> = [];
    for (const row of this.statements.readLog.all(Math.floor(position / LOG_ROW_SPAN))) {
      (JSON.parse(row.envelopes) as string[]).forEach((envelope, i) => {
        const at = row.seq * LOG_ROW_SPAN + i;
        if (at > position) out.push({ seq: at, envelope });
      });
    }
    return out;
  }

  /** Drops the log rows whose every entry is at or before `position`. */
  truncateLog(position: number): void {
    this.statements.truncateLog.run(position);
  }
}
