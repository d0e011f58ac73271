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
  PUBLIC_KEY_LENGTH,
  SEED_LENGTH,
  bytesToUtf8,
  canonicalBytes,
  constantTimeEqual,
  didFromSigningKey,
  encryptionKeyPairFromSeedAsync,
  fromBase64Url,
  isSigningDid,
  signingKeyPairFromSeedAsync,
  toBase64Url,
} from '../crypto/index.js';
import { WalletError, WalletErrorCode } from './errors.js';
import {
  checkNewPassphrase,
  createFieldReader,
  newKdfHeader,
  openWithPassphrase,
  sealWithPassphrase,
  DEFAULT_KDF_PARAMS,
  type CipherFields,
  type KdfHeader,
  type KdfParams,
} from './passphrase-envelope.js';
import {
  MASTER_SEED_LENGTH,
  isPartyRole,
  keysFromMasterSeedAsync,
  type PartyRole,
  type Wallet,
} from './wallet.js';

export {
  DEFAULT_KDF_PARAMS,
  MIN_KDF_N,
  MIN_PASSPHRASE_LENGTH,
  type KdfParams,
} from './passphrase-envelope.js';

export const WALLET_FORMAT = 'roam-wallet';
export const WALLET_VERSION = 1;

interface WalletFileHeader {
  format: typeof WALLET_FORMAT;
  version: typeof WALLET_VERSION;
  role: PartyRole;
  did: string;
  signingPublicKey: string;
  encryptionPublicKey: string;
  kdf: KdfHeader;
}

interface WalletFile extends WalletFileHeader {
  cipher: CipherFields;
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

const read = createFieldReader(corrupt);

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
  checkNewPassphrase(passphrase, 'the wallet file');
  const header: WalletFileHeader = {
    format: WALLET_FORMAT,
    version: WALLET_VERSION,
    role: wallet.role,
    did: wallet.did,
    signingPublicKey: toBase64Url(wallet.signing.publicKey),
    encryptionPublicKey: toBase64Url(wallet.encryption.publicKey),
    kdf: newKdfHeader(kdfParams),
  };
  const secrets: WalletSecrets = {
    signingSeed: toBase64Url(wallet.signing.secretKey),
    encryptionSeed: toBase64Url(wallet.encryption.secretKey),
    createdAt: wallet.createdAt,
  };
  if (wallet.masterSeed !== undefined) secrets.masterSeed = toBase64Url(wallet.masterSeed);
  const cipher = await sealWithPassphrase({
    passphrase,
    kdf: header.kdf,
    plaintext: canonicalBytes(secrets),
    aad: headerAad(header),
  });
  const file: WalletFile = { ...header, cipher };
  return `${JSON.stringify(file, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------
// Reading: every field is checked and named before any expensive or secret work is done.

function parseFile(text: string): {
  header: WalletFileHeader;
  iv: Uint8Array;
  ciphertext: Uint8Array;
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WalletError(WalletErrorCode.WALLET_CORRUPT, 'wallet file is not JSON');
  }
  const file = read.record(parsed, '(root)');
  if (file.format !== WALLET_FORMAT) throw corrupt('format', `must be "${WALLET_FORMAT}"`);
  if (file.version !== WALLET_VERSION)
    throw corrupt('version', `must be ${WALLET_VERSION} (this build reads no other)`);
  read.onlyFields(file, FILE_FIELDS, '');
  if (!isPartyRole(file.role)) throw corrupt('role', 'must be patient, practitioner, admin or node');
  if (typeof file.did !== 'string' || !isSigningDid(file.did))
    throw corrupt('did', 'must be an Ed25519 did:key');
  const signingPublicKey = read.bytes(file, 'signingPublicKey', '', { min: PUBLIC_KEY_LENGTH });
  const encryptionPublicKey = read.bytes(file, 'encryptionPublicKey', '', { min: PUBLIC_KEY_LENGTH });
  const kdf = read.kdf(file.kdf);
  const { iv, ciphertext } = read.cipher(file.cipher);

  const header: WalletFileHeader = {
    format: WALLET_FORMAT,
    version: WALLET_VERSION,
    role: file.role,
    did: file.did,
    // Re-encoded from the decoded bytes, so the AAD is built from what was checked.
    signingPublicKey: toBase64Url(signingPublicKey),
    encryptionPublicKey: toBase64Url(encryptionPublicKey),
    kdf,
  };
  return { header, iv, ciphertext };
}

async function parseSecrets(plaintext: Uint8Array, header: WalletFileHeader): Promise<Wallet> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytesToUtf8(plaintext));
  } catch {
    throw corrupt('cipher.ciphertext', 'does not hold JSON secrets');
  }
  const secrets = read.record(parsed, 'secrets');
  read.onlyFields(secrets, ['signingSeed', 'encryptionSeed', 'masterSeed', 'createdAt'], 'secrets.');
  const signing = await signingKeyPairFromSeedAsync(
    read.bytes(secrets, 'signingSeed', 'secrets.', { min: SEED_LENGTH }),
  );
  const encryption = await encryptionKeyPairFromSeedAsync(
    read.bytes(secrets, 'encryptionSeed', 'secrets.', { min: SEED_LENGTH }),
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
    const masterSeed = read.bytes(secrets, 'masterSeed', 'secrets.', { min: MASTER_SEED_LENGTH });
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
  const { header, iv, ciphertext } = parseFile(text);
  const wrongPassphrase = () =>
    new WalletError(WalletErrorCode.BAD_PASSPHRASE, 'cannot open the wallet file: wrong passphrase, or the file was modified');
  return openWithPassphrase(
    { passphrase, kdf: header.kdf, iv, ciphertext, aad: headerAad(header), wrongPassphrase },
    (plaintext) => parseSecrets(plaintext, header),
  );
}
