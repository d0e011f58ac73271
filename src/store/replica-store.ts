/**
 * The replica side of a node's records (`DATA/replica.sqlite`), apart from its own vault and
 * index so that nothing it holds for another custodian shows up in its own reads:
 * - `replica_versions`: the latest version of each record this node's organization holds as a
 *   patient's replica (ciphertext, wrapped data key, and the sort keys its custodian indexed);
 * - `replica_outbox`: versions to ship to the record's other holder, kept until that holder
 *   acknowledges them (durable: a killed node resumes where it was), with a retry time;
 * - `replica_meta`: the last block height the shipper looked at (so no committed anchor is missed
 *   across restarts).
 * Nothing readable is stored: DIDs, record ids, hashes and ciphertexts.
 */
import type Database from 'better-sqlite3';
import { openDatabaseFile } from './sqlite-file.js';

/** One record version held as a replica: enough to answer a roaming query as its custodian would. */
export interface ReplicaVersionRow {
  readonly recordId: string;
  readonly version: number;
  readonly patient: string;
  /** The organization that keeps the record (the ledger anchor's custodian). */
  readonly custodian: string;
  readonly resourceType: string;
  readonly class: string;
  readonly epoch: number;
  readonly contentHash: string;
  /** The wrapped data key as JSON text `{ iv, ct }`. */
  readonly wrappedDek: string;
  /** Sort keys from the custodian's index (ms since the epoch; the requester checks them on the plaintext). */
  readonly lastUpdated: number;
  readonly date: number | null;
  readonly blob: Uint8Array;
}

/** A version waiting to be shipped to the other holder `target` (an organization DID). */
export interface ReplicaOutboxRow {
  readonly seq: number;
  readonly recordId: string;
  readonly version: number;
  readonly target: string;
  readonly attempts: number;
}

export type PutReplicaResult = 'stored' | 'exists' | 'superseded';

interface VersionSqlRow {
  record_id: string;
  version: number;
  patient: string;
  custodian: string;
  resource_type: string;
  class: string;
  epoch: number;
  content_hash: string;
  wrapped_dek: string;
  last_updated: number;
  date: number | null;
  blob: Buffer;
}

function toVersion(r: VersionSqlRow): ReplicaVersionRow {
  return {
    recordId: r.record_id,
    version: r.version,
    patient: r.patient,
    custodian: r.custodian,
    resourceType: r.resource_type,
    class: r.class,
    epoch: r.epoch,
    contentHash: r.content_hash,
    wrappedDek: r.wrapped_dek,
    lastUpdated: r.last_updated,
    date: r.date,
    blob: new Uint8Array(r.blob.buffer, r.blob.byteOffset, r.blob.byteLength),
  };
}

const SCANNED_HEIGHT = 'scanned_height';

/**
 * The replica tables (see the module comment).
 *
 * @example
 * const replicas = ReplicaStore.open(join(dataDir, 'replica.sqlite'));
 * replicas.enqueue([{ recordId, version: 2, target: orgDid }], height);
 */
export class ReplicaStore {
  private readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS replica_versions (
        record_id TEXT PRIMARY KEY, version INTEGER NOT NULL, patient TEXT NOT NULL, custodian TEXT NOT NULL,
        resource_type TEXT NOT NULL, class TEXT NOT NULL, epoch INTEGER NOT NULL, content_hash TEXT NOT NULL,
        wrapped_dek TEXT NOT NULL, last_updated INTEGER NOT NULL, date INTEGER, blob BLOB NOT NULL) STRICT;
      CREATE INDEX IF NOT EXISTS replica_versions_by_patient ON replica_versions (patient, custodian, resource_type);
      CREATE TABLE IF NOT EXISTS replica_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL, version INTEGER NOT NULL,
        target TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0,
        UNIQUE (record_id, version, target)) STRICT;
      CREATE TABLE IF NOT EXISTS replica_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    `);
  }

  /** Opens (creating it owner-only) the replica file at `path`. */
  static open(path: string): ReplicaStore {
    return new ReplicaStore(openDatabaseFile(path));
  }

  close(): void {
    this.db.close();
  }

  /** Stores `row` unless this version (or a later one) of its record is held already. */
  put(row: ReplicaVersionRow): PutReplicaResult {
    return this.db.transaction((): PutReplicaResult => {
      const held = this.db
        .prepare<[string], { version: number }>('SELECT version FROM replica_versions WHERE record_id = ?')
        .get(row.recordId);
      if (held !== undefined && held.version === row.version) return 'exists';
      if (held !== undefined && held.version > row.version) return 'superseded';
      this.db
        .prepare(
          `INSERT INTO replica_versions (record_id, version, patient, custodian, resource_type, class, epoch, content_hash,
             wrapped_dek, last_updated, date, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (record_id) DO UPDATE SET version = excluded.version, class = excluded.class, epoch = excluded.epoch,
             content_hash = excluded.content_hash, wrapped_dek = excluded.wrapped_dek, last_updated = excluded.last_updated,
             date = excluded.date, blob = excluded.blob`,
        )
        .run(
          row.recordId,
          row.version,
          row.patient,
          row.custodian,
          row.resourceType,
          row.class,
          row.epoch,
          row.contentHash,
          row.wrappedDek,
          row.lastUpdated,
          row.date,
          Buffer.from(row.blob.buffer, row.blob.byteOffset, row.blob.byteLength),
        );
      return 'stored';
    })();
  }

  get(recordId: string): ReplicaVersionRow | undefined {
    const row = this.db.prepare<[string], VersionSqlRow>('SELECT * FROM replica_versions WHERE record_id = ?').get(recordId);
    return row === undefined ? undefined : toVersion(row);
  }

  /** The versions held of `patient`'s records kept by `custodian` (of `type` when given). */
  ofPatient(patient: string, custodian: string, type?: string): ReplicaVersionRow[] {
    const rows =
      type === undefined
        ? this.db
            .prepare<[string, string], VersionSqlRow>(
              'SELECT * FROM replica_versions WHERE patient = ? AND custodian = ? ORDER BY record_id',
            )
            .all(patient, custodian)
        : this.db
            .prepare<[string, string, string], VersionSqlRow>(
              'SELECT * FROM replica_versions WHERE patient = ? AND custodian = ? AND resource_type = ? ORDER BY record_id',
            )
            .all(patient, custodian, type);
    return rows.map(toVersion);
  }

  /** How many versions are held (all records). */
  count(): number {
    return this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM replica_versions').get()?.n ?? 0;
  }

  /** Deletes the copy of an erased record (secure_delete overwrites it) and its pending shipments. */
  erase(recordId: string): boolean {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM replica_outbox WHERE record_id = ?').run(recordId);
      return this.db.prepare('DELETE FROM replica_versions WHERE record_id = ?').run(recordId).changes > 0;
    })();
  }

  /** The last block height the shipper looked at (0: none). */
  scannedHeight(): number {
    const row = this.db
      .prepare<[string], { value: string }>('SELECT value FROM replica_meta WHERE key = ?')
      .get(SCANNED_HEIGHT);
    return row === undefined ? 0 : Number(row.value);
  }

  /**
   * Queues shipments and moves the scanned height to `height`, in one transaction: a block is
   * looked at once, and what it asks to ship is never lost.
   */
  enqueue(items: ReadonlyArray<{ readonly recordId: string; readonly version: number; readonly target: string }>, height: number): void {
    this.db.transaction(() => {
      const insert = this.db.prepare<[string, number, string]>(
        'INSERT INTO replica_outbox (record_id, version, target) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      );
      for (const item of items) insert.run(item.recordId, item.version, item.target);
      this.db
        .prepare<[string, string]>(
          'INSERT INTO replica_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        )
        .run(SCANNED_HEIGHT, String(height));
    })();
  }

  /** Shipments due at `now`, oldest first. */
  due(now: number, limit: number): ReplicaOutboxRow[] {
    return this.db
      .prepare<[number, number], ReplicaOutboxRow>(
        `SELECT seq, record_id AS recordId, version, target, attempts FROM replica_outbox
         WHERE next_at <= ? ORDER BY seq LIMIT ?`,
      )
      .all(now, limit);
  }

  /** Shipments still waiting (acknowledged ones are gone). */
  backlog(): number {
    return this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM replica_outbox').get()?.n ?? 0;
  }

  /** Removes acknowledged (or no longer needed) shipments. */
  settle(seqs: readonly number[]): void {
    const remove = this.db.prepare<[number]>('DELETE FROM replica_outbox WHERE seq = ?');
    this.db.transaction(() => {
      for (const seq of seqs) remove.run(seq);
    })();
  }

  /** Tries `seqs` again at `nextAt` (ms), counting the attempt. */
  postpone(seqs: readonly number[], nextAt: number): void {
    const update = this.db.prepare<[number, number]>(
      'UPDATE replica_outbox SET attempts = attempts + 1, next_at = ? WHERE seq = ?',
    );
    this.db.transaction(() => {
      for (const seq of seqs) update.run(nextAt, seq);
    })();
  }
}
