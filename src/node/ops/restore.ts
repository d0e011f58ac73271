/**
 * `roam restore`: writes a node's data folder from a backup (see backup-files.ts), after checking
 * it: the manifest's format, every file's size and SHA-256, node.json, the vault's SQLite check,
 * and the ledger re-executed from genesis (`verifyChain`) up to the manifest's height and head.
 * The folder is written beside the target and renamed into place, so a failed restore leaves
 * nothing half-written; the target must be empty or missing: a restore never overwrites a node.
 *
 * The restored node starts from the backup's height: in a network it catches up from its peers
 * and the ordering stream as any restarted node does; a single node is the state at the backup.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createContractSuite } from '../../contracts/index.js';
import { verifyChain } from '../../ledger/index.js';
import { checkDatabaseFile, LedgerStore, VaultStore } from '../../store/index.js';
import { DataFiles, parseNodeConfigFile } from '../config.js';
import {
  BACKUP_FORMAT,
  BACKUP_SIDE_DATABASES,
  BACKUP_MANIFEST,
  BACKUP_VERSION,
  BackupError,
  BackupErrorCode,
  digestFile,
  type BackupFileEntry,
  type BackupManifest,
} from './backup-files.js';
import { BACKUP_DIR_MODE, BACKUP_FILE_MODE } from './backup.js';

export interface RestoreOptions {
  /** The backup folder (`roam backup --out`). */
  readonly fromDir: string;
  /** The node's new data folder: missing or empty. */
  readonly dataDir: string;
}

export interface RestoreReport {
  readonly chainId: string;
  readonly height: number;
  readonly headHash: string;
  readonly transactions: number;
  readonly includesKeys: boolean;
  /** Secret files the backup left out: put them in the data folder before `roam start`. */
  readonly keysLeftOut: readonly string[];
  readonly external: readonly string[];
}

/**
 * Checks the backup in `fromDir` and writes it as the data folder `dataDir`.
 *
 * @throws BackupError TARGET_NOT_EMPTY, CORRUPT, INVALID
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreReport> {
  const dataDir = resolve(options.dataDir);
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new BackupError(
      BackupErrorCode.TARGET_NOT_EMPTY,
      `${dataDir} is not empty; restore into a new or empty folder`,
    );
  }
  const manifest = readManifest(options.fromDir);
  for (const file of manifest.files) {
    const path = join(options.fromDir, file.path);
    const digest = existsSync(path) ? await digestFile(path) : undefined;
    if (digest?.sha256 !== file.sha256 || digest.bytes !== file.bytes) {
      throw new BackupError(
        BackupErrorCode.CORRUPT,
        `${file.path} of the backup is missing or differs from its manifest entry`,
      );
    }
  }
  parseNodeConfigFile(
    JSON.parse(readFileSync(join(options.fromDir, basename(DataFiles.config('.'))), 'utf8')),
  );
  for (const file of ['vault.sqlite', ...BACKUP_SIDE_DATABASES]) {
    const problem = existsSync(join(options.fromDir, file))
      ? checkDatabaseFile(join(options.fromDir, file))
      : undefined;
    if (problem !== undefined)
      throw new BackupError(BackupErrorCode.INVALID, `the copy of ${file} fails SQLite's check: ${problem}`);
  }
  const verified = await verifyLedgerCopy(join(options.fromDir, basename(DataFiles.store('.'))), manifest);

  mkdirSync(dirname(dataDir), { recursive: true });
  // Written beside the target, then renamed over it (an empty folder is replaced by the rename).
  const staging = mkdtempSync(join(dirname(dataDir), `.${basename(dataDir)}.restoring-`));
  try {
    for (const file of manifest.files) {
      const target = join(staging, file.path);
      mkdirSync(dirname(target), { recursive: true, mode: BACKUP_DIR_MODE });
      copyFileSync(join(options.fromDir, file.path), target);
      chmodSync(target, BACKUP_FILE_MODE);
    }
    // The restored vault may lack ciphertexts the network anchored after the backup: its next
    // start compares every anchor (src/node/fhir/ciphertext-gaps.ts), not only the recent ones.
    const vaultCopy = join(staging, 'vault.sqlite');
    if (existsSync(vaultCopy)) VaultStore.forgetCiphertextsChecked(vaultCopy);
    chmodSync(staging, BACKUP_DIR_MODE);
    renameSync(staging, dataDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return {
    chainId: manifest.chainId,
    height: manifest.height,
    headHash: manifest.headHash,
    transactions: verified.txCount,
    includesKeys: manifest.includesKeys,
    keysLeftOut: manifest.keysLeftOut,
    external: manifest.external,
  };
}

function readManifest(fromDir: string): BackupManifest {
  let manifest: Partial<BackupManifest>;
  try {
    manifest = JSON.parse(readFileSync(join(fromDir, BACKUP_MANIFEST), 'utf8')) as Partial<BackupManifest>;
  } catch (error) {
    throw new BackupError(
      BackupErrorCode.CORRUPT,
      `no readable ${BACKUP_MANIFEST} in ${fromDir}: ${(error as Error).message}`,
    );
  }
  if (
    manifest.format !== BACKUP_FORMAT ||
    manifest.version !== BACKUP_VERSION ||
    !Array.isArray(manifest.files)
  ) {
    throw new BackupError(
      BackupErrorCode.CORRUPT,
      `${fromDir} is not a Roam backup (format ${BACKUP_FORMAT} v${BACKUP_VERSION})`,
    );
  }
  // Every path stays inside the backup and the data folder.
  for (const file of manifest.files as ReadonlyArray<Partial<BackupFileEntry>>) {
    if (typeof file.path !== 'string' || file.path.startsWith('/') || file.path.split('/').includes('..')) {
      throw new BackupError(
        BackupErrorCode.CORRUPT,
        `the manifest names a path outside the backup: ${String(file.path).slice(0, 100)}`,
      );
    }
  }
  return manifest as BackupManifest;
}

async function verifyLedgerCopy(
  path: string,
  manifest: BackupManifest,
): Promise<{ readonly txCount: number }> {
  if (!existsSync(path)) throw new BackupError(BackupErrorCode.CORRUPT, 'the backup holds no ledger.sqlite');
  const store = LedgerStore.open(path, { readonly: true });
  try {
    const report = await verifyChain(store, createContractSuite());
    if (!report.ok)
      throw new BackupError(
        BackupErrorCode.INVALID,
        `the ledger copy does not verify at height ${report.height}: ${report.problem}`,
      );
    if (report.height !== manifest.height || report.headHash !== manifest.headHash) {
      throw new BackupError(
        BackupErrorCode.INVALID,
        `the ledger copy ends at height ${report.height}, the manifest says ${manifest.height}`,
      );
    }
    return { txCount: report.txCount };
  } finally {
    store.close();
  }
}
