/**
 * The replica side of a node's records (`DATA/replica.sqlite`), apart from its own vault and
 * index so that nothing it holds for another custodian shows up in its own reads:
 * - `replica_record_versions`: every version of each record this node's organization holds as a
 *   patient's replica (ciphertext, wrapped data key, the sort keys its custodian indexed, and the
 *   id of the transaction that anchored it), so that a custodian restored from a backup gets
 *   back every version written after the backup, not only the latest; bounded by what the
 *   ledger anchors (a version is stored only once checked against its anchor) and by erasure
 *   (which removes all of a record's versions);
 * - `replica_outbox`: versions to ship to the record's other holder, kept until that holder
 *   acknowledges them (durable: a killed node resumes where it was), with a retry time;
 * - `replica_meta`: the last block height the shipper looked at (so no committed anchor is missed
 *   across restarts);
 * - `refill_gaps` (refill-log.ts): what this node, as a restored custodian, still misses.
 * Nothing readable is stored: DIDs, record ids, hashes and ciphertexts.
 */
import type Database from 'better-sqlite3';
import { RefillLog } from './refill-log.js';
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
  /** The id of the `records.anchor` transaction that anchored this version (null: not known, a copy from before it was kept). */
  readonly anchorTx: string | null;
  readonly blob: Uint8Array;
}

/** A version waiting to be shipped to the other holder `target` (an organization DID). */
export interface ReplicaOutboxRow {
  readonly seq: number;
  readonly recordId: string;
  readonly version: number;
  readonly target: string;
  readonly attempts: number;
  /** The id of the transaction that anchored the version (null when queued without it). */
  readonly anchorTx: string | null;
}

/** A version to queue for shipping. */
export interface ReplicaShipment {
  readonly recordId: string;
  readonly version: number;
  readonly target: string;
  readonly anchorTx: string | null;
}

export type PutReplicaResult = 'stored' | 'exists';

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
  anchor_tx: string | null;
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
    anchorTx: r.anchor_tx,
    blob: new Uint8Array(r.blob.buffer, r.blob.byteOffset, r.blob.byteLength),
  };
}

const SCANNED_HEIGHT = 'scanned_height';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS replica_record_versions (
    record_id TEXT NOT NULL, version INTEGER NOT NULL, patient TEXT NOT NULL, custodian TEXT NOT NULL,
    resource_type TEXT NOT NULL, class TEXT NOT NULL, epoch INTEGER NOT NULL, content_hash TEXT NOT NULL,
    wrapped_dek TEXT NOT NULL, last_updated INTEGER NOT NULL, date INTEGER, anchor_tx TEXT, blob BLOB NOT NULL,
    PRIMARY KEY (record_id, version)) STRICT;
  CREATE INDEX IF NOT EXISTS replica_record_versions_by_patient ON replica_record_versions (patient, custodian, resource_type);
  CREATE TABLE IF NOT EXISTS replica_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL, version INTEGER NOT NULL,
    target TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (record_id, version, target)) STRICT;
  CREATE TABLE IF NOT EXISTS replica_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
`;

/**
 * Brings a file written by an earlier build up to date: its `replica_versions` (one row per
 * record, the latest version) becomes `replica_record_versions` (those copies, anchoring
 * transaction unknown), and the outbox gains the anchoring transaction of each shipment.
 */
function migrate(db: Database.Database): void {
  const hasTable = (name: string): boolean =>
    db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(name)?.n === 1;
  if (hasTable('replica_versions')) {
    db.exec(`
      INSERT OR IGNORE INTO replica_record_versions (record_id, version, patient, custodian, resource_type, class, epoch,
        content_hash, wrapped_dek, last_updated, date, anchor_tx, blob)
      SELECT record_id, version, patient, custodian, resource_type, class, epoch, content_hash, wrapped_dek, last_updated,
        date, NULL, blob FROM replica_versions;
      DROP TABLE replica_versions;
    `);
  }
  const outboxColumns = db.prepare<[], { name: string }>('PRAGMA table_info(replica_outbox)').all();
  if (!outboxColumns.some((column) => column.name === 'anchor_tx')) db.exec('ALTER TABLE replica_outbox ADD COLUMN anchor_tx TEXT');
}

const OUTBOX_COLUMNS = 'seq, record_id AS recordId, version, target, attempts, anchor_tx AS anchorTx';
/** The latest held version of each record (a correlated MAX over the primary key). */
const LATEST_OF_EACH = 'version = (SELECT MAX(l.version) FROM replica_record_versions l WHERE l.record_id = v.record_id)';

/** The statements of the store, prepared once (the shipper calls several of them every 250 ms). */
function prepare(db: Database.Database) {
  return {
    heldVersion: db.prepare<[string, number], { one: number }>(
      'SELECT 1 AS one FROM replica_record_versions WHERE record_id = ? AND version = ?',
    ),
    insertVersion: db.prepare<[string, number, string, string, string, string, number, string, string, number, number | null, string | null, Buffer]>(
      `INSERT INTO replica_record_versions (record_id, version, patient, custodian, resource_type, class, epoch, content_hash,
         wrapped_dek, last_updated, date, anchor_tx, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (record_id, version) DO NOTHING`,
    ),
    version: db.prepare<[string, number], VersionSqlRow>('SELECT * FROM replica_record_versions WHERE record_id = ? AND version = ?'),
    latest: db.prepare<[string], VersionSqlRow>(
      'SELECT * FROM replica_record_versions WHERE record_id = ? ORDER BY version DESC LIMIT 1',
    ),
    versionNumbers: db
      .prepare<[string], number>('SELECT version FROM replica_record_versions WHERE record_id = ? ORDER BY version')
      .pluck(),
    ofPatient: db.prepare<[string, string], VersionSqlRow>(
      `SELECT * FROM replica_record_versions v WHERE patient = ? AND custodian = ? AND ${LATEST_OF_EACH} ORDER BY record_id`,
    ),
    ofPatientType: db.prepare<[string, string, string], VersionSqlRow>(
      `SELECT * FROM replica_record_versions v WHERE patient = ? AND custodian = ? AND resource_type = ? AND ${LATEST_OF_EACH}
       ORDER BY record_id`,
    ),
    count: db.prepare<[], number>('SELECT COUNT(*) FROM replica_record_versions').pluck(),
    eraseOutbox: db.prepare<[string]>('DELETE FROM replica_outbox WHERE record_id = ?'),
    eraseVersions: db.prepare<[string]>('DELETE FROM replica_record_versions WHERE record_id = ?'),
    getMeta: db.prepare<[string], { value: string }>('SELECT value FROM replica_meta WHERE key = ?'),
    setMeta: db.prepare<[string, string]>(
      'INSERT INTO replica_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    enqueue: db.prepare<[string, number, string, string | null]>(
      'INSERT INTO replica_outbox (record_id, version, target, anchor_tx) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    due: db.prepare<[number, number], ReplicaOutboxRow>(
      `SELECT ${OUTBOX_COLUMNS} FROM replica_outbox WHERE next_at <= ? ORDER BY seq LIMIT ?`,
    ),
    backlog: db.prepare<[], number>('SELECT COUNT(*) FROM replica_outbox').pluck(),
    settle: db.prepare<[number]>('DELETE FROM replica_outbox WHERE seq = ?'),
    postpone: db.prepare<[number, number]>('UPDATE replica_outbox SET attempts = attempts + 1, next_at = ? WHERE seq = ?'),
  };
}

/**
 * The replica tables (see the module comment).
 *
 * @example
 * const replicas = ReplicaStore.open(join(dataDir, 'replica.sqlite'));
 * replicas.enqueue([{ recordId, version: 2, target: orgDid, anchorTx }], height);
 */
export class ReplicaStore {
  /** The refill's record of what this node still misses (same file). */
  readonly refillLog: RefillLog;
  private readonly statements: ReturnType<typeof prepare>;

  private constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    db.transaction(() => migrate(db))();
    this.statements = prepare(db);
    this.refillLog = new RefillLog(db);
  }

  /** Opens (creating it owner-only) the replica file at `path`. */
  static open(path: string): ReplicaStore {
    return new ReplicaStore(openDatabaseFile(path));
  }

  close(): void {
    this.db.close();
  }

  /** Stores `row` unless this version of its record is held already (every version is kept). */
  put(row: ReplicaVersionRow): PutReplicaResult {
    const s = this.statements;
    if (s.heldVersion.get(row.recordId, row.version) !== undefined) return 'exists';
    const blob = Buffer.from(row.blob.buffer, row.blob.byteOffset, row.blob.byteLength);
    const { changes } = s.insertVersion.run(
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
      row.anchorTx,
      blob,
    );
    return changes > 0 ? 'stored' : 'exists';
  }

  /** Version `version` of `recordId` when given, else the latest version held. */
  get(recordId: string, version?: number): ReplicaVersionRow | undefined {
    const row = version === undefined ? this.statements.latest.get(recordId) : this.statements.version.get(recordId, version);
    return row === undefined ? undefined : toVersion(row);
  }

  /** The version numbers held of `recordId`, ascending. */
  versionsOf(recordId: string): number[] {
    return this.statements.versionNumbers.all(recordId);
  }

  /** The latest version held of each of `patient`'s records kept by `custodian` (of `type` when given). */
  ofPatient(patient: string, custodian: string, type?: string): ReplicaVersionRow[] {
    const rows =
      type === undefined
        ? this.statements.ofPatient.all(patient, custodian)
        : this.statements.ofPatientType.all(patient, custodian, type);
    return rows.map(toVersion);
  }

  /** How many versions are held (all records). */
  count(): number {
    return this.statements.count.get() ?? 0;
  }

  /** Deletes every version held of an erased record (secure_delete overwrites them) and its pending shipments. */
  erase(recordId: string): boolean {
    return this.db.transaction(() => {
      this.statements.eraseOutbox.run(recordId);
      return this.statements.eraseVersions.run(recordId).changes > 0;
    })();
  }

  /** The last block height the shipper looked at (0: none). */
  scannedHeight(): number {
    const row = this.statements.getMeta.get(SCANNED_HEIGHT);
    return row === undefined ? 0 : Number(row.value);
  }

  /**
   * Queues shipments and moves the scanned height to `height`, in one transaction: a block is
   * looked at once, and what it asks to ship is never lost.
   */
  enqueue(items: readonly ReplicaShipment[], height: number): void {
    this.db.transaction(() => {
      for (const item of items) this.statements.enqueue.run(item.recordId, item.version, item.target, item.anchorTx);
      this.statements.setMeta.run(SCANNED_HEIGHT, String(height));
    })();
  }

  /** Shipments due at `now`, oldest first. */
  due(now: number, limit: number): ReplicaOutboxRow[] {
    return this.statements.due.all(now, limit);
  }

  /** Shipments still waiting (acknowledged ones are gone). */
  backlog(): number {
    return this.statements.backlog.get() ?? 0;
  }

  /** Removes acknowledged (or no longer needed) shipments. */
  settle(seqs: readonly number[]): void {
    this.db.transaction(() => {
      for (const seq of seqs) this.statements.settle.run(seq);
    })();
  }

  /** Tries `seqs` again at `nextAt` (ms), counting the attempt. */
  postpone(seqs: readonly number[], nextAt: number): void {
    this.db.transaction(() => {
      for (const seq of seqs) this.statements.postpone.run(nextAt, seq);
    })();
  }
}
