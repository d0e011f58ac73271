/**
 * The node key file, `node.key.json`: the seeds of the node's keys and of its organization's.
 * The organization's X25519 key opens every record key a patient granted the organization, so a
 * copy of this file is a copy of every such record: it is encrypted when a passphrase is given.
 *
 * Version 2 (encrypted), the envelope of wallet files (src/wallet/passphrase-envelope.ts):
 *
 * ```json
 * { "format": "roam-node-key", "version": 2, "nodeDid": "did:key:z6Mk…", "orgDid": "did:key:z6Mk…",
 *   "kdf": { "name": "scrypt", "N": 131072, "r": 8, "p": 1, "salt": "<b64url>" },
 *   "cipher": { "name": "aes-256-gcm", "iv": "<b64url>", "ciphertext": "<b64url>" } }
 * ```
 *
 * The ciphertext is the canonical JSON of the four seeds; the AAD is the canonical JSON of the
 * other fields, so the DIDs cannot be edited or swapped. Version 1 holds the seeds in clear
 * (files written before, or without a passphrase); it still loads, and the node warns.
 */
import { readFile } from 'node:fs/promises';
import {
  bytesToUtf8,
  canonicalBytes,
  didFromSigningKey,
  encryptionKeyPairFromSeed,
  fromBase64Url,
  isSigningDid,
  SEED_LENGTH,
  signingKeyPairFromSeed,
  toBase64Url,
  type EncryptionKeyPair,
  type SigningKeyPair,
} from '../crypto/index.js';
import {
  checkNewPassphrase,
  createFieldReader,
  newKdfHeader,
  openWithPassphrase,
  sealWithPassphrase,
  writeFileAtomically,
  type KdfHeader,
  type KdfParams,
} from '../wallet/index.js';
import { NodeError, NodeErrorCode } from './errors.js';

export const NODE_KEY_FORMAT = 'roam-node-key';
/** The environment variable `roam start`, `roam init` and `roam node encrypt-key` read the node key's passphrase from. */
export const NODE_PASSPHRASE_ENV_VAR = 'ROAM_NODE_PASSPHRASE';
/** How an operator protects a clear key file; said wherever the node meets one. */
export const ENCRYPT_KEY_HINT =
  `encrypt it with \`roam node encrypt-key --data <dir>\` (passphrase from --node-passphrase-file <file> or ${NODE_PASSPHRASE_ENV_VAR}), ` +
  'then start the node with the same passphrase';

const SEED_FIELDS = ['nodeSigningSeed', 'nodeEncryptionSeed', 'orgSigningSeed', 'orgEncryptionSeed'] as const;

/** The four seeds, base64url (version 1 holds them in clear; version 2 seals them). */
export type NodeKeySeeds = Record<(typeof SEED_FIELDS)[number], string>;

/** A version-1 (clear) node key file. */
export type NodeKeyFile = { format: typeof NODE_KEY_FORMAT; version: 1 } & NodeKeySeeds;

interface EncryptedKeyHeader {
  format: typeof NODE_KEY_FORMAT;
  version: 2;
  nodeDid: string;
  orgDid: string;
  kdf: KdfHeader;
}
const HEADER_FIELDS = ['format', 'version', 'nodeDid', 'orgDid', 'kdf'] as const;

/** Keys a node holds: its own (signs blocks, attestations, node requests) and its organization's. */
export interface NodeKeys {
  readonly nodeDid: string;
  readonly node: SigningKeyPair;
  readonly nodeEncryption: EncryptionKeyPair;
  readonly orgDid: string;
  readonly org: SigningKeyPair;
  /** The organization's X25519 key, to which patients seal record keys. */
  readonly orgEncryption: EncryptionKeyPair;
}

/** A node key file as read: the keys, and whether the file on disk was encrypted. */
export interface LoadedNodeKey {
  readonly keys: NodeKeys;
  readonly encrypted: boolean;
}

function corrupt(field: string, problem: string): NodeError {
  return new NodeError(NodeErrorCode.KEY_CORRUPT, `node key file field "${field}" ${problem}`);
}
const read = createFieldReader(corrupt);

/** The keys the four seeds give. */
export function keysFromFile(seeds: NodeKeySeeds): NodeKeys {
  const node = signingKeyPairFromSeed(fromBase64Url(seeds.nodeSigningSeed));
  const org = signingKeyPairFromSeed(fromBase64Url(seeds.orgSigningSeed));
  return {
    nodeDid: didFromSigningKey(node.publicKey),
    node,
    nodeEncryption: encryptionKeyPairFromSeed(fromBase64Url(seeds.nodeEncryptionSeed)),
    orgDid: didFromSigningKey(org.publicKey),
    org,
    orgEncryption: encryptionKeyPairFromSeed(fromBase64Url(seeds.orgEncryptionSeed)),
  };
}

/** The seeds of a version-1 file (`prefix` '') or of the sealed secrets ('secrets.'), checked. */
function seedsOf(record: Record<string, unknown>, prefix: '' | 'secrets.'): NodeKeySeeds {
  read.onlyFields(record, prefix === '' ? ['format', 'version', ...SEED_FIELDS] : SEED_FIELDS, prefix);
  const seed = (name: (typeof SEED_FIELDS)[number]) => toBase64Url(read.bytes(record, name, prefix, { min: SEED_LENGTH }));
  return {
    nodeSigningSeed: seed('nodeSigningSeed'),
    nodeEncryptionSeed: seed('nodeEncryptionSeed'),
    orgSigningSeed: seed('orgSigningSeed'),
    orgEncryptionSeed: seed('orgEncryptionSeed'),
  };
}

const headerAad = (header: EncryptedKeyHeader): Uint8Array =>
  canonicalBytes(Object.fromEntries(HEADER_FIELDS.map((field) => [field, header[field]])));

export interface EncodeNodeKeyOptions {
  /** Encrypts the seeds (version 2) when given; without it the file is version 1, in clear. */
  readonly passphrase?: string;
  /** scrypt cost (default: the wallets' default; tests pass MIN_KDF_N). */
  readonly kdfParams?: KdfParams;
}

/**
 * The text of a node key file holding `seeds`.
 *
 * @throws WalletError PASSPHRASE_REQUIRED / WEAK_PASSPHRASE for an empty or short passphrase;
 *   WEAK_KDF for an N under MIN_KDF_N
 */
export async function encodeNodeKeyFile(keyFile: NodeKeySeeds, options: EncodeNodeKeyOptions = {}): Promise<string> {
  // Only the four seeds, whatever else the object carries (a version-1 file's format and version).
  const seeds = Object.fromEntries(SEED_FIELDS.map((field) => [field, keyFile[field]])) as NodeKeySeeds;
  if (options.passphrase === undefined) {
    const clear: NodeKeyFile = { format: NODE_KEY_FORMAT, version: 1, ...seeds };
    return `${JSON.stringify(clear, null, 2)}\n`;
  }
  checkNewPassphrase(options.passphrase, 'the node key file');
  const keys = keysFromFile(seeds);
  const header: EncryptedKeyHeader = {
    format: NODE_KEY_FORMAT,
    version: 2,
    nodeDid: keys.nodeDid,
    orgDid: keys.orgDid,
    kdf: newKdfHeader(options.kdfParams),
  };
  const cipher = await sealWithPassphrase({
    passphrase: options.passphrase,
    kdf: header.kdf,
    plaintext: canonicalBytes(seeds),
    aad: headerAad(header),
  });
  return `${JSON.stringify({ ...header, cipher }, null, 2)}\n`;
}

function parseJson(text: string): Record<string, unknown> {
  try {
    return read.record(JSON.parse(text), '(root)');
  } catch (error) {
    if (error instanceof NodeError) throw error;
    throw new NodeError(NodeErrorCode.KEY_CORRUPT, 'node key file is not JSON');
  }
}

/**
 * Reads a node key file of either version.
 *
 * @throws NodeError NODE_KEY_PASSPHRASE_REQUIRED for an encrypted file without a passphrase;
 *   NODE_KEY_BAD_PASSPHRASE when the passphrase does not open it (or its clear fields were
 *   edited); NODE_KEY_CORRUPT for a malformed file; WalletError WEAK_KDF for a cost under the floor
 */
export async function decodeNodeKeyFile(text: string, options: { readonly passphrase?: string | undefined } = {}): Promise<LoadedNodeKey> {
  const file = parseJson(text);
  if (file.format !== NODE_KEY_FORMAT) throw corrupt('format', `must be "${NODE_KEY_FORMAT}"`);
  if (file.version === 1) return { keys: keysFromFile(seedsOf(file, '')), encrypted: false };
  if (file.version !== 2) throw corrupt('version', 'must be 1 (clear) or 2 (encrypted)');
  read.onlyFields(file, [...HEADER_FIELDS, 'cipher'], '');
  for (const field of ['nodeDid', 'orgDid'] as const) {
    if (typeof file[field] !== 'string' || !isSigningDid(file[field])) throw corrupt(field, 'must be an Ed25519 did:key');
  }
  const header: EncryptedKeyHeader = {
    format: NODE_KEY_FORMAT,
    version: 2,
    nodeDid: file.nodeDid as string,
    orgDid: file.orgDid as string,
    kdf: read.kdf(file.kdf),
  };
  const { iv, ciphertext } = read.cipher(file.cipher);
  if (options.passphrase === undefined || options.passphrase === '') {
    throw new NodeError(
      NodeErrorCode.KEY_PASSPHRASE_REQUIRED,
      `the node key file is encrypted: give its passphrase with --node-passphrase-file <file> or the ${NODE_PASSPHRASE_ENV_VAR} environment variable`,
    );
  }
  const wrongPassphrase = () =>
    new NodeError(NodeErrorCode.KEY_BAD_PASSPHRASE, 'cannot open the node key file: wrong node passphrase, or the file was modified');
  const keys = await openWithPassphrase(
    { passphrase: options.passphrase, kdf: header.kdf, iv, ciphertext, aad: headerAad(header), wrongPassphrase },
    (plaintext) => keysFromSecrets(plaintext),
  );
  if (keys.nodeDid !== header.nodeDid) throw corrupt('nodeDid', 'is not the DID of the node key in the file');
  if (keys.orgDid !== header.orgDid) throw corrupt('orgDid', 'is not the DID of the organization key in the file');
  return { keys, encrypted: true };
}

function keysFromSecrets(plaintext: Uint8Array): NodeKeys {
  let secrets: Record<string, unknown>;
  try {
    secrets = read.record(JSON.parse(bytesToUtf8(plaintext)), 'secrets');
  } catch {
    throw corrupt('cipher.ciphertext', 'does not hold the seeds');
  }
  return keysFromFile(seedsOf(secrets, 'secrets.'));
}

/**
 * Reads `node.key.json` at `path`.
 *
 * @throws NodeError NODE_NOT_INITIALIZED when there is none; the errors of {@link decodeNodeKeyFile}
 */
export async function readNodeKeyFile(path: string, options: { readonly passphrase?: string | undefined } = {}): Promise<LoadedNodeKey> {
  return decodeNodeKeyFile(await readKeyText(path), options);
}

async function readKeyText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NodeError(NodeErrorCode.NOT_INITIALIZED, `node key not found at ${path}; run \`roam init\` first`);
    }
    throw error;
  }
}

/** Writes the text of a new node key file ({@link encodeNodeKeyFile}), never over an existing one, mode 0600. */
export async function writeNewNodeKeyFile(path: string, text: string): Promise<void> {
  await writeFileAtomically(path, text, {
    overwrite: false,
    exists: () => new NodeError(NodeErrorCode.ALREADY_INITIALIZED, `a node key already exists at ${path}`),
  });
}

export interface EncryptKeyOptions {
  readonly passphrase: string;
  readonly kdfParams?: KdfParams;
}

/**
 * `roam node encrypt-key`: replaces the clear (version 1) key file at `path` by an encrypted one
 * holding the same seeds. The new file is written beside it and renamed over it, so a crash leaves
 * one of the two whole. Returns the DIDs of the keys (unchanged).
 *
 * @throws NodeError NODE_KEY_ALREADY_ENCRYPTED for a version-2 file; the errors of {@link readNodeKeyFile}
 */
export async function encryptNodeKeyFile(path: string, options: EncryptKeyOptions): Promise<{ nodeDid: string; orgDid: string }> {
  const file = parseJson(await readKeyText(path));
  if (file.format === NODE_KEY_FORMAT && file.version === 2) {
    throw new NodeError(NodeErrorCode.KEY_ALREADY_ENCRYPTED, `the node key at ${path} is encrypted already`);
  }
  if (file.format !== NODE_KEY_FORMAT) throw corrupt('format', `must be "${NODE_KEY_FORMAT}"`);
  if (file.version !== 1) throw corrupt('version', 'must be 1 (clear) or 2 (encrypted)');
  const seeds = seedsOf(file, '');
  const keys = keysFromFile(seeds);
  const text = await encodeNodeKeyFile(seeds, options);
  await writeFileAtomically(path, text, { overwrite: true });
  return { nodeDid: keys.nodeDid, orgDid: keys.orgDid };
}
