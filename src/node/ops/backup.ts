/**
 * `roam backup`: a consistent online backup of a running node's data folder (see backup-files.ts
 * for what it holds).
 *
 * The ledger is copied before the vault, each in one SQLite read transaction. A record version is
 * written to the vault before its anchor is submitted to the ledger, so every anchor in the
 * ledger copy finds its ciphertext in the later vault copy; and a write is acknowledged only after
 * its anchor commits, so every write acknowledged before the backup began is in both. The vault
 * copy may also hold versions whose anchors came after the ledger copy: a restored network node
 * receives those anchors when it catches up; on a single node they stay unanchored, as writes
 * that were never acknowledged.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { backupDatabaseFile, LedgerStore } from '../../store/index.js';
import { DataFiles, parseNodeConfigFile } from '../config.js';
import { vaultPath } from '../fhir/fhir-service.js';
import {
  BACKUP_DATABASES,
  BACKUP_SIDE_DATABASES,
  BACKUP_FORMAT,
  BACKUP_MANIFEST,
  BACKUP_VERSION,
  BackupError,
  BackupErrorCode,
  dataFolderFiles,
  digestFile,
  type BackupFileEntry,
  type BackupManifest,
} from './backup-files.js';

/** Mode of the backup folder and its subfolders, and of every file in it: the owner's only. */
export const BACKUP_DIR_MODE = 0o700;
export const BACKUP_FILE_MODE = 0o600;

export interface CreateBackupOptions {
  /** The node's data folder (the node may be running). */
  readonly dataDir: string;
  /** A new or empty folder. */
  readonly outDir: string;
  /** Also copy the node key, admin wallet, TLS key and NATS seed (as they are at rest). */
  readonly includeKeys?: boolean;
  readonly clock?: () => number;
}

/**
 * Backs up the data folder `dataDir` into `outDir` and returns the manifest written there.
 *
 * @throws BackupError OUT_NOT_EMPTY, NOT_A_NODE; StoreError when a database cannot be copied
 */
export async function createBackup(options: CreateBackupOptions): Promise<BackupManifest> {
  const { dataDir, outDir } = options;
  const ledgerPath = DataFiles.store(dataDir);
  if (!existsSync(DataFiles.config(dataDir)) || !existsSync(ledgerPath)) {
    throw new BackupError(
      BackupErrorCode.NOT_A_NODE,
      `${dataDir} is not the data folder of a node that has started (no node.json or ledger.sqlite)`,
    );
  }
  if (existsSync(outDir) && readdirSync(outDir).length > 0) {
    throw new BackupError(BackupErrorCode.OUT_NOT_EMPTY, `${outDir} is not empty; back up into a new folder`);
  }
  mkdirSync(outDir, { recursive: true, mode: BACKUP_DIR_MODE });
  chmodSync(outDir, BACKUP_DIR_MODE);
  const config = parseNodeConfigFile(JSON.parse(readFileSync(DataFiles.config(dataDir), 'utf8')));
  const files = dataFolderFiles(config);

  // Ledger first, then vault (see the module comment).
  const [ledgerFile, vaultFile] = BACKUP_DATABASES;
  await backupDatabaseFile(ledgerPath, join(outDir, ledgerFile));
  if (existsSync(vaultPath(dataDir))) await backupDatabaseFile(vaultPath(dataDir), join(outDir, vaultFile));
  for (const file of BACKUP_SIDE_DATABASES) {
    if (existsSync(join(dataDir, file))) await backupDatabaseFile(join(dataDir, file), join(outDir, file));
  }
  const head = readHead(join(outDir, ledgerFile));

  const copied: string[] = [...BACKUP_DATABASES, ...BACKUP_SIDE_DATABASES].filter((file) =>
    existsSync(join(outDir, file)),
  );
  const plain = options.includeKeys === true ? [...files.public, ...files.secret] : files.public;
  for (const relative of plain) {
    const source = join(dataDir, relative);
    if (!existsSync(source)) continue;
    const target = join(outDir, relative);
    mkdirSync(dirname(target), { recursive: true, mode: BACKUP_DIR_MODE });
    copyFileSync(source, target);
    chmodSync(target, BACKUP_FILE_MODE);
    copied.push(relative);
  }
  const entries: BackupFileEntry[] = [];
  for (const path of copied) entries.push({ path, ...(await digestFile(join(outDir, path))) });
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    createdAt: new Date((options.clock ?? Date.now)()).toISOString(),
    chainId: head.chainId,
    height: head.height,
    headHash: head.hash,
    includesKeys: options.includeKeys === true,
    files: entries,
    keysLeftOut:
      options.includeKeys === true ? [] : files.secret.filter((path) => existsSync(join(dataDir, path))),
    external: files.external,
  };
  writeFileSync(join(outDir, BACKUP_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, {
    mode: BACKUP_FILE_MODE,
  });
  return manifest;
}

/** Height, hash and chain of the last block of the ledger database at `path`. */
export function readHead(path: string): {
  readonly height: number;
  readonly hash: string;
  readonly chainId: string;
} {
  const store = LedgerStore.open(path, { readonly: true });
  try {
    const head = store.head();
    const genesis = store.getMeta('genesis');
    if (head === undefined || genesis === undefined) {
      throw new BackupError(
        BackupErrorCode.INVALID,
        'the ledger copy holds no blocks (has the node ever started?)',
      );
    }
    return {
      height: head.height,
      hash: head.hash,
      chainId: (JSON.parse(genesis) as { chainId: string }).chainId,
    };
  } finally {
    store.close();
  }
}
