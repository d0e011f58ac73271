/**
 * Owner-only file modes for the node's SQLite files. The ledger and vault hold pseudonymous
 * health metadata and ciphertexts: no other account on the machine may read them. SQLite gives
 * its `-wal` and `-shm` files the mode of the database file (os_unix.c, findCreateFileMode), so
 * creating the database file 0600 before SQLite opens it is what makes all three 0600; files
 * left by an older version are narrowed on open.
 */
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';

/** Mode of every SQLite file of a node: read and write for the owner only. */
export const DATABASE_FILE_MODE = 0o600;

/** The files SQLite keeps beside a database in WAL mode. */
const SIDE_FILE_SUFFIXES = ['-wal', '-shm', '-journal'] as const;

/**
 * Creates `path` empty with mode 0600 if it does not exist, and sets 0600 on it and on its
 * `-wal`/`-shm`/`-journal` files if they do. ':memory:' and '' (SQLite's temporary databases)
 * are left alone.
 */
export function ensureOwnerOnlyDatabaseFile(path: string): void {
  if (path === ':memory:' || path === '') return;
  // 'a': create without truncating; the mode applies only when the file is created.
  closeSync(openSync(path, 'a', DATABASE_FILE_MODE));
  for (const file of [path, ...SIDE_FILE_SUFFIXES.map((suffix) => path + suffix)]) {
    if (existsSync(file)) chmodSync(file, DATABASE_FILE_MODE);
  }
}
