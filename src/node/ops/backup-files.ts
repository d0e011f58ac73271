/**
 * What a backup of a node's data folder holds, and its manifest. A backup is a folder (not one
 * archive file: no maintained tar or zip library is among the project's dependencies, and an
 * operator who wants one file runs `tar` on the folder):
 *
 * - `manifest.json`: format, chain, the ledger height and head hash of the copy, and the size and
 *   SHA-256 of every other file (checked by `roam restore`);
 * - `ledger.sqlite` and `vault.sqlite`: online copies of the node's databases;
 * - `node.json`, `genesis.json` and the public TLS files node.json names (certificate, CA);
 * - with `--include-keys` only: `node.key.json` (as it is at rest: encrypted when the node's is),
 *   the organization admin's wallet (passphrase-encrypted), the TLS private key and the NATS seed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { isAbsolute, normalize, sep } from 'node:path';
import { CodedError } from '../../crypto/index.js';
import { DataFiles, type NodeConfigFile } from '../config.js';

export const BACKUP_FORMAT = 'roam-backup';
export const BACKUP_VERSION = 1;
export const BACKUP_MANIFEST = 'manifest.json';
/** The databases, in the order they are copied (see backup.ts for why the ledger goes first). */
export const BACKUP_DATABASES = ['ledger.sqlite', 'vault.sqlite'] as const;

/**
 * The node's other databases, copied after the vault when they exist: the SMART Health Links
 * (`shl.sqlite`: the patients' encrypted files and sealed link keys) and the records held as a
 * patient's replica (`replica.sqlite`, with its shipping outbox). Copied after the ledger, like the
 * vault: what they name that the ledger copy does not hold yet is caught up after the restore.
 */
export const BACKUP_SIDE_DATABASES = ['shl.sqlite', 'replica.sqlite'] as const;

export const BackupErrorCode = {
  /** `--out` exists and is not an empty folder. */
  OUT_NOT_EMPTY: 'BACKUP_OUT_NOT_EMPTY',
  /** `--data` of `roam backup` is not a node's data folder (no node.json or ledger). */
  NOT_A_NODE: 'BACKUP_NOT_A_NODE',
  /** `--data` of `roam restore` exists and is not empty: a restore never overwrites a node. */
  TARGET_NOT_EMPTY: 'RESTORE_TARGET_NOT_EMPTY',
  /** The backup's manifest is missing or not ours, or a file's size or hash differs from it. */
  CORRUPT: 'BACKUP_CORRUPT',
  /** The backup's ledger does not verify (re-execution from genesis), or its vault fails SQLite's check. */
  INVALID: 'BACKUP_INVALID',
} as const;
export type BackupErrorCode = (typeof BackupErrorCode)[keyof typeof BackupErrorCode];

export class BackupError extends CodedError<BackupErrorCode> {
  override readonly name = 'BackupError';
}

export interface BackupFileEntry {
  /** Relative to the backup folder and to the data folder (forward slashes). */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface BackupManifest {
  readonly format: typeof BACKUP_FORMAT;
  readonly version: typeof BACKUP_VERSION;
  readonly createdAt: string;
  readonly chainId: string;
  /** Height and hash of the last block in the ledger copy. */
  readonly height: number;
  readonly headHash: string;
  readonly includesKeys: boolean;
  readonly files: readonly BackupFileEntry[];
  /** Secret files of the data folder left out (no --include-keys): put them back before starting. */
  readonly keysLeftOut: readonly string[];
  /** Files node.json names by absolute path, outside the data folder: not in the backup. */
  readonly external: readonly string[];
}

/** The plain files of a data folder a backup copies: public ones, and the secret ones apart. */
export interface DataFolderFiles {
  readonly public: readonly string[];
  readonly secret: readonly string[];
  readonly external: readonly string[];
}

/** The files of the data folder whose node.json is `config`, by kind (databases excluded). */
export function dataFolderFiles(config: NodeConfigFile): DataFolderFiles {
  const external: string[] = [];
  const inside = (paths: ReadonlyArray<string | undefined>) =>
    paths.flatMap((path) => {
      if (path === undefined) return [];
      if (isAbsolute(path)) {
        external.push(path);
        return [];
      }
      const relative = normalize(path).split(sep).join('/');
      // A relative path that climbs out of the folder is outside it as well.
      if (relative.startsWith('../')) {
        external.push(path);
        return [];
      }
      return [relative];
    });
  const ordering = config.ordering.kind === 'jetstream' ? config.ordering : undefined;
  const fileName = (path: string) => path.slice(path.lastIndexOf(sep) + 1);
  const publicFiles = [
    fileName(DataFiles.config('.')),
    fileName(DataFiles.genesis('.')),
    ...inside([config.tls?.certFile, config.tls?.caFile, ordering?.caFile]),
  ];
  const secret = [
    fileName(DataFiles.nodeKey('.')),
    fileName(DataFiles.adminWallet('.')),
    ...inside([config.tls?.keyFile, ordering?.nkeySeedFile]),
  ];
  return {
    public: [...new Set(publicFiles)],
    secret: [...new Set(secret)].filter((path) => !publicFiles.includes(path)),
    external,
  };
}

/** SHA-256 (hex) and size of the file at `path`, read as a stream. */
export async function digestFile(path: string): Promise<{ readonly sha256: string; readonly bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
