/**
 * The SMART Health Links of one node, in their own SQLite file (`shl.sqlite`, owner-only): each
 * link's encrypted file (the node never holds its key), its flags, expiry and passcode hash, the
 * lifetime count of passcode attempts left, the accesses (with the recipient as the viewer gave
 * it: free text, so it stays here and never goes to the ledger), and the single-use file tickets
 * behind `location` URLs.
 *
 * Secrets are stored as hashes computed by the caller: the manifest path's random segment
 * (`manifest_hash`), each ticket (`ticket_hash`), the passcode (scrypt). A copy of this file
 * therefore opens no link. The attempts counter is changed by single UPDATE statements (SQLite
 * serializes writers), so parallel requests cannot spend more attempts than are left.
 */
import type Database from 'better-sqlite3';
import { openDatabaseFile } from './sqlite-file.js';

/** A link as stored (without its file). */
export interface ShareLinkRow {
  readonly id: string;
  readonly patient: string;
  /** The payload flag letters ('' for none). */
  readonly flag: string;
  readonly label: string | null;
  /** Expiry, ms since the epoch; null for none. */
  readonly expiresAt: number | null;
  /** `scrypt$<N>$<r>$<p>$<salt>$<hash>` (base64url); null without a passcode. */
  readonly passcodeHash: string | null;
  /** Passcode attempts left over the link's lifetime; null without a passcode. */
  readonly attemptsLeft: number | null;
  readonly active: boolean;
  readonly contentType: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  /**
   * The link itself (`{url, key, …}`) sealed by the patient's wallet (`v1.<iv>.<ciphertext>`),
   * opaque here: kept so any device with the wallet can show the QR code again or refresh the
   * file. Null for a link made before, or by a client that keeps its keys elsewhere.
   */
  readonly sealedKey: string | null;
}

/** A new link. */
export interface NewShareLink extends Omit<ShareLinkRow, 'active' | 'updatedAt' | 'sealedKey'> {
  /** SHA-256 (hex) of the manifest path's random segment. */
  readonly manifestHash: string;
  /** The compact JWE of the file. */
  readonly jwe: string;
}

/** One access to a link, as its patient sees it. */
export interface ShareLinkAccessRow {
  readonly linkId: string;
  readonly at: number;
  /** As the viewer sent it (free text; shown to the patient only). */
  readonly recipient: string;
  /** `manifest`, `file` (a `location` fetched) or `direct` (a `U` link's GET). */
  readonly kind: 'manifest' | 'file' | 'direct';
  readonly outcome: 'success' | 'denied';
}

/** How replacing a link's file went. */
export type ReplaceFileOutcome = 'replaced' | 'not-found' | 'not-long-term' | 'inactive';

/** How storing a link's sealed key went. */
export type SealKeyOutcome = 'sealed' | 'not-found' | 'inactive';

interface LinkSqlRow {
  id: string;
  patient: string;
  flag: string;
  label: string | null;
  expires_at: number | null;
  passcode_hash: string | null;
  attempts_left: number | null;
  active: number;
  content_type: string;
  created_at: number;
  updated_at: number;
  sealed_key: string | null;
}

const LINK_COLUMNS =
  'id, patient, flag, label, expires_at, passcode_hash, attempts_left, active, content_type, created_at, updated_at, sealed_key';

function toLink(r: LinkSqlRow): ShareLinkRow {
  return {
    id: r.id,
    patient: r.patient,
    flag: r.flag,
    label: r.label,
    expiresAt: r.expires_at,
    passcodeHash: r.passcode_hash,
    attemptsLeft: r.attempts_left,
    active: r.active === 1,
    contentType: r.content_type,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    sealedKey: r.sealed_key,
  };
}

/**
 * The share-link tables (see the module comment).
 *
 * @example
 * const links = ShareLinkStore.open(join(dataDir, 'shl.sqlite'));
 * links.insertLink({ id, manifestHash, patient, flag: 'P', … });
 */
export class ShareLinkStore {
  private readonly statements;

  private constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS shl_links (
        id TEXT PRIMARY KEY, manifest_hash TEXT NOT NULL UNIQUE, patient TEXT NOT NULL, flag TEXT NOT NULL,
        label TEXT, expires_at INTEGER, passcode_hash TEXT, attempts_left INTEGER,
        active INTEGER NOT NULL, content_type TEXT NOT NULL, jwe TEXT NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) STRICT;
      CREATE INDEX IF NOT EXISTS shl_links_by_patient ON shl_links (patient, created_at);
      CREATE TABLE IF NOT EXISTS shl_accesses (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, link_id TEXT NOT NULL, at INTEGER NOT NULL,
        recipient TEXT NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL) STRICT;
      CREATE INDEX IF NOT EXISTS shl_accesses_by_link ON shl_accesses (link_id, seq);
      CREATE TABLE IF NOT EXISTS shl_tickets (
        ticket_hash TEXT PRIMARY KEY, link_id TEXT NOT NULL, recipient TEXT NOT NULL,
        expires_at INTEGER NOT NULL) STRICT, WITHOUT ROWID;
    `);
    // Files made before links kept their sealed key gain the column (null: "QR not available").
    const columns = db.prepare<[], { name: string }>('SELECT name FROM pragma_table_info(\'shl_links\')').all();
    if (!columns.some((column) => column.name === 'sealed_key')) db.exec('ALTER TABLE shl_links ADD COLUMN sealed_key TEXT');
    this.statements = {
      insert: db.prepare(
        `INSERT INTO shl_links (id, manifest_hash, patient, flag, label, expires_at, passcode_hash, attempts_left,
           active, content_type, jwe, created_at, updated_at)
         VALUES (@id, @manifestHash, @patient, @flag, @label, @expiresAt, @passcodeHash, @attemptsLeft,
           1, @contentType, @jwe, @createdAt, @createdAt)`,
      ),
      byManifest: db.prepare<[string], LinkSqlRow & { jwe: string }>(
        `SELECT ${LINK_COLUMNS}, jwe FROM shl_links WHERE manifest_hash = ?`,
      ),
      byId: db.prepare<[string], LinkSqlRow & { jwe: string }>(`SELECT ${LINK_COLUMNS}, jwe FROM shl_links WHERE id = ?`),
      ofPatient: db.prepare<[string], LinkSqlRow>(
        `SELECT ${LINK_COLUMNS} FROM shl_links WHERE patient = ? ORDER BY created_at, id`,
      ),
      accessesOfPatient: db.prepare<[string], { link_id: string; at: number; recipient: string; kind: string; outcome: string }>(
        `SELECT a.link_id, a.at, a.recipient, a.kind, a.outcome FROM shl_accesses a
         JOIN shl_links l ON l.id = a.link_id WHERE l.patient = ? ORDER BY a.seq`,
      ),
      deactivate: db.prepare<[number, string, string]>(
        'UPDATE shl_links SET active = 0, updated_at = ? WHERE id = ? AND patient = ?',
      ),
      dropTickets: db.prepare<[string]>('DELETE FROM shl_tickets WHERE link_id = ?'),
      replaceFile: db.prepare<[string, number, string]>('UPDATE shl_links SET jwe = ?, updated_at = ? WHERE id = ?'),
      sealKey: db.prepare<[string, number, string]>('UPDATE shl_links SET sealed_key = ?, updated_at = ? WHERE id = ?'),
      reserveAttempt: db.prepare<[string], { attempts_left: number }>(
        `UPDATE shl_links SET attempts_left = attempts_left - 1
         WHERE id = ? AND active = 1 AND attempts_left > 0 RETURNING attempts_left`,
      ),
      refundAttempt: db.prepare<[string]>('UPDATE shl_links SET attempts_left = attempts_left + 1 WHERE id = ?'),
      recordAccess: db.prepare(
        'INSERT INTO shl_accesses (link_id, at, recipient, kind, outcome) VALUES (@linkId, @at, @recipient, @kind, @outcome)',
      ),
      issueTicket: db.prepare<[string, string, string, number]>(
        'INSERT INTO shl_tickets (ticket_hash, link_id, recipient, expires_at) VALUES (?, ?, ?, ?)',
      ),
      purgeTickets: db.prepare<[number]>('DELETE FROM shl_tickets WHERE expires_at <= ?'),
      consumeTicket: db.prepare<[string], { link_id: string; recipient: string; expires_at: number }>(
        'DELETE FROM shl_tickets WHERE ticket_hash = ? RETURNING link_id, recipient, expires_at',
      ),
    };
  }

  /**
   * Opens (creating its tables if needed) the store in the SQLite file at `path` (':memory:' for
   * a scratch store).
   *
   * @throws StoreError STORE_OPEN_FAILED
   */
  static open(path: string): ShareLinkStore {
    // secure_delete (openDatabaseFile): a replaced or deleted file is overwritten in the pages.
    return new ShareLinkStore(openDatabaseFile(path));
  }

  insertLink(link: NewShareLink): void {
    this.statements.insert.run(link);
  }

  /** The link whose manifest segment hashes to `manifestHash`, with its file. */
  linkByManifest(manifestHash: string): (ShareLinkRow & { readonly jwe: string }) | undefined {
    const row = this.statements.byManifest.get(manifestHash);
    return row === undefined ? undefined : { ...toLink(row), jwe: row.jwe };
  }

  /** The link `id`, with its file. */
  linkById(id: string): (ShareLinkRow & { readonly jwe: string }) | undefined {
    const row = this.statements.byId.get(id);
    return row === undefined ? undefined : { ...toLink(row), jwe: row.jwe };
  }

  /** Every link of `patient`, oldest first. */
  linksOfPatient(patient: string): ShareLinkRow[] {
    return this.statements.ofPatient.all(patient).map(toLink);
  }

  /** Every access to the links of `patient`, oldest first. */
  accessesOfPatient(patient: string): ShareLinkAccessRow[] {
    return this.statements.accessesOfPatient.all(patient).map((r) => ({
      linkId: r.link_id,
      at: r.at,
      recipient: r.recipient,
      kind: r.kind as ShareLinkAccessRow['kind'],
      outcome: r.outcome as ShareLinkAccessRow['outcome'],
    }));
  }

  /**
   * Deactivates link `id` of `patient` and drops its open tickets; false when `patient` has no
   * link `id` (another patient's link is left as it is).
   */
  deactivate(id: string, patient: string, now: number): boolean {
    return this.db.transaction(() => {
      if (this.statements.deactivate.run(now, id, patient).changes === 0) return false;
      this.statements.dropTickets.run(id);
      return true;
    })();
  }

  /**
   * Replaces the file of `patient`'s active long-term (`L`) link `id` and, when given, its sealed
   * key (the client reseals it with what the new file was built from), in one transaction.
   */
  replaceFile(options: {
    readonly id: string;
    readonly patient: string;
    readonly jwe: string;
    readonly sealedKey?: string | undefined;
    readonly now: number;
  }): ReplaceFileOutcome {
    return this.db.transaction((): ReplaceFileOutcome => {
      const link = this.statements.byId.get(options.id);
      if (link === undefined || link.patient !== options.patient) return 'not-found';
      if (link.active !== 1) return 'inactive';
      if (!link.flag.includes('L')) return 'not-long-term';
      this.statements.replaceFile.run(options.jwe, options.now, options.id);
      if (options.sealedKey !== undefined) this.statements.sealKey.run(options.sealedKey, options.now, options.id);
      return 'replaced';
    })();
  }

  /** Stores the sealed key of `patient`'s active link `id` (replacing any earlier one). */
  sealKey(options: { readonly id: string; readonly patient: string; readonly sealedKey: string; readonly now: number }): SealKeyOutcome {
    return this.db.transaction((): SealKeyOutcome => {
      const link = this.statements.byId.get(options.id);
      if (link === undefined || link.patient !== options.patient) return 'not-found';
      if (link.active !== 1) return 'inactive';
      this.statements.sealKey.run(options.sealedKey, options.now, options.id);
      return 'sealed';
    })();
  }

  /**
   * Takes one passcode attempt of active link `id` before the passcode is checked: the attempts
   * left after it, or undefined when none was left (or the link is inactive). At most
   * `attemptsLeft` checks can therefore ever run, however many requests come at once.
   */
  reserveAttempt(id: string): number | undefined {
    return this.statements.reserveAttempt.get(id)?.attempts_left;
  }

  /** Gives back the attempt a right passcode reserved. */
  refundAttempt(id: string): void {
    this.statements.refundAttempt.run(id);
  }

  recordAccess(access: ShareLinkAccessRow): void {
    this.statements.recordAccess.run(access);
  }

  /**
   * Stores a file ticket (its hash) of `linkId` for `recipient` (the manifest request's) until
   * `expiresAt`; forgets expired ones.
   */
  issueTicket(options: {
    readonly ticketHash: string;
    readonly linkId: string;
    readonly recipient: string;
    readonly expiresAt: number;
    readonly now: number;
  }): void {
    this.statements.purgeTickets.run(options.now);
    this.statements.issueTicket.run(options.ticketHash, options.linkId, options.recipient, options.expiresAt);
  }

  /** Consumes a ticket (whatever its state): its link and recipient when it was unexpired at `now`. */
  consumeTicket(ticketHash: string, now: number): { readonly linkId: string; readonly recipient: string } | undefined {
    const row = this.statements.consumeTicket.get(ticketHash);
    return row !== undefined && row.expires_at > now ? { linkId: row.link_id, recipient: row.recipient } : undefined;
  }

  close(): void {
    this.db.close();
  }
}
