import Database from 'better-sqlite3';
import { sha256Hex } from '../crypto/index.js';
import { StoreError, StoreErrorCode } from './errors.js';
import { ensureOwnerOnlyDatabaseFile } from './file-mode.js';
import { applyCheckpointOption, writeTransaction, type StoreFileOptions } from './sqlite-file.js';
import { walSyncOfConnection, type WalSync } from './wal-sync.js';

const SCHEMA_VERSION = '1';

/**
 * The versions written and not yet indexed (src/node/fhir/recovery.ts reads only these at start,
 * not every version). The index store creates the same table (same file) so that its commits can
 * clear their rows whichever store opened the file first.
 */
export const PENDING_VERSIONS_DDL = `CREATE TABLE IF NOT EXISTS pending_versions (
  record_id TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (record_id, version)) STRICT, WITHOUT ROWID;`;

/**
 * Meta key: 'complete' when every version not yet indexed has its `pending_versions` row;
 * 'unseeded' in a vault written before that table existed (recovery then scans every version
 * once, and marks it complete).
 */
export const PENDING_VERSIONS_META = 'pending_versions';

/**
 * Meta key: 'clean' when the last full comparison of this organization's anchors with the vault
 * found every anchored ciphertext here (src/node/fhir/ciphertext-gaps.ts). Removed by `roam
 * restore`: only a vault older than its ledger can lack anchored ciphertexts.
 */
const CIPHERTEXTS_META = 'ciphertexts';
const VERSION_COLUMNS = `record_id AS recordId, version, patient, resource_type AS resourceType, class, epoch,
  content_hash AS contentHash, wrapped_dek AS wrappedDek, custodian, author, created_at AS createdAt`;

/** One version of one record. */
export interface VersionRef {
  readonly recordId: string;
  readonly version: number;
}

/** The key of a version in the maps that batched reads return. */
export function versionKey(ref: VersionRef): string {
  return `${ref.recordId}|${ref.version}`;
}

/** Versions read by one statement (two parameters each, far below SQLite's limit). */
const VERSIONS_PER_STATEMENT = 250;

/** Sensitivity class as stored; the same values as the ledger's `SensitivityClass`. */
export type StoredSensitivityClass = 'general' | 'sensitive';

/** One record version's row: everything about it except the ciphertext, which is in `blobs`. */
export interface RecordVersionRow {
  readonly recordId: string;
  readonly version: number;
  /** The patient's DID. */
  readonly patient: string;
  readonly resourceType: string;
  readonly class: StoredSensitivityClass;
  readonly epoch: number;
  /** SHA-256 (hex) of the ciphertext blob: its key in `blobs` and what the ledger anchors. */
  readonly contentHash: string;
  /** The data key wrapped under the patient's record key, as text (the vault's encoding). */
  readonly wrappedDek: string;
  /** DID of the organization that keeps the ciphertext. */
  readonly custodian: string;
  /** DID of who wrote the version. */
  readonly author: string;
  /** ms since the Unix epoch. */
  readonly createdAt: number;
}

/** A version to insert; the store computes `contentHash` from the blob. */
export type NewRecordVersion = Omit<RecordVersionRow, 'contentHash'>;

export type InsertVersionResult =
  | { readonly status: 'inserted'; readonly contentHash: string }
  /** This (record, version) is stored already; nothing was written. */
  | { readonly status: 'exists' }
  /** The record was erased; nothing was written. */
  | { readonly status: 'erased' };

/** What remains of an erased record: its id, how many versions were shredded, and when. */
export interface ErasureRow {
  readonly recordId: string;
  readonly versions: number;
  readonly erasedAt: number;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The vault's SQLite file (a node keeps it as `vault.sqlite` beside `ledger.sqlite`): ciphertext
 * blobs, content-addressed by SHA-256; one row per record version with its wrapped data key;
 * tombstones of erased records; and each patient's current record-key epoch per class.
 *
 * Durability: WAL with synchronous=FULL, so a written version survives power loss once the call
 * returns. Erasure: `secure_delete` is on, so SQLite overwrites deleted content with zeros, and
 * {@link erase} checkpoints and truncates the WAL, so neither the blob nor the wrapped data key
 * stays in the database or WAL files (https://www.sqlite.org/pragma.html#pragma_secure_delete).
 */
export class VaultStore {
  readonly db: Database.Database;
  private readonly memory: boolean;
  /** Syncs of this file's WAL off the main thread (undefined in memory). */
  private readonly walSync: WalSync | undefined;
  private readonly statements;
  private readonly insertVersionTx: (row: NewRecordVersion, blob: Uint8Array) => InsertVersionResult;
  private readonly eraseTx: (recordId: string, erasedAt: number) => number;

  private constructor(db: Database.Database) {
    this.db = db;
    this.memory = db.memory || db.readonly;
    this.walSync = walSyncOfConnection(db);
    db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
      CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, data BLOB NOT NULL) STRICT;
      CREATE TABLE IF NOT EXISTS record_versions (
        record_id TEXT NOT NULL, version INTEGER NOT NULL, patient TEXT NOT NULL, resource_type TEXT NOT NULL,
        class TEXT NOT NULL CHECK (class IN ('general', 'sensitive')), epoch INTEGER NOT NULL,
        content_hash TEXT NOT NULL, wrapped_dek TEXT NOT NULL, custodian TEXT NOT NULL, author TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (record_id, version)) STRICT;
      CREATE INDEX IF NOT EXISTS record_versions_by_hash ON record_versions (content_hash);
      CREATE INDEX IF NOT EXISTS record_versions_by_patient ON record_versions (patient, record_id);
      CREATE TABLE IF NOT EXISTS erasures (record_id TEXT PRIMARY KEY, versions INTEGER NOT NULL, erased_at INTEGER NOT NULL) STRICT;
      CREATE TABLE IF NOT EXISTS epochs (
        patient TEXT NOT NULL, class TEXT NOT NULL CHECK (class IN ('general', 'sensitive')), epoch INTEGER NOT NULL,
        PRIMARY KEY (patient, class)) STRICT;
      ${PENDING_VERSIONS_DDL}
    `);
    const version = db
      .prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?')
      .get('schema');
    if (!version) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
    else if (version.value !== SCHEMA_VERSION) {
      throw new StoreError(
        StoreErrorCode.SCHEMA_MISMATCH,
        `vault schema ${version.value}, this build reads ${SCHEMA_VERSION}`,
      );
    }
    VaultStore.seedPendingVersionsMeta(db);
    this.statements = {
      putBlob: db.prepare<[string, Buffer]>(
        'INSERT INTO blobs (hash, data) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING',
      ),
      getBlob: db.prepare<[string], { data: Buffer }>('SELECT data FROM blobs WHERE hash = ?'),
      getVersion: db.prepare<[string, number], RecordVersionRow>(
        `SELECT ${VERSION_COLUMNS} FROM record_versions WHERE record_id = ? AND version = ?`,
      ),
      latestVersion: db.prepare<[string], RecordVersionRow>(
        `SELECT ${VERSION_COLUMNS} FROM record_versions WHERE record_id = ? ORDER BY version DESC LIMIT 1`,
      ),
      listVersions: db.prepare<[string], RecordVersionRow>(
        `SELECT ${VERSION_COLUMNS} FROM record_versions WHERE record_id = ? ORDER BY version`,
      ),
      versionExists: db.prepare<[string, number], { one: number }>(
        'SELECT 1 AS one FROM record_versions WHERE record_id = ? AND version = ?',
      ),
      insertVersion: db.prepare<
        [string, number, string, string, string, number, string, string, string, string, number]
      >(
        `INSERT INTO record_versions (record_id, version, patient, resource_type, class, epoch, content_hash, wrapped_dek,
          custodian, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      addPending: db.prepare<[string, number]>(
        'INSERT OR IGNORE INTO pending_versions (record_id, version) VALUES (?, ?)',
      ),
      deletePendingOfRecord: db.prepare<[string]>('DELETE FROM pending_versions WHERE record_id = ?'),
      versionHashes: db.prepare<[string], { contentHash: string }>(
        'SELECT content_hash AS contentHash FROM record_versions WHERE record_id = ?',
      ),
      deleteVersions: db.prepare<[string]>('DELETE FROM record_versions WHERE record_id = ?'),
      // A blob stays while any other version still names it (content addressing may share one).
      deleteUnreferencedBlob: db.prepare<[string, string]>(
        'DELETE FROM blobs WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM record_versions WHERE content_hash = ?)',
      ),
      getErasure: db.prepare<[string], ErasureRow>(
        'SELECT record_id AS recordId, versions, erased_at AS erasedAt FROM erasures WHERE record_id = ?',
      ),
      insertErasure: db.prepare<[string, number, number]>(
        'INSERT INTO erasures (record_id, versions, erased_at) VALUES (?, ?, ?) ON CONFLICT (record_id) DO NOTHING',
      ),
      getEpoch: db.prepare<[string, string], { epoch: number }>(
        'SELECT epoch FROM epochs WHERE patient = ? AND class = ?',
      ),
      setEpoch: db.prepare<[string, string, number], { epoch: number }>(
        `INSERT INTO epochs (patient, class, epoch) VALUES (?, ?, ?)
          ON CONFLICT (patient, class) DO UPDATE SET epoch = max(epoch, excluded.epoch) RETURNING epoch`,
      ),
      nextEpoch: db.prepare<[string, string], { epoch: number }>(
        `INSERT INTO epochs (patient, class, epoch) VALUES (?, ?, 1)
          ON CONFLICT (patient, class) DO UPDATE SET epoch = epoch + 1 RETURNING epoch`,
      ),
    };
    // Immediate (see writeTransaction): each reads first, then writes.
    const insertVersion = db.transaction((row: NewRecordVersion, blob: Uint8Array): InsertVersionResult => {
      if (this.statements.getErasure.get(row.recordId)) return { status: 'erased' };
      if (this.statements.versionExists.get(row.recordId, row.version)) return { status: 'exists' };
      const contentHash = this.putBlobRow(blob);
      this.statements.insertVersion.run(
        row.recordId,
        row.version,
        row.patient,
        row.resourceType,
        row.class,
        row.epoch,
        contentHash,
        row.wrappedDek,
        row.custodian,
        row.author,
        row.createdAt,
      );
      this.statements.addPending.run(row.recordId, row.version);
      return { status: 'inserted', contentHash };
    });
    this.insertVersionTx = (row, blob) => insertVersion.immediate(row, blob);
    const erase = db.transaction((recordId: string, erasedAt: number): number => {
      const hashes = new Set(this.statements.versionHashes.all(recordId).map((row) => row.contentHash));
      const erased = this.statements.deleteVersions.run(recordId).changes;
      this.statements.deletePendingOfRecord.run(recordId);
      for (const hash of hashes) this.statements.deleteUnreferencedBlob.run(hash, hash);
      this.statements.insertErasure.run(recordId, erased, erasedAt);
      return erased;
    });
    this.eraseTx = (recordId, erasedAt) => erase.immediate(recordId, erasedAt);
  }

  /**
   * Opens (creating if needed) a vault store at `path`, or an in-memory one for ':memory:';
   * `options.autoCheckpoint: false` when a `WalCheckpointer` checkpoints the file.
   *
   * @throws StoreError STORE_OPEN_FAILED, STORE_SCHEMA_MISMATCH
   */
  static open(path: string, options: StoreFileOptions = {}): VaultStore {
    let db: Database.Database;
    try {
      ensureOwnerOnlyDatabaseFile(path);
      db = new Database(path);
    } catch (error) {
      throw new StoreError(
        StoreErrorCode.OPEN_FAILED,
        `cannot open vault store ${path}: ${(error as Error).message}`,
      );
    }
    if (path !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    db.pragma('busy_timeout = 5000');
    applyCheckpointOption(db, options);
    return new VaultStore(db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Sets the `pending_versions` meta key of a file that has none: a vault that holds versions
   * already was written before the table existed, so its table says nothing yet ('unseeded').
   */
  private static seedPendingVersionsMeta(db: Database.Database): void {
    const known = db.prepare('SELECT 1 FROM meta WHERE key = ?').get(PENDING_VERSIONS_META);
    if (known !== undefined) return;
    const anyVersion = db.prepare('SELECT 1 FROM record_versions LIMIT 1').get();
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(
      PENDING_VERSIONS_META,
      anyVersion === undefined ? 'complete' : 'unseeded',
    );
  }

  /**
   * Forgets, in the vault file at `path` (a copy just restored from a backup), that its
   * ciphertexts were found complete: the ledger it meets may anchor versions written after the
   * backup, so the node compares them all at its next start.
   */
  static forgetCiphertextsChecked(path: string): void {
    const db = new Database(path);
    try {
      const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
      if (hasMeta !== undefined) db.prepare('DELETE FROM meta WHERE key = ?').run(CIPHERTEXTS_META);
    } finally {
      db.close();
    }
  }

  /** Whether the last full check found every anchored ciphertext of this node here (see CIPHERTEXTS_META). */
  get ciphertextsChecked(): boolean {
    const row = this.db
      .prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?')
      .get(CIPHERTEXTS_META);
    return row?.value === 'clean';
  }

  /** Records the outcome of a full check: `clean` when no anchored ciphertext was missing. */
  setCiphertextsChecked(clean: boolean): void {
    if (clean)
      this.db
        .prepare(
          'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        )
        .run(CIPHERTEXTS_META, 'clean');
    else this.db.prepare('DELETE FROM meta WHERE key = ?').run(CIPHERTEXTS_META);
  }

  private putBlobRow(data: Uint8Array): string {
    const hash = sha256Hex(data);
    this.statements.putBlob.run(hash, toBuffer(data));
    return hash;
  }

  /** Stores a blob under its SHA-256 (hex) and returns that hash; storing it again changes nothing. */
  putBlob(data: Uint8Array): string {
    return this.putBlobRow(data);
  }

  getBlob(hash: string): Uint8Array | undefined {
    const row = this.statements.getBlob.get(hash);
    return row && new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength);
  }

  /**
   * Runs `fn` in one transaction whose commit is synced to disk (synchronous=FULL: the WAL is
   * fsynced, with the frames of every earlier unsynced commit to this file) before it returns.
   * Inside an open transaction `fn` simply joins it (the outer commit decides).
   */
  durableTransaction<T>(fn: () => T): T {
    if (this.db.inTransaction || this.memory) return writeTransaction(this.db, fn);
    // Explicit, whatever the connection's default is (2 = FULL): this commit's promise depends on it.
    const previous = this.db.pragma('synchronous', { simple: true }) as number;
    this.db.pragma('synchronous = FULL');
    try {
      return writeTransaction(this.db, fn);
    } finally {
      if (previous !== 2) this.db.pragma(`synchronous = ${previous}`);
    }
  }

  /**
   * As `durableTransaction`, without holding the main thread while the disk syncs (wal-sync.ts):
   * `fn` commits at once (synchronous=NORMAL), and the promise resolves with its result once the
   * commit is on disk — the WAL synced on the thread pool, shared with the other commits made
   * to this file meanwhile. Nothing may be acknowledged before it resolves.
   */
  async durableTransactionOffThread<T>(fn: () => T): Promise<T> {
    if (this.db.inTransaction || this.walSync === undefined) return this.durableTransaction(fn);
    const result = this.unsyncedTransaction(fn);
    await this.walSync.sync();
    return result;
  }

  /**
   * Runs `fn` in one transaction committed with synchronous=NORMAL: not synced to disk when it
   * returns. Only for a caller that makes a later synchronous=FULL commit to the same file (its
   * WAL sync covers these frames too) before it acknowledges anything. Inside an open transaction
   * `fn` simply joins it.
   */
  unsyncedTransaction<T>(fn: () => T): T {
    if (this.db.inTransaction || this.memory) return writeTransaction(this.db, fn);
    this.db.pragma('synchronous = NORMAL');
    try {
      return writeTransaction(this.db, fn);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /**
   * Stores a version's blob and row in one transaction, unless that version exists or the record
   * was erased (then nothing is written).
   */
  insertVersion(row: NewRecordVersion, blob: Uint8Array): InsertVersionResult {
    return this.insertVersionTx(row, blob);
  }

  getVersion(recordId: string, version: number): RecordVersionRow | undefined {
    return this.statements.getVersion.get(recordId, version);
  }

  /**
   * The rows and ciphertexts of the versions `refs` names, by `<recordId>|<version>` (a version
   * not stored — erased, or never written — is absent), in one statement per
   * {@link VERSIONS_PER_STATEMENT} versions: a search page reads its entries at once rather than
   * with two lookups each. The CROSS JOIN keeps the wanted versions as the outer loop, each found
   * by the primary key (and its blob by its hash), whatever the vault's size.
   */
  getVersionsWithBlobs(
    refs: readonly VersionRef[],
  ): Map<string, RecordVersionRow & { readonly blob: Uint8Array }> {
    const out = new Map<string, RecordVersionRow & { readonly blob: Uint8Array }>();
    for (let i = 0; i < refs.length; i += VERSIONS_PER_STATEMENT) {
      const chunk = refs.slice(i, i + VERSIONS_PER_STATEMENT);
      const rows = this.db
        .prepare<(string | number)[], RecordVersionRow & { data: Buffer }>(
          `SELECT ${VERSION_COLUMNS}, b.data AS data
           FROM (VALUES ${chunk.map(() => '(?, ?)').join(', ')}) AS wanted
           CROSS JOIN record_versions v ON v.record_id = wanted.column1 AND v.version = wanted.column2
           JOIN blobs b ON b.hash = v.content_hash`,
        )
        .all(...chunk.flatMap((ref) => [ref.recordId, ref.version]));
      for (const { data, ...row } of rows) {
        out.set(versionKey(row), {
          ...row,
          blob: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        });
      }
    }
    return out;
  }

  getLatestVersion(recordId: string): RecordVersionRow | undefined {
    return this.statements.latestVersion.get(recordId);
  }

  /** Every stored version of the record, oldest first. */
  listVersions(recordId: string): RecordVersionRow[] {
    return this.statements.listVersions.all(recordId);
  }

  /**
   * How many versions the vault holds of each record kept by `custodian` (one grouped query: the
   * node compares it with the ledger's anchors at start, src/node/fhir/ciphertext-gaps.ts).
   */
  versionCounts(custodian: string): Map<string, number> {
    const rows = this.db
      .prepare<[string], { recordId: string; n: number }>(
        'SELECT record_id AS recordId, count(*) AS n FROM record_versions WHERE custodian = ? GROUP BY record_id',
      )
      .all(custodian);
    return new Map(rows.map((row) => [row.recordId, row.n]));
  }

  getErasure(recordId: string): ErasureRow | undefined {
    return this.statements.getErasure.get(recordId);
  }

  /**
   * Crypto-shredding: deletes every version row of the record (with its wrapped data key) and
   * every blob no other version names, and leaves a tombstone, in one transaction; then
   * checkpoints the WAL and truncates it so the deleted bytes leave the WAL file too.
   *
   * @param erasedAt ms since the Unix epoch, kept in the tombstone
   * @returns how many versions were deleted (0 when none were stored or it was erased before)
   */
  erase(recordId: string, erasedAt: number): number {
    const erased = this.eraseTx(recordId, erasedAt);
    // With readers active the checkpoint may stop early; the next one completes it.
    if (!this.memory) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return erased;
  }

  /** The patient's current record-key epoch for the class, or undefined when never set. */
  getEpoch(patient: string, sensitivityClass: StoredSensitivityClass): number | undefined {
    return this.statements.getEpoch.get(patient, sensitivityClass)?.epoch;
  }

  /** Raises the current epoch to `epoch` (never lowers it); returns the epoch now current. */
  setEpoch(patient: string, sensitivityClass: StoredSensitivityClass, epoch: number): number {
    return this.statements.setEpoch.get(patient, sensitivityClass, epoch)!.epoch;
  }

  /** Advances the current epoch by one (from 0 when never set) and returns the new epoch. */
  nextEpoch(patient: string, sensitivityClass: StoredSensitivityClass): number {
    return this.statements.nextEpoch.get(patient, sensitivityClass)!.epoch;
  }
}
