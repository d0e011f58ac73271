/**
 * What a custodian's node restored from a backup still misses (`refill_gaps` in
 * `DATA/replica.sqlite`): one row per anchored version of its own records whose ciphertext its
 * vault lacks, with the replica organization the patient named (if any) and the last time the
 * refill asked for it and how that ended. The node rewrites the list on each refill pass
 * (src/node/replica/refill.ts); `roam replica status --data DIR` reads it offline, read-only,
 * while the node runs or not. Nothing readable: record ids, DIDs, version numbers and codes.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';

/** One missing version as the refill last saw it. */
export interface RefillGapRow {
  readonly recordId: string;
  readonly version: number;
  /** The organization the patient named as its replica (null: none named, only the operator can help). */
  readonly replica: string | null;
  /** When the refill last asked a replica for it (ms since the epoch; null: never). */
  readonly attemptedAt: number | null;
  /** How that attempt ended: `absent`, `unreachable`, or the code of a refusal (null: never asked). */
  readonly outcome: string | null;
}

/** The refill's list, as read by the operator. */
export interface RefillReport {
  /** When the node last compared its vault with the ledger's anchors (null: never, e.g. an older build). */
  readonly checkedAt: number | null;
  readonly gaps: readonly RefillGapRow[];
}

/** A missing version to record, before any attempt. */
export interface RefillGapKey {
  readonly recordId: string;
  readonly version: number;
  readonly replica: string | null;
}

const CHECKED_AT = 'refill_checked_at';
const GAP_COLUMNS = 'record_id AS recordId, version, replica, attempted_at AS attemptedAt, outcome';

/** The `refill_gaps` table (see the module comment); the replica store creates it on its connection. */
export class RefillLog {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS refill_gaps (
        record_id TEXT NOT NULL, version INTEGER NOT NULL, replica TEXT, attempted_at INTEGER, outcome TEXT,
        PRIMARY KEY (record_id, version)) STRICT;
    `);
    this.statements = {
      all: db.prepare<[], RefillGapRow>(`SELECT ${GAP_COLUMNS} FROM refill_gaps ORDER BY record_id, version`),
      clear: db.prepare('DELETE FROM refill_gaps'),
      restore: db.prepare<[string, number, string | null, number | null, string | null]>(
        'INSERT INTO refill_gaps (record_id, version, replica, attempted_at, outcome) VALUES (?, ?, ?, ?, ?)',
      ),
      attempt: db.prepare<[number, string, string, number]>(
        'UPDATE refill_gaps SET attempted_at = ?, outcome = ? WHERE record_id = ? AND version = ?',
      ),
      setMeta: db.prepare<[string, string]>(
        'INSERT INTO replica_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      getMeta: db.prepare<[string], string>('SELECT value FROM replica_meta WHERE key = ?').pluck(),
    };
  }

  /**
   * Replaces the list with `gaps` as counted at `at`: a version no longer missing leaves it, one
   * still missing keeps its last attempt, a new one enters without any.
   */
  replace(gaps: readonly RefillGapKey[], at: number): void {
    const s = this.statements;
    this.db.transaction(() => {
      const before = new Map(s.all.all().map((row) => [`${row.recordId}\u0000${row.version}`, row]));
      s.clear.run();
      for (const gap of gaps) {
        const kept = before.get(`${gap.recordId}\u0000${gap.version}`);
        s.restore.run(gap.recordId, gap.version, gap.replica, kept?.attemptedAt ?? null, kept?.outcome ?? null);
      }
      s.setMeta.run(CHECKED_AT, String(at));
    })();
  }

  /** Records that the refill asked for `versions` at `at`, and how it ended for each. */
  noteAttempts(attempts: ReadonlyArray<{ readonly recordId: string; readonly version: number; readonly outcome: string }>, at: number): void {
    this.db.transaction(() => {
      for (const a of attempts) this.statements.attempt.run(at, a.outcome, a.recordId, a.version);
    })();
  }

  /** The list as it stands. */
  report(): RefillReport {
    const checkedAt = this.statements.getMeta.get(CHECKED_AT);
    return { checkedAt: checkedAt === undefined ? null : Number(checkedAt), gaps: this.statements.all.all() };
  }

  /**
   * The list in the replica file at `path`, opened read-only (the node may be running); null
   * when the file or the list does not exist (the node never opened with this build).
   */
  static read(path: string): RefillReport | null {
    if (!existsSync(path)) return null;
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const tables = db
        .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('refill_gaps', 'replica_meta')")
        .pluck()
        .all();
      if (tables.length < 2) return null;
      return new RefillLog(db).report();
    } finally {
      db.close();
    }
  }
}
