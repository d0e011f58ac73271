/**
 * Online backup of a SQLite file that a running node holds open (SQLite's backup API through
 * better-sqlite3's `.backup()`). The copy is taken in one backup step: one read transaction, so
 * it is the database as of one commit — the node goes on writing meanwhile (WAL mode: readers do
 * not block writers), and a commit made during the copy is simply not in it. A copy taken page by
 * page in several steps would restart whenever the node commits, and might never finish under load.
 */
import Database from 'better-sqlite3';
import { StoreError, StoreErrorCode } from './errors.js';
import { ensureOwnerOnlyDatabaseFile } from './file-mode.js';

/** better-sqlite3's largest step: every page at once. */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies the database at `source` (opened read-only; it must exist) to `destination` (a new
 * file, created 0600 like every node database file).
 *
 * @throws StoreError STORE_OPEN_FAILED when `source` cannot be opened, STORE_WRITE_FAILED when
 *   the copy fails
 */
export async function backupDatabaseFile(
  source: string,
  destination: string,
): Promise<{ readonly pages: number }> {
  let db: Database.Database;
  try {
    db = new Database(source, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new StoreError(
      StoreErrorCode.OPEN_FAILED,
      `cannot open ${source} for a backup: ${(error as Error).message}`,
    );
  }
  try {
    ensureOwnerOnlyDatabaseFile(destination);
    // The first step only counts the pages (better-sqlite3 starts at 0); every page goes in the next.
    const result = await db.backup(destination, { progress: () => ALL_PAGES });
    return { pages: result.totalPages };
  } catch (error) {
    throw new StoreError(
      StoreErrorCode.WRITE_FAILED,
      `backup of ${source} failed: ${(error as Error).message}`,
    );
  } finally {
    db.close();
  }
}

/**
 * SQLite's quick check of the database at `path` (opened read-only): undefined when it is sound,
 * else the first problem it reports.
 */
export function checkDatabaseFile(path: string): string | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const result = db.pragma('quick_check', { simple: true });
    return result === 'ok' ? undefined : String(result);
  } catch (error) {
    return (error as Error).message;
  } finally {
    db?.close();
  }
}
