/**
 * The FHIR index of one node: which resources it keeps (type, id, current version, patient DID,
 * class, epoch, lastUpdated) and their search index as keyed tokens, plus the durable outbox of
 * audit entries not yet on the ledger. Its tables live in the node's `vault.sqlite` beside the
 * vault's (own connection, same WAL file), so that a failed anchor can roll back the version the
 * vault just wrote (`deleteVersion`).
 *
 * Nothing readable is stored: token values are opaque strings computed by the caller (HMAC of a
 * node-held key); date rows are epoch-millisecond ranges; the outbox holds audit entries (DIDs,
 * ids, actions), which go to the ledger as they are.
 */
import type Database from 'better-sqlite3';
import { openDatabaseFile, writeTransaction, type StoreFileOptions } from './sqlite-file.js';
import { walSyncOfConnection, type WalSync } from './wal-sync.js';
import { PENDING_VERSIONS_DDL, PENDING_VERSIONS_META } from './vault-store.js';

/** One resource the node keeps. */
export interface FhirResourceRow {
  readonly recordId: string;
  readonly type: string;
  readonly version: number;
  readonly patient: string;
  /** ms since the Unix epoch (meta.lastUpdated of the current version). */
  readonly lastUpdated: number;
  readonly class: string;
  readonly epoch: number;
}

/** An index row of a record: an equality token or a date range of a parameter. */
export type FhirIndexRow =
  | { readonly kind: 'token'; readonly param: string; readonly token: string }
  | { readonly kind: 'date'; readonly param: string; readonly start: number; readonly end: number };

/**
 * A vault version of this node's own records that the index does not know (yet): a write cut
 * short between its vault commit and its index commit (see src/node/fhir/recovery.ts).
 */
export interface UnindexedVersion {
  readonly recordId: string;
  readonly version: number;
  readonly patient: string;
  readonly resourceType: string;
  readonly class: string;
  readonly epoch: number;
  readonly contentHash: string;
  readonly author: string;
  /** ms since the Unix epoch: when the vault stored it. */
  readonly createdAt: number;
}

/** A signed `audit.batch` submitted for outbox rows, not yet known to have committed or not. */
export interface AuditInFlight {
  readonly txId: string;
  /** The signed envelope (JSON), submitted again as it is. */
  readonly envelope: string;
  readonly seqs: readonly number[];
}

/** An audit entry waiting in the outbox. */
export interface OutboxRow {
  readonly seq: number;
  /** The entry as JSON. */
  readonly entry: string;
}

interface ResourceSqlRow {
  record_id: string;
  type: string;
  version: number;
  patient: string;
  last_updated: number;
  class: string;
  epoch: number;
}

function toRow(r: ResourceSqlRow): FhirResourceRow {
  return {
    recordId: r.record_id,
    type: r.type,
    version: r.version,
    patient: r.patient,
    lastUpdated: r.last_updated,
    class: r.class,
    epoch: r.epoch,
  };
}

/** SQLite's default limit of host parameters is 32766; stay far below it. */
const MAX_IN_PARAMS = 500;

/**
 * The FHIR index tables (see the module comment).
 *
 * @example
 * const index = FhirIndexStore.open(join(dataDir, 'vault.sqlite'));
 * index.putResource(row, [{ kind: 'token', param: 'code', token }]);
 * index.recordsWithToken('code', [token]);
 */
export class FhirIndexStore {
  private readonly db: Database.Database;
  /** Statements of the hot paths, prepared once. */
  private readonly statements;
  /** Syncs of this file's WAL off the main thread (undefined in memory). */
  private readonly walSync: WalSync | undefined;

  private constructor(db: Database.Database) {
    this.db = db;
    this.walSync = walSyncOfConnection(db);
    db.exec(`
      CREATE TABLE IF NOT EXISTS fhir_resources (
        record_id TEXT PRIMARY KEY, type TEXT NOT NULL, version INTEGER NOT NULL, patient TEXT NOT NULL,
        last_updated INTEGER NOT NULL, class TEXT NOT NULL, epoch INTEGER NOT NULL) STRICT;
      CREATE INDEX IF NOT EXISTS fhir_resources_by_patient ON fhir_resources (patient, type);
      CREATE TABLE IF NOT EXISTS fhir_tokens (
        param TEXT NOT NULL, token TEXT NOT NULL, record_id TEXT NOT NULL,
        PRIMARY KEY (param, token, record_id)) STRICT, WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS fhir_tokens_by_record ON fhir_tokens (record_id);
      CREATE TABLE IF NOT EXISTS fhir_dates (
        record_id TEXT NOT NULL, param TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL) STRICT;
      CREATE INDEX IF NOT EXISTS fhir_dates_by_record ON fhir_dates (record_id);
      CREATE INDEX IF NOT EXISTS fhir_dates_by_param ON fhir_dates (param, start_ms);
      CREATE TABLE IF NOT EXISTS fhir_audit_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL) STRICT;
      CREATE TABLE IF NOT EXISTS fhir_audit_inflight (tx_id TEXT PRIMARY KEY, envelope TEXT NOT NULL, seqs TEXT NOT NULL) STRICT;
      CREATE TABLE IF NOT EXISTS fhir_audit_refused (
        seq INTEGER PRIMARY KEY, entry TEXT NOT NULL, code TEXT NOT NULL, refused_at INTEGER NOT NULL) STRICT;
      ${PENDING_VERSIONS_DDL}
    `);
    this.statements = {
      getResource: db.prepare<[string], ResourceSqlRow>('SELECT * FROM fhir_resources WHERE record_id = ?'),
      upsert: db.prepare<[string, string, number, string, number, string, number]>(
        `INSERT INTO fhir_resources (record_id, type, version, patient, last_updated, class, epoch)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (record_id) DO UPDATE SET type = excluded.type, version = excluded.version,
           patient = excluded.patient, last_updated = excluded.last_updated, class = excluded.class,
           epoch = excluded.epoch`,
      ),
      delTokens: db.prepare<[string]>('DELETE FROM fhir_tokens WHERE record_id = ?'),
      delDates: db.prepare<[string]>('DELETE FROM fhir_dates WHERE record_id = ?'),
      addToken: db.prepare<[string, string, string]>(
        'INSERT OR IGNORE INTO fhir_tokens (param, token, record_id) VALUES (?, ?, ?)',
      ),
      addDate: db.prepare<[string, string, number, number]>(
        'INSERT INTO fhir_dates (record_id, param, start_ms, end_ms) VALUES (?, ?, ?, ?)',
      ),
      // The index commit of a version settles it and any older version of the record still pending.
      settlePending: db.prepare<[string, number]>(
        'DELETE FROM pending_versions WHERE record_id = ? AND version <= ?',
      ),
      appendAudit: db.prepare<[string]>('INSERT INTO fhir_audit_outbox (entry) VALUES (?)'),
      auditBacklog: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM fhir_audit_outbox'),
    };
  }

  /**
   * Opens (creating its tables if needed) the index in the SQLite file at `path` (':memory:'
   * for a scratch index); `options.autoCheckpoint: false` when a `WalCheckpointer` checkpoints it.
   *
   * @throws StoreError STORE_OPEN_FAILED
   */
  static open(path: string, options: StoreFileOptions = {}): FhirIndexStore {
    // synchronous = NORMAL (openDatabaseFile): an audit entry in the outbox survives a killed process.
    return new FhirIndexStore(openDatabaseFile(path, options));
  }

  close(): void {
    this.db.close();
  }

  /** The resource `recordId`, or undefined. */
  getResource(recordId: string): FhirResourceRow | undefined {
    const row = this.statements.getResource.get(recordId);
    return row === undefined ? undefined : toRow(row);
  }

  /** Stores a resource's current version and replaces its index rows, in one transaction. */
  putResource(row: FhirResourceRow, index: readonly FhirIndexRow[]): void {
    const { upsert, delTokens, delDates, addToken, addDate, settlePending } = this.statements;
    const write = () => {
      upsert.run(row.recordId, row.type, row.version, row.patient, row.lastUpdated, row.class, row.epoch);
      settlePending.run(row.recordId, row.version);
      // A first version has no earlier index rows to replace.
      if (row.version > 1) {
        delTokens.run(row.recordId);
        delDates.run(row.recordId);
      }
      for (const entry of index) {
        if (entry.kind === 'token') addToken.run(entry.param, entry.token, row.recordId);
        else addDate.run(row.recordId, entry.param, clampMs(entry.start), clampMs(entry.end));
      }
    };
    // Inside a caller's transaction (a turn's durable commit) no savepoint per resource is needed:
    // the caller's transaction is all or nothing.
    if (this.db.inTransaction) write();
    else writeTransaction(this.db, write);
  }

  /** Ids of the records with a token of `param` among `tokens` (any of them). */
  recordsWithToken(param: string, tokens: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (let i = 0; i < tokens.length; i += MAX_IN_PARAMS) {
      const chunk = tokens.slice(i, i + MAX_IN_PARAMS);
      const rows = this.db
        .prepare<string[], { record_id: string }>(
          `SELECT record_id FROM fhir_tokens WHERE param = ? AND token IN (${chunk.map(() => '?').join(',')})`,
        )
        .all(param, ...chunk);
      for (const r of rows) out.add(r.record_id);
    }
    return out;
  }

  /** The resources among `recordIds` that exist (in no particular order). */
  getResources(recordIds: Iterable<string>): FhirResourceRow[] {
    const ids = [...recordIds];
    const out: FhirResourceRow[] = [];
    for (let i = 0; i < ids.length; i += MAX_IN_PARAMS) {
      const chunk = ids.slice(i, i + MAX_IN_PARAMS);
      const rows = this.db
        .prepare<string[], ResourceSqlRow>(
          `SELECT * FROM fhir_resources WHERE record_id IN (${chunk.map(() => '?').join(',')})`,
        )
        .all(...chunk);
      for (const r of rows) out.push(toRow(r));
    }
    return out;
  }

  /**
   * The date rows of `params` of the records `recordIds`, by record, each record's rows in the
   * order they were indexed (open ends as ±Infinity).
   */
  datesOf(
    recordIds: readonly string[],
    params: readonly string[],
  ): Map<string, { param: string; start: number; end: number }[]> {
    const out = new Map<string, { param: string; start: number; end: number }[]>();
    if (params.length === 0 || recordIds.length === 0) return out;
    const step = MAX_IN_PARAMS - params.length;
    for (let i = 0; i < recordIds.length; i += step) {
      const chunk = recordIds.slice(i, i + step);
      const rows = this.db
        .prepare<string[], { record_id: string; param: string; start_ms: number; end_ms: number }>(
          datesOfSql(params.length, chunk.length),
        )
        .all(...chunk, ...params);
      for (const r of rows) {
        let list = out.get(r.record_id);
        if (list === undefined) out.set(r.record_id, (list = []));
        list.push({ param: r.param, start: unclampMs(r.start_ms), end: unclampMs(r.end_ms) });
      }
    }
    return out;
  }

  /**
   * Runs `fn` in one transaction whose commit is durable (synchronous=FULL: the WAL is synced,
   * with every frame other connections of the same file committed before it).
   */
  durably<T>(fn: () => T): T {
    this.db.pragma('synchronous = FULL');
    try {
      return writeTransaction(this.db, fn);
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /**
   * As `durably`, without holding the main thread while the disk syncs (wal-sync.ts): `fn`
   * commits at once (synchronous=NORMAL), and the promise resolves with its result once the
   * commit is on disk — the WAL synced on the thread pool, shared with the other commits made to
   * this file meanwhile (the vault's too). Nothing may be acknowledged before it resolves.
   */
  async durablyOffThread<T>(fn: () => T): Promise<T> {
    if (this.walSync === undefined || this.db.inTransaction) return this.durably(fn);
    const result = writeTransaction(this.db, fn);
    await this.walSync.sync();
    return result;
  }

  /** The resources of `patient` (a DID), optionally of one type. */
  resourcesOfPatient(patient: string, type?: string): FhirResourceRow[] {
    const rows =
      type === undefined
        ? this.db
            .prepare<[string], ResourceSqlRow>('SELECT * FROM fhir_resources WHERE patient = ?')
            .all(patient)
        : this.db
            .prepare<[string, string], ResourceSqlRow>(
              'SELECT * FROM fhir_resources WHERE patient = ? AND type = ?',
            )
            .all(patient, type);
    return rows.map(toRow);
  }

  /**
   * Deletes one version that the vault wrote (its `record_versions` row, and its blob unless
   * another version points to it): the rollback of a write whose ledger anchor failed. The
   * resource row is restored to `previous` (or removed when undefined) by the caller.
   */
  deleteVersion(recordId: string, version: number): void {
    writeTransaction(this.db, () => {
      const row = this.db
        .prepare<[string, number], { content_hash: string }>(
          'SELECT content_hash FROM record_versions WHERE record_id = ? AND version = ?',
        )
        .get(recordId, version);
      if (row === undefined) return;
      this.db
        .prepare('DELETE FROM record_versions WHERE record_id = ? AND version = ?')
        .run(recordId, version);
      this.db
        .prepare('DELETE FROM pending_versions WHERE record_id = ? AND version = ?')
        .run(recordId, version);
      const used = this.db
        .prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM record_versions WHERE content_hash = ?')
        .get(row.content_hash);
      if ((used?.n ?? 0) === 0) this.db.prepare('DELETE FROM blobs WHERE hash = ?').run(row.content_hash);
    });
  }

  /**
   * The vault versions kept for `custodian` that are newer than the index's row of their record
   * (or whose record has none), by record and version. Only the versions in `pending_versions`
   * (written, not yet indexed: what was in flight at a crash) are read — unless the vault predates
   * that table, then every version once (see {@link settlePendingVersions}). The vault's tables
   * live in the same file; in an index without a vault beside it there are none.
   */
  unindexedVersions(custodian: string): UnindexedVersion[] {
    const pendingMeta = this.pendingVersionsMeta();
    if (pendingMeta === undefined) return [];
    // CROSS JOIN: SQLite keeps pending_versions as the outer loop (without it the planner walks
    // every record_versions row in ORDER BY order and looks each up in the small table).
    const source =
      pendingMeta === 'complete'
        ? 'pending_versions p CROSS JOIN record_versions v ON v.record_id = p.record_id AND v.version = p.version'
        : 'record_versions v';
    return this.db
      .prepare<[string], UnindexedVersion>(
        `SELECT v.record_id AS recordId, v.version, v.patient, v.resource_type AS resourceType, v.class, v.epoch,
           v.content_hash AS contentHash, v.author, v.created_at AS createdAt
         FROM ${source} LEFT JOIN fhir_resources r ON r.record_id = v.record_id
         WHERE v.custodian = ? AND (r.record_id IS NULL OR v.version > r.version)
         ORDER BY v.record_id, v.version`,
      )
      .all(custodian);
  }

  /**
   * After the start-up recovery handled every version {@link unindexedVersions} gave (indexed or
   * discarded): forgets the pending rows left (other custodians' versions, versions indexed
   * already) and, in a vault that predates the table, marks the table complete from now on.
   */
  settlePendingVersions(): void {
    if (this.pendingVersionsMeta() === undefined) return;
    writeTransaction(this.db, () => {
      this.db.prepare('DELETE FROM pending_versions').run();
      this.db
        .prepare<[string]>("UPDATE meta SET value = 'complete' WHERE key = ?")
        .run(PENDING_VERSIONS_META);
    });
  }

  /**
   * The vault's `pending_versions` meta value ('none' when the vault predates it), or undefined
   * without a vault in this file.
   */
  private pendingVersionsMeta(): string | undefined {
    const vaultHere = this.db
      .prepare<[], { one: number }>(
        "SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = 'record_versions'",
      )
      .get();
    if (vaultHere === undefined) return undefined;
    const row = this.db
      .prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?')
      .get(PENDING_VERSIONS_META);
    return row?.value ?? 'none';
  }

  /** Removes a resource and its index rows (rollback of a first version). */
  deleteResource(recordId: string): void {
    writeTransaction(this.db, () => {
      this.db.prepare('DELETE FROM fhir_tokens WHERE record_id = ?').run(recordId);
      this.db.prepare('DELETE FROM fhir_dates WHERE record_id = ?').run(recordId);
      this.db.prepare('DELETE FROM fhir_resources WHERE record_id = ?').run(recordId);
    });
  }

  /** Appends audit entries (JSON) to the outbox, durably, in one transaction. */
  appendAudit(entries: readonly string[]): void {
    if (entries.length === 0) return;
    const insert = this.statements.appendAudit;
    writeTransaction(this.db, () => {
      for (const entry of entries) insert.run(entry);
    });
  }

  /** The oldest `limit` outbox rows. */
  readAudit(limit: number): OutboxRow[] {
    return this.db
      .prepare<[number], OutboxRow>('SELECT seq, entry FROM fhir_audit_outbox ORDER BY seq LIMIT ?')
      .all(limit);
  }

  /** How many audit entries wait in the outbox. */
  auditBacklog(): number {
    return this.statements.auditBacklog.get()?.n ?? 0;
  }

  /**
   * Moves an outbox row the ledger refuses for what it says (e.g. FOREIGN_ACTOR) to
   * `fhir_audit_refused`, kept for the operator, so that it no longer holds up the rows after it.
   */
  setAsideAudit(seq: number, code: string, at: number): void {
    writeTransaction(this.db, () => {
      this.db
        .prepare<[string, number, number]>(
          `INSERT OR REPLACE INTO fhir_audit_refused (seq, entry, code, refused_at)
           SELECT seq, entry, ?, ? FROM fhir_audit_outbox WHERE seq = ?`,
        )
        .run(code, at, seq);
      this.db.prepare<[number]>('DELETE FROM fhir_audit_outbox WHERE seq = ?').run(seq);
    });
  }

  /** The audit entries the ledger refused, with the code it gave (oldest first). */
  refusedAudit(): { seq: number; entry: string; code: string; refusedAt: number }[] {
    return this.db
      .prepare<[], { seq: number; entry: string; code: string; refused_at: number }>(
        'SELECT seq, entry, code, refused_at FROM fhir_audit_refused ORDER BY seq',
      )
      .all()
      .map((r) => ({ seq: r.seq, entry: r.entry, code: r.code, refusedAt: r.refused_at }));
  }

  /** Deletes outbox rows (after their batch committed). */
  deleteAudit(seqs: readonly number[]): void {
    const del = this.db.prepare('DELETE FROM fhir_audit_outbox WHERE seq = ?');
    writeTransaction(this.db, () => {
      for (const seq of seqs) del.run(seq);
    });
  }

  /**
   * Remembers, before it is submitted, the signed `audit.batch` that ships outbox rows `seqs`:
   * until it is known to have committed or not, those rows are shipped again only in this very
   * envelope (whose nonce the ledger takes once), never in a new one that would record them twice.
   */
  markAuditInFlight(batch: AuditInFlight): void {
    this.db
      .prepare<[string, string, string]>(
        'INSERT OR REPLACE INTO fhir_audit_inflight (tx_id, envelope, seqs) VALUES (?, ?, ?)',
      )
      .run(batch.txId, batch.envelope, JSON.stringify(batch.seqs));
  }

  /** The batches submitted whose fate is not known yet (oldest first). */
  auditInFlight(): AuditInFlight[] {
    return this.db
      .prepare<[], { tx_id: string; envelope: string; seqs: string }>(
        'SELECT tx_id, envelope, seqs FROM fhir_audit_inflight ORDER BY rowid',
      )
      .all()
      .map((r) => ({ txId: r.tx_id, envelope: r.envelope, seqs: JSON.parse(r.seqs) as number[] }));
  }

  /**
   * Forgets the in-flight batch `txId`, in one transaction with the deletion of its outbox rows
   * when it committed (`committed`), so that a crash cannot separate the two.
   */
  settleAuditInFlight(txId: string, committed: boolean): void {
    writeTransaction(this.db, () => {
      const row = this.db
        .prepare<[string], { seqs: string }>('SELECT seqs FROM fhir_audit_inflight WHERE tx_id = ?')
        .get(txId);
      if (row === undefined) return;
      if (committed) this.deleteAudit(JSON.parse(row.seqs) as number[]);
      this.db.prepare<[string]>('DELETE FROM fhir_audit_inflight WHERE tx_id = ?').run(txId);
    });
  }
}

/**
 * The statement of {@link FhirIndexStore.datesOf} for `params` parameters and `records` record
 * ids. It reads the rows of the records it is given through `fhir_dates_by_record`, always:
 * left to itself, SQLite's planner picks `fhir_dates_by_param` for `param IN (…)`, which walks
 * the `_lastUpdated` rows of EVERY record the node keeps — a search or `$everything` then cost
 * more the more the node held, whatever the patient's own size (issue 14 §4).
 */
function datesOfSql(params: number, records: number): string {
  const marks = (n: number) => Array.from({ length: n }, () => '?').join(',');
  return `SELECT record_id, param, start_ms, end_ms FROM fhir_dates INDEXED BY fhir_dates_by_record
    WHERE record_id IN (${marks(records)}) AND param IN (${marks(params)}) ORDER BY rowid`;
}

/** Date ranges use ±Infinity for open ends; SQLite INTEGER holds safe integers. */
function clampMs(ms: number): number {
  if (ms === Infinity) return Number.MAX_SAFE_INTEGER;
  if (ms === -Infinity) return Number.MIN_SAFE_INTEGER;
  return Math.trunc(ms);
}

function unclampMs(ms: number): number {
  if (ms >= Number.MAX_SAFE_INTEGER) return Infinity;
  if (ms <= Number.MIN_SAFE_INTEGER) return -Infinity;
  return ms;
}
