/**
 * What several command groups share: the options every command has, argument parsers, and the
 * one place the CLI reads its environment (passphrase, test-only KDF cost).
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { fromBase64Url, isSigningDid, PUBLIC_KEY_LENGTH } from '../crypto/index.js';
import { NODE_PASSPHRASE_ENV_VAR } from '../node/index.js';
import {
  createWallet,
  loadWallet,
  resolvePassphrase,
  saveWallet,
  MIN_KDF_N,
  PASSPHRASE_ENV_VAR,
  type KdfParams,
  type PartyRole,
  type Wallet,
} from '../wallet/index.js';
import { CliError, CliErrorCode } from './output.js';

/**
 * TEST ONLY. `ROAM_TEST_FAST_KDF=1` makes the CLI protect the wallets it creates with scrypt
 * N=2^15 (the lowest cost a wallet file may have) instead of the default 2^17, so that test
 * suites creating many wallets stay fast.
 * Never set it for real wallets: it makes their passphrase far cheaper to guess.
 */
export const TEST_FAST_KDF_ENV_VAR = 'ROAM_TEST_FAST_KDF';
const TEST_KDF_PARAMS: KdfParams = { N: MIN_KDF_N, r: 8, p: 1 };

/** scrypt parameters for new wallets: the wallet layer's default unless the test switch is on. */
export function walletKdfParams(): KdfParams | undefined {
  return process.env[TEST_FAST_KDF_ENV_VAR] === '1' ? TEST_KDF_PARAMS : undefined;
}

/** Show ROAM_DEBUG=1 stack traces for unexpected errors. */
export function debugEnabled(): boolean {
  return process.env['ROAM_DEBUG'] === '1';
}

export interface PassphraseOptions {
  readonly passphraseFile?: string;
}

/** The passphrase from --passphrase-file or ROAM_PASSPHRASE (never from an argument). */
export function passphraseFrom(options: PassphraseOptions): Promise<string> {
  return resolvePassphrase({
    env: process.env,
    ...(options.passphraseFile === undefined ? {} : { passphraseFile: options.passphraseFile }),
  });
}

export interface NodePassphraseOptions {
  readonly nodePassphraseFile?: string;
}

/**
 * The node key's passphrase from --node-passphrase-file or ROAM_NODE_PASSPHRASE (never from an
 * argument), or undefined when neither is given (the node key is then in clear).
 */
export async function nodePassphraseFrom(options: NodePassphraseOptions): Promise<string | undefined> {
  const fromEnv = process.env[NODE_PASSPHRASE_ENV_VAR];
  if (options.nodePassphraseFile === undefined && (fromEnv === undefined || fromEnv === '')) return undefined;
  // The wallets' lookup reads the file the same way (less one final newline); the node's variable
  // stands in for the wallets' one so the two passphrases never mix.
  return resolvePassphrase({
    env: { [PASSPHRASE_ENV_VAR]: fromEnv },
    ...(options.nodePassphraseFile === undefined ? {} : { passphraseFile: options.nodePassphraseFile }),
  });
}

/** Opens a wallet file with the passphrase from --passphrase-file or ROAM_PASSPHRASE. */
export async function openWallet(path: string, options: PassphraseOptions): Promise<Wallet> {
  return loadWallet(path, await passphraseFrom(options));
}

/** Creates a wallet of `role`, saves it at `path` (never over an existing file) and returns it. */
export async function createAndSaveWallet(
  path: string,
  role: PartyRole,
  passphrase: string,
): Promise<{ wallet: Wallet; mnemonic?: string }> {
  const created = createWallet(role);
  await saveNewWallet(path, created.wallet, passphrase);
  return created;
}

export async function saveNewWallet(path: string, wallet: Wallet, passphrase: string): Promise<void> {
  const kdfParams = walletKdfParams();
  await saveWallet(path, wallet, passphrase, kdfParams ? { kdfParams } : {});
}

/** The public header of a wallet file, readable without the passphrase. */
export interface WalletHeader {
  readonly did: string;
  readonly role: string;
  readonly signingPublicKey: string;
  readonly encryptionPublicKey: string;
}

/** Reads the clear-text header of a wallet file (DID, role, public keys); no passphrase needed. */
export async function readWalletHeader(path: string): Promise<WalletHeader> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(CliErrorCode.NOT_FOUND, `no wallet file at ${path}`);
    throw new CliError(
      CliErrorCode.BAD_WALLET_FILE,
      `cannot read the wallet file ${path}: ${(error as Error).message}`,
    );
  }
  const field = (name: keyof WalletHeader): string => {
    const v = (value as Record<string, unknown> | null)?.[name];
    if (typeof v !== 'string' || v === '') {
      throw new CliError(CliErrorCode.BAD_WALLET_FILE, `wallet file ${path} has no "${name}"`);
    }
    return v;
  };
  if ((value as { format?: unknown } | null)?.format !== 'roam-wallet') {
    throw new CliError(CliErrorCode.BAD_WALLET_FILE, `${path} is not a roam-wallet file`);
  }
  return {
    did: field('did'),
    role: field('role'),
    signingPublicKey: field('signingPublicKey'),
    encryptionPublicKey: field('encryptionPublicKey'),
  };
}

// ---------------------------------------------------------------------------------------------
// Commands and options
// ---------------------------------------------------------------------------------------------

/** Adds a subcommand with the options every command has (`--json`). */
export function subcommand(parent: Command, name: string, description: string): Command {
  return parent.command(name).description(description).option('--json', 'print one JSON object on stdout');
}

export function passphraseFileOption(): Option {
  return new Option(
    '--passphrase-file <file>',
    'file holding the wallet passphrase (else the ROAM_PASSPHRASE environment variable)',
  );
}

export function nodePassphraseFileOption(): Option {
  return new Option(
    '--node-passphrase-file <file>',
    `file holding the passphrase of the node key, node.key.json (else the ${NODE_PASSPHRASE_ENV_VAR} environment variable)`,
  );
}

export function nodeUrlOption(required = true): Option {
  const option = new Option('--node <url>', 'base URL of a Roam node, e.g. http://127.0.0.1:8080').argParser(
    parseUrl,
  );
  return required ? option.makeOptionMandatory() : option;
}

export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError('expected a port number from 0 to 65535');
  }
  return port;
}

export function parseNonNegativeInteger(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new InvalidArgumentError('expected a non-negative integer');
  return Number(text);
}

export function parseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError('expected an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('expected an http(s) URL');
  return text.replace(/\/+$/, '');
}

export function parseDid(text: string): string {
  if (!isSigningDid(text)) throw new InvalidArgumentError('expected an Ed25519 did:key (did:key:z6Mk…)');
  return text;
}

/** A comma-separated list: `a,b , c` → ['a', 'b', 'c']; empty items are dropped. */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A 32-byte public key in base64url. */
export function parseKey32(text: string): string {
  try {
    if (fromBase64Url(text).length === PUBLIC_KEY_LENGTH) return text;
  } catch {
    // reported below
  }
  throw new InvalidArgumentError(`expected the base64url encoding of a ${PUBLIC_KEY_LENGTH}-byte public key`);
}

/** A usage error raised by a command after parsing (exit status 2). */
export function usage(message: string): CliError {
  return new CliError(CliErrorCode.USAGE, message);
}
