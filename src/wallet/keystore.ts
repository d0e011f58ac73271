/**
 * The wallet file (keystore), format "roam-wallet" version 1:
 *
 * ```json
 * { "format": "roam-wallet", "version": 1, "role": "patient", "did": "did:key:z6Mk…",
 *   "signingPublicKey": "<b64url>", "encryptionPublicKey": "<b64url>",
 *   "kdf": { "name": "scrypt", "N": 32768, "r": 8, "p": 1, "salt": "<b64url>" },
 *   "cipher": { "name": "aes-256-gcm", "iv": "<b64url>", "ciphertext": "<b64url>" } }
 * ```
 *
 * The ciphertext is the canonical JSON (RFC 8785) of the secrets, sealed with AES-256-GCM
 * under scrypt(passphrase). The AAD is the canonical JSON of every other field, so editing
 * any of them (the DID above all) makes opening fail.
 */
import {
  AES_KEY_LENGTH,
  CryptoError,
  CryptoErrorCode,
  GCM_IV_LENGTH,
  PUBLIC_KEY_LENGTH,
  SEED_LENGTH,
  bytesToUtf8,
  canonicalBytes,
  constantTimeEqual,
  didFromSigningKey,
  encryptionKeyPairFromSeedAsync,
  fromBase64Url,
  isSigningDid,
  openAsync,
  randomBytes,
  scrypt,
  sealAsync,
  signingKeyPairFromSeedAsync,
  toBase64Url,
  utf8ToBytes,
  type ScryptParams,
} from '../crypto/index.js';
import { WalletError, WalletErrorCode } from './errors.js';
import {
  MASTER_SEED_LENGTH,
  isPartyRole,
  keysFromMasterSeedAsync,
  type PartyRole,
  type Wallet,
} from './wallet.js';

export const WALLET_FORMAT = 'roam-wallet';
export const WALLET_VERSION = 1;
/** Shortest passphrase accepted for a new wallet file, in characters (code points). */
export const MIN_PASSPHRASE_LENGTH = 8;

/** scrypt cost parameters (RFC 7914). */
export type KdfParams = ScryptParams;

/**
 * Default scrypt cost of a new wallet file: N = 2^17, r = 8, p = 1 (128 MiB; OWASP's scrypt
 * minimum for password storage), since a wallet file that leaks is attacked offline.
 */
export const DEFAULT_KDF_PARAMS: Readonly<KdfParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
/**
 * Lowest scrypt N written or opened (2^15, RFC 7914 §2's interactive-use cost): a file below it
 * is refused with WEAK_KDF. Tests that create many wallets pass exactly this, never less.
 */
export const MIN_KDF_N = 2 ** 15;

// Bounds on scrypt parameters read from a file: a hostile file must not make us spend
// gigabytes or minutes. The floor (MIN_KDF_N) keeps anyone from writing a file that is cheap to attack.
const MIN_SCRYPT_N = MIN_KDF_N;
const MAX_SCRYPT_N = 2 ** 20;
const MAX_SCRYPT_R = 32;
const MAX_SCRYPT_P = 16;
const MAX_SCRYPT_MEMORY_BYTES = 1024 * 1024 * 1024;
const SALT_LENGTH = 16;
const MIN_SALT_LENGTH = 16;
const MAX_SALT_LENGTH = 64;
const GCM_TAG_LENGTH = 16;

interface WalletFileHeader {
  format: typeof WALLET_FORMAT;
  version: typeof WALLET_VERSION;
  role: PartyRole;
  did: string;
  signingPublicKey: string;
  encryptionPublicKey: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
}

interface WalletFile extends WalletFileHeader {
  cipher: { name: 'aes-256-gcm'; iv: string; ciphertext: string };
}

/** What the ciphertext holds (as canonical JSON, byte strings in base64url). */
interface WalletSecrets {
  signingSeed: string;
  encryptionSeed: string;
  masterSeed?: string;
  createdAt: string;
}

const HEADER_FIELDS = [
  'format',
  'version',
  'role',
  'did',
  'signingPublicKey',
  'encryptionPublicKey',
  'kdf',
] as const;
const FILE_FIELDS = [...HEADER_FIELDS, 'cipher'] as const;

function corrupt(field: string, problem: string): WalletError {
  return new WalletError(WalletErrorCode.WALLET_CORRUPT, `wallet file field "${field}" ${problem}`, {
    field,
  });
}

function isInteger(value: unknown, min: number, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

function checkKdfParams(
  params: KdfParams,
  field: string,
  toError: (field: string, problem: string) => Error,
): void {
  const { N, r, p } = params;
  if (typeof N === 'number' && Number.isSafeInteger(N) && N > 0 && N < MIN_SCRYPT_N && (N & (N - 1)) === 0) {
    throw new WalletError(
      WalletErrorCode.WEAK_KDF,
      `"${field}.N" is ${N}: scrypt N below ${MIN_SCRYPT_N} makes the passphrase cheap to guess`,
      { field: `${field}.N` },
    );
  }
  if (!isInteger(N, MIN_SCRYPT_N, MAX_SCRYPT_N) || (N & (N - 1)) !== 0) {
    throw toError(`${field}.N`, `must be a power of two from ${MIN_SCRYPT_N} to ${MAX_SCRYPT_N}`);
  }
  if (!isInteger(r, 1, MAX_SCRYPT_R))
    throw toError(`${field}.r`, `must be an integer from 1 to ${MAX_SCRYPT_R}`);
  if (!isInteger(p, 1, MAX_SCRYPT_P))
    throw toError(`${field}.p`, `must be an integer from 1 to ${MAX_SCRYPT_P}`);
  if (128 * N * r > MAX_SCRYPT_MEMORY_BYTES) throw toError(`${field}.r`, 'with N needs more than 1 GiB');
}

function argumentError(field: string, problem: string): Error {
  return new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `"${field}" ${problem}`);
}

function checkNewPassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new WalletError(
      WalletErrorCode.PASSPHRASE_REQUIRED,
      'a passphrase is required to protect the wallet file',
    );
  }
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new WalletError(
      WalletErrorCode.WEAK_PASSPHRASE,
      `the passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`,
    );
  }
}

/** NFC so the same passphrase typed on different systems gives the same bytes. */
async function deriveFileKey(passphrase: string, salt: Uint8Array, params: KdfParams): Promise<Uint8Array> {
  return scrypt(utf8ToBytes(passphrase.normalize('NFC')), salt, params, AES_KEY_LENGTH);
}

function headerAad(header: WalletFileHeader): Uint8Array {
  const aad: Record<string, unknown> = {};
  for (const field of HEADER_FIELDS) aad[field] = header[field];
  return canonicalBytes(aad);
}

/**
 * Serializes `wallet` as an encrypted wallet file (JSON text).
 *
 * @param kdfParams scrypt cost; the default suits interactive use, tests pass a lower N
 * @throws WalletError PASSPHRASE_REQUIRED / WEAK_PASSPHRASE (under
 *   {@link MIN_PASSPHRASE_LENGTH} characters); WEAK_KDF for an N under {@link MIN_KDF_N}; CryptoError CRYPTO_INVALID_ARGUMENT for
 *   out-of-range `kdfParams`
 * @example
 * const text = await encodeWalletFile(wallet, passphrase);
 */
export async function encodeWalletFile(
  wallet: Wallet,
  passphrase: string,
  kdfParams: KdfParams = DEFAULT_KDF_PARAMS,
): Promise<string> {
  checkNewPassphrase(passphrase);
  checkKdfParams(kdfParams, 'kdfParams', argumentError);
  const salt = randomBytes(SALT_LENGTH);
  const header: WalletFileHeader = {
    format: WALLET_FORMAT,
    version: WALLET_VERSION,
    role: wallet.role,
    did: wallet.did,
    signingPublicKey: toBase64Url(wallet.signing.publicKey),
    encryptionPublicKey: toBase64Url(wallet.encryption.publicKey),
    kdf: { name: 'scrypt', N: kdfParams.N, r: kdfParams.r, p: kdfParams.p, salt: toBase64Url(salt) },
  };
  const secrets: WalletSecrets = {
    signingSeed: toBase64Url(wallet.signing.secretKey),
    encryptionSeed: toBase64Url(wallet.encryption.secretKey),
    createdAt: wallet.createdAt,
  };
  if (wallet.masterSeed !== undefined) secrets.masterSeed = toBase64Url(wallet.masterSeed);
  const key = await deriveFileKey(passphrase, salt, kdfParams);
  const plaintext = canonicalBytes(secrets);
  let sealed: { iv: Uint8Array; ciphertext: Uint8Array };
  try {
    sealed = await sealAsync(key, plaintext, headerAad(header));
  } finally {
    key.fill(0);
    plaintext.fill(0);
  }
  const file: WalletFile = {
    ...header,
    cipher: { name: 'aes-256-gcm', iv: toBase64Url(sealed.iv), ciphertext: toBase64Url(sealed.ciphertext) },
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------
// Reading: every field is checked and named before any expensive or secret work is done.

function asRecord(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw corrupt(field, 'must be an object');
  return value as Record<string, unknown>;
}

function onlyFields(record: Record<string, unknown>, allowed: readonly string[], prefix: string): void {
  for (const name of Object.keys(record)) {
    // Unknown fields are outside the AAD: refuse them rather than silently carry them.
    if (!allowed.includes(name)) throw corrupt(`${prefix}${name}`, 'is not part of the format');
  }
}

function bytesField(
  record: Record<string, unknown>,
  name: string,
  prefix: string,
  min: number,
  max = min,
): Uint8Array {
  const field = `${prefix}${name}`;
  const value = record[name];
  if (typeof value !== 'string') throw corrupt(field, 'must be a base64url string');
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(value);
  } catch {
    throw corrupt(field, 'is not valid base64url');
  }
  if (bytes.length < min || bytes.length > max) {
    throw corrupt(field, min === max ? `must hold ${min} bytes` : `must hold ${min} to ${max} bytes`);
  }
  return bytes;
}

function parseFile(text: string): {
  header: WalletFileHeader;
  salt: Uint8Array;
  iv: Uint8Array;
  ciphertext: Uint8Array;
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WalletError(WalletErrorCode.WALLET_CORRUPT, 'wallet file is not JSON');
  }
  const file = asRecord(parsed, '(root)');
  if (file.format !== WALLET_FORMAT) throw corrupt('format', `must be "${WALLET_FORMAT}"`);
  if (file.version !== WALLET_VERSION)
    throw corrupt('version', `must be ${WALLET_VERSION} (this build reads no other)`);
  onlyFields(file, FILE_FIELDS, '');
  if (!isPartyRole(file.role)) throw corrupt('role', 'must be patient, practitioner, admin or node');
  if (typeof file.did !== 'string' || !isSigningDid(file.did))
    throw corrupt('did', 'must be an Ed25519 did:key');
  const signingPublicKey = bytesField(file, 'signingPublicKey', '', PUBLIC_KEY_LENGTH);
  const encryptionPublicKey = bytesField(file, 'encryptionPublicKey', '', PUBLIC_KEY_LENGTH);

  const kdf = asRecord(file.kdf, 'kdf');
  onlyFields(kdf, ['name', 'N', 'r', 'p', 'salt'], 'kdf.');
  if (kdf.name !== 'scrypt') throw corrupt('kdf.name', 'must be "scrypt"');
  const params = { N: kdf.N, r: kdf.r, p: kdf.p } as KdfParams;
  checkKdfParams(params, 'kdf', corrupt);
  const salt = bytesField(kdf, 'salt', 'kdf.', MIN_SALT_LENGTH, MAX_SALT_LENGTH);

  const cipher = asRecord(file.cipher, 'cipher');
  onlyFields(cipher, ['name', 'iv', 'ciphertext'], 'cipher.');
  if (cipher.name !== 'aes-256-gcm') throw corrupt('cipher.name', 'must be "aes-256-gcm"');
  const iv = bytesField(cipher, 'iv', 'cipher.', GCM_IV_LENGTH);
  const ciphertext = bytesField(cipher, 'ciphertext', 'cipher.', GCM_TAG_LENGTH, Number.MAX_SAFE_INTEGER);

  const header: WalletFileHeader = {
    format: WALLET_FORMAT,
    version: WALLET_VERSION,
    role: file.role,
    did: file.did,
    // Re-encoded from the decoded bytes, so the AAD is built from what was checked.
    signingPublicKey: toBase64Url(signingPublicKey),
    encryptionPublicKey: toBase64Url(encryptionPublicKey),
    kdf: { name: 'scrypt', N: params.N, r: params.r, p: params.p, salt: toBase64Url(salt) },
  };
  return { header, salt, iv, ciphertext };
}

async function parseSecrets(plaintext: Uint8Array, header: WalletFileHeader): Promise<Wallet> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytesToUtf8(plaintext));
  } catch {
    throw corrupt('cipher.ciphertext', 'does not hold JSON secrets');
  }
  const secrets = asRecord(parsed, 'secrets');
  onlyFields(secrets, ['signingSeed', 'encryptionSeed', 'masterSeed', 'createdAt'], 'secrets.');
  const signing = await signingKeyPairFromSeedAsync(
    bytesField(secrets, 'signingSeed', 'secrets.', SEED_LENGTH),
  );
  const encryption = await encryptionKeyPairFromSeedAsync(
    bytesField(secrets, 'encryptionSeed', 'secrets.', SEED_LENGTH),
  );
  if (typeof secrets.createdAt !== 'string' || Number.isNaN(Date.parse(secrets.createdAt))) {
    throw corrupt('secrets.createdAt', 'must be an ISO 8601 time');
  }
  if (!constantTimeEqual(signing.publicKey, fromBase64Url(header.signingPublicKey))) {
    throw corrupt('signingPublicKey', 'does not match the signing key in the file');
  }
  if (!constantTimeEqual(encryption.publicKey, fromBase64Url(header.encryptionPublicKey))) {
    throw corrupt('encryptionPublicKey', 'does not match the encryption key in the file');
  }
  const wallet: Wallet = {
    role: header.role,
    did: header.did,
    signing,
    encryption,
    createdAt: secrets.createdAt,
  };
  if (header.role === 'patient') {
    if (secrets.masterSeed === undefined)
      throw corrupt('secrets.masterSeed', 'is required in a patient wallet');
    const masterSeed = bytesField(secrets, 'masterSeed', 'secrets.', MASTER_SEED_LENGTH);
    // The DID is that of the key the master seed gave at creation, whatever the current key.
    if (didFromSigningKey((await keysFromMasterSeedAsync(masterSeed)).signing.publicKey) !== header.did) {
      throw corrupt('did', 'is not the identity of the master seed in the file');
    }
    wallet.masterSeed = masterSeed;
  } else if (secrets.masterSeed !== undefined) {
    throw corrupt('secrets.masterSeed', `is not allowed in a ${header.role} wallet`);
  }
  return wallet;
}

/**
 * Opens a wallet file written by {@link encodeWalletFile}.
 *
 * @throws WalletError WEAK_KDF (with `field` kdf.N) for a file protected by an N under
 *   {@link MIN_KDF_N}; WALLET_CORRUPT (with `field`) for a file that is not a valid
 *   roam-wallet v1 file; BAD_PASSPHRASE when decryption fails, i.e. a wrong passphrase or
 *   any edit of the authenticated fields or ciphertext (AES-GCM cannot tell which)
 */
export async function decodeWalletFile(text: string, passphrase: string): Promise<Wallet> {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new WalletError(
      WalletErrorCode.PASSPHRASE_REQUIRED,
      'a passphrase is required to open the wallet file',
    );
  }
  if (typeof text !== 'string')
    throw new WalletError(WalletErrorCode.WALLET_CORRUPT, 'wallet file is not text');
  const { header, salt, iv, ciphertext } = parseFile(text);
  const key = await deriveFileKey(passphrase, salt, header.kdf);
  let plaintext: Uint8Array;
  try {
    plaintext = await openAsync(key, iv, ciphertext, headerAad(header));
  } catch (error) {
    if (error instanceof CryptoError && error.code === CryptoErrorCode.DECRYPT_FAILED) {
      throw new WalletError(
        WalletErrorCode.BAD_PASSPHRASE,
        'cannot open the wallet file: wrong passphrase, or the file was modified',
      );
    }
    throw error;
  } finally {
    key.fill(0);
  }
  try {
    return await parseSecrets(plaintext, header);
  } finally {
    plaintext.fill(0);
  }
}
