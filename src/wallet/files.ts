/**
 * Wallet files on disk (Node only): atomic, owner-only writes, and passphrase lookup for
 * the CLI. A passphrase never comes from a command-line argument (it would show in `ps`
 * and shell history): only from a file or the ROAM_PASSPHRASE environment variable.
 */
import { link, open as openFile, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes, toHex } from '../crypto/index.js';
import { WalletError, WalletErrorCode } from './errors.js';
import { decodeWalletFile, encodeWalletFile, type KdfParams } from './keystore.js';
import type { Wallet } from './wallet.js';

/** Owner read/write only. */
export const WALLET_FILE_MODE = 0o600;
export const PASSPHRASE_ENV_VAR = 'ROAM_PASSPHRASE';

export interface SaveWalletOptions {
  /** Replace an existing file at `path`; without it saving there fails with WALLET_EXISTS. */
  overwrite?: boolean;
  /** scrypt cost; see {@link encodeWalletFile}. */
  kdfParams?: KdfParams;
}

function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as NodeJS.ErrnoException).code : undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

function walletExists(path: string): WalletError {
  return new WalletError(
    WalletErrorCode.WALLET_EXISTS,
    `a wallet file already exists at ${path}; pass overwrite to replace it`,
  );
}

/** Makes the rename durable across a crash; some platforms cannot fsync a directory. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await openFile(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Best effort only.
  }
}

/**
 * Encrypts `wallet` under `passphrase` and writes it to `path` with mode 0600, atomically:
 * the text goes to a temporary file in the same directory, is flushed, then takes the name.
 * A reader never sees a half-written wallet, and a crash leaves the old file intact.
 *
 * @throws WalletError WALLET_EXISTS when `path` exists and `overwrite` is not set; the
 *   errors of {@link encodeWalletFile}
 * @example
 * await saveWallet('./patient.wallet.json', wallet, await resolvePassphrase({ env: process.env }));
 */
export async function saveWallet(
  path: string,
  wallet: Wallet,
  passphrase: string,
  options: SaveWalletOptions = {},
): Promise<void> {
  const overwrite = options.overwrite === true;
  // Fail before the (deliberately slow) key derivation; the link below still guards the race.
  if (!overwrite && (await exists(path))) throw walletExists(path);
  const text = await encodeWalletFile(wallet, passphrase, options.kdfParams);
  await writeFileAtomically(path, text, overwrite ? { overwrite } : { overwrite, exists: () => walletExists(path) });
}

/**
 * `overwrite`: replace an existing file at the path; without it, an existing file is never
 * touched and `exists()` is the error thrown.
 */
export type AtomicWriteOptions =
  | { readonly overwrite: true }
  | { readonly overwrite: false; readonly exists: () => Error };

/**
 * Writes `text` at `path` with mode 0600, atomically: the text goes to a temporary file in the
 * same directory, is flushed, then takes the name. A reader never sees a half-written file, and a
 * crash leaves the old file (or none) intact. Shared by every file holding secrets (wallets, node key).
 */
export async function writeFileAtomically(path: string, text: string, options: AtomicWriteOptions): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${toHex(randomBytes(6))}.tmp`);
  const handle = await openFile(temp, 'wx', WALLET_FILE_MODE);
  try {
    try {
      // The mode given to open is reduced by the umask; make sure of 0600 whatever it is.
      await handle.chmod(WALLET_FILE_MODE);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.overwrite) {
      await rename(temp, path);
    } else {
      await linkWithoutReplacing(temp, path, options.exists);
    }
  } finally {
    // After rename the temp name is gone; after link (or on failure) it must go.
    await unlink(temp).catch(() => undefined);
  }
  await syncDirectory(dirname(path));
}

/** link(2) fails if the target exists, so no other writer's file is ever replaced. */
async function linkWithoutReplacing(temp: string, path: string, existsError: () => Error): Promise<void> {
  try {
    await link(temp, path);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') throw existsError();
    // File systems without hard links: fall back to check-then-rename.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      if (await exists(path)) throw existsError();
      await rename(temp, path);
      return;
    }
    throw error;
  }
}

/**
 * Reads and opens the wallet file at `path`.
 *
 * @throws WalletError WALLET_NOT_FOUND when there is no file; the errors of {@link decodeWalletFile}
 */
export async function loadWallet(path: string, passphrase: string): Promise<Wallet> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      throw new WalletError(WalletErrorCode.WALLET_NOT_FOUND, `no wallet file at ${path}`, { cause: error });
    }
    throw error;
  }
  return decodeWalletFile(text, passphrase);
}

/**
 * Finds the passphrase the CLI should use: the contents of `passphraseFile` (less one
 * trailing newline), else `env.ROAM_PASSPHRASE`.
 *
 * @throws WalletError PASSPHRASE_REQUIRED when neither gives a non-empty passphrase;
 *   PASSPHRASE_FILE_UNREADABLE when the named file cannot be read
 * @example
 * const passphrase = await resolvePassphrase({ passphraseFile: opts.passphraseFile, env: process.env });
 */
export async function resolvePassphrase(opts: {
  passphraseFile?: string;
  env: Record<string, string | undefined>;
}): Promise<string> {
  if (opts.passphraseFile !== undefined) {
    let text: string;
    try {
      text = await readFile(opts.passphraseFile, 'utf8');
    } catch (error) {
      throw new WalletError(
        WalletErrorCode.PASSPHRASE_FILE_UNREADABLE,
        `cannot read the passphrase file ${opts.passphraseFile} (${errnoCode(error) ?? 'error'})`,
      );
    }
    // Exactly one line ending, as `echo` or an editor leaves it; other whitespace is part of it.
    const passphrase = text.replace(/\r?\n$/u, '');
    if (passphrase.length === 0) {
      throw new WalletError(
        WalletErrorCode.PASSPHRASE_REQUIRED,
        `the passphrase file ${opts.passphraseFile} is empty`,
      );
    }
    return passphrase;
  }
  const fromEnv = opts.env[PASSPHRASE_ENV_VAR];
  if (fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  throw new WalletError(
    WalletErrorCode.PASSPHRASE_REQUIRED,
    `a passphrase is required: give a passphrase file (--passphrase-file <path>) or set ${PASSPHRASE_ENV_VAR}`,
  );
}
