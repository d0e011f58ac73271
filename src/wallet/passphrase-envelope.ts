/**
 * The passphrase envelope shared by every file Roam protects with a passphrase (wallet files,
 * the node key file): scrypt (RFC 7914) derives an AES-256-GCM key from the passphrase and a
 * random salt; the caller's clear fields (the KDF header among them) are the associated data,
 * so none of them can be edited or swapped without opening failing.
 *
 * ```json
 * "kdf":    { "name": "scrypt", "N": 131072, "r": 8, "p": 1, "salt": "<b64url>" },
 * "cipher": { "name": "aes-256-gcm", "iv": "<b64url>", "ciphertext": "<b64url>" }
 * ```
 *
 * One KDF policy for all of them: the same default cost, the same floor ({@link MIN_KDF_N},
 * refused with WEAK_KDF) and the same bounds on what a hostile file may ask for.
 */
import {
  AES_KEY_LENGTH,
  CryptoError,
  CryptoErrorCode,
  GCM_IV_LENGTH,
  fromBase64Url,
  openAsync,
  randomBytes,
  scrypt,
  sealAsync,
  toBase64Url,
  utf8ToBytes,
  type ScryptParams,
} from '../crypto/index.js';
import { WalletError, WalletErrorCode } from './errors.js';

/** scrypt cost parameters (RFC 7914). */
export type KdfParams = ScryptParams;

/** Shortest passphrase accepted for a new protected file, in characters (code points). */
export const MIN_PASSPHRASE_LENGTH = 8;

/**
 * Default scrypt cost of a new protected file: N = 2^17, r = 8, p = 1 (128 MiB; OWASP's scrypt
 * minimum for password storage), since a file that leaks is attacked offline.
 */
export const DEFAULT_KDF_PARAMS: Readonly<KdfParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
/**
 * Lowest scrypt N written or opened (2^15, RFC 7914 §2's interactive-use cost): a file below it
 * is refused with WEAK_KDF. Tests that create many protected files pass exactly this, never less.
 */
export const MIN_KDF_N = 2 ** 15;

// Bounds on scrypt parameters read from a file: a hostile file must not make us spend
// gigabytes or minutes. The floor (MIN_KDF_N) keeps anyone from writing a file that is cheap to attack.
const MAX_SCRYPT_N = 2 ** 20;
const MAX_SCRYPT_R = 32;
const MAX_SCRYPT_P = 16;
const MAX_SCRYPT_MEMORY_BYTES = 1024 * 1024 * 1024;
const SALT_LENGTH = 16;
const MIN_SALT_LENGTH = 16;
const MAX_SALT_LENGTH = 64;
const GCM_TAG_LENGTH = 16;

/** The clear KDF header of a protected file (part of its associated data). */
export interface KdfHeader {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
}

/** The sealed part of a protected file. */
export interface CipherFields {
  name: 'aes-256-gcm';
  iv: string;
  ciphertext: string;
}

/** Builds the error for a malformed `field` of the file being read (each format has its own code). */
export type FieldError = (field: string, problem: string) => Error;

function isInteger(value: unknown, min: number, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

/**
 * Checks scrypt parameters (asked for, or read from a file).
 *
 * @throws WalletError WEAK_KDF (with `field` `<field>.N`) for a power of two under {@link MIN_KDF_N};
 *   `toError(...)` for any other out-of-range value
 */
export function checkKdfParams(params: KdfParams, field: string, toError: FieldError): void {
  const { N, r, p } = params;
  if (typeof N === 'number' && Number.isSafeInteger(N) && N > 0 && N < MIN_KDF_N && (N & (N - 1)) === 0) {
    throw new WalletError(
      WalletErrorCode.WEAK_KDF,
      `"${field}.N" is ${N}: scrypt N below ${MIN_KDF_N} makes the passphrase cheap to guess`,
      { field: `${field}.N` },
    );
  }
  if (!isInteger(N, MIN_KDF_N, MAX_SCRYPT_N) || (N & (N - 1)) !== 0) {
    throw toError(`${field}.N`, `must be a power of two from ${MIN_KDF_N} to ${MAX_SCRYPT_N}`);
  }
  if (!isInteger(r, 1, MAX_SCRYPT_R)) throw toError(`${field}.r`, `must be an integer from 1 to ${MAX_SCRYPT_R}`);
  if (!isInteger(p, 1, MAX_SCRYPT_P)) throw toError(`${field}.p`, `must be an integer from 1 to ${MAX_SCRYPT_P}`);
  if (128 * N * r > MAX_SCRYPT_MEMORY_BYTES) throw toError(`${field}.r`, 'with N needs more than 1 GiB');
}

/** For parameters a caller passes (not read from a file). */
export function argumentError(field: string, problem: string): Error {
  return new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `"${field}" ${problem}`);
}

/**
 * Refuses an empty or short passphrase for a new protected file; `what` names the file
 * ("the wallet file") in the message.
 *
 * @throws WalletError PASSPHRASE_REQUIRED / WEAK_PASSPHRASE
 */
export function checkNewPassphrase(passphrase: string, what: string): void {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new WalletError(WalletErrorCode.PASSPHRASE_REQUIRED, `a passphrase is required to protect ${what}`);
  }
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new WalletError(
      WalletErrorCode.WEAK_PASSPHRASE,
      `the passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`,
    );
  }
}

/**
 * A KDF header for a new file: checked parameters and a fresh random salt.
 *
 * @throws WalletError WEAK_KDF for an N under {@link MIN_KDF_N}; CryptoError CRYPTO_INVALID_ARGUMENT
 *   for other out-of-range parameters
 */
export function newKdfHeader(kdfParams: KdfParams = DEFAULT_KDF_PARAMS): KdfHeader {
  checkKdfParams(kdfParams, 'kdfParams', argumentError);
  const { N, r, p } = kdfParams;
  return { name: 'scrypt', N, r, p, salt: toBase64Url(randomBytes(SALT_LENGTH)) };
}

/** NFC so the same passphrase typed on different systems gives the same bytes. */
function deriveFileKey(passphrase: string, kdf: KdfHeader): Promise<Uint8Array> {
  const { N, r, p } = kdf;
  return scrypt(utf8ToBytes(passphrase.normalize('NFC')), fromBase64Url(kdf.salt), { N, r, p }, AES_KEY_LENGTH);
}

/** What seals and opens one file: the passphrase, its KDF header and the file's clear fields. */
interface EnvelopeParts {
  readonly passphrase: string;
  readonly kdf: KdfHeader;
  /** The file's clear fields, canonical JSON: what may not change without opening failing. */
  readonly aad: Uint8Array;
}

export interface SealOptions extends EnvelopeParts {
  /** Zeroed once sealed. */
  readonly plaintext: Uint8Array;
}

/** Seals `plaintext` under scrypt(passphrase) with a random IV. */
export async function sealWithPassphrase(options: SealOptions): Promise<CipherFields> {
  const key = await deriveFileKey(options.passphrase, options.kdf);
  try {
    const sealed = await sealAsync(key, options.plaintext, options.aad);
    return { name: 'aes-256-gcm', iv: toBase64Url(sealed.iv), ciphertext: toBase64Url(sealed.ciphertext) };
  } finally {
    key.fill(0);
    options.plaintext.fill(0);
  }
}

export interface OpenOptions extends EnvelopeParts {
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  /**
   * The format's error for a wrong passphrase or any edit of the AAD or ciphertext (AES-GCM
   * cannot tell which).
   */
  readonly wrongPassphrase: () => Error;
}

/**
 * Opens what {@link sealWithPassphrase} sealed and hands the plaintext to `use`; the plaintext
 * is zeroed when `use` is done.
 *
 * @throws `options.wrongPassphrase()` when the passphrase does not open the envelope
 */
export async function openWithPassphrase<T>(options: OpenOptions, use: (plaintext: Uint8Array) => Promise<T> | T): Promise<T> {
  const key = await deriveFileKey(options.passphrase, options.kdf);
  let plaintext: Uint8Array;
  try {
    plaintext = await openAsync(key, options.iv, options.ciphertext, options.aad);
  } catch (error) {
    if (error instanceof CryptoError && error.code === CryptoErrorCode.DECRYPT_FAILED) throw options.wrongPassphrase();
    throw error;
  } finally {
    key.fill(0);
  }
  try {
    return await use(plaintext);
  } finally {
    plaintext.fill(0);
  }
}

// ---------------------------------------------------------------------------------------
// Reading: every field is checked and named before any expensive or secret work is done.

/** Field checks of one file format, reporting through its own error. */
export interface FieldReader {
  record(value: unknown, field: string): Record<string, unknown>;
  /** Refuses fields outside `allowed` (they would sit outside the AAD). */
  onlyFields(record: Record<string, unknown>, allowed: readonly string[], prefix: string): void;
  /** A base64url field of `min` to `max` bytes (exactly `min` when `max` is absent). */
  bytes(record: Record<string, unknown>, name: string, prefix: string, length: { min: number; max?: number }): Uint8Array;
  /** The `kdf` object of a file, checked (WEAK_KDF below the floor). */
  kdf(value: unknown): KdfHeader;
  /** The `cipher` object of a file, decoded. */
  cipher(value: unknown): { iv: Uint8Array; ciphertext: Uint8Array };
}

/** The field checks of a file format whose malformed fields are reported by `toError`. */
export function createFieldReader(toError: FieldError): FieldReader {
  const reader: FieldReader = {
    record(value, field) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw toError(field, 'must be an object');
      return value as Record<string, unknown>;
    },
    onlyFields(record, allowed, prefix) {
      for (const name of Object.keys(record)) {
        if (!allowed.includes(name)) throw toError(`${prefix}${name}`, 'is not part of the format');
      }
    },
    bytes(record, name, prefix, { min, max = min }) {
      const field = `${prefix}${name}`;
      const value = record[name];
      if (typeof value !== 'string') throw toError(field, 'must be a base64url string');
      let bytes: Uint8Array;
      try {
        bytes = fromBase64Url(value);
      } catch {
        throw toError(field, 'is not valid base64url');
      }
      if (bytes.length < min || bytes.length > max) {
        throw toError(field, min === max ? `must hold ${min} bytes` : `must hold ${min} to ${max} bytes`);
      }
      return bytes;
    },
    kdf(value) {
      const kdf = reader.record(value, 'kdf');
      reader.onlyFields(kdf, ['name', 'N', 'r', 'p', 'salt'], 'kdf.');
      if (kdf.name !== 'scrypt') throw toError('kdf.name', 'must be "scrypt"');
      const params = { N: kdf.N, r: kdf.r, p: kdf.p } as KdfParams;
      checkKdfParams(params, 'kdf', toError);
      const salt = reader.bytes(kdf, 'salt', 'kdf.', { min: MIN_SALT_LENGTH, max: MAX_SALT_LENGTH });
      // Re-encoded from the decoded bytes, so the AAD is built from what was checked.
      return { name: 'scrypt', N: params.N, r: params.r, p: params.p, salt: toBase64Url(salt) };
    },
    cipher(value) {
      const cipher = reader.record(value, 'cipher');
      reader.onlyFields(cipher, ['name', 'iv', 'ciphertext'], 'cipher.');
      if (cipher.name !== 'aes-256-gcm') throw toError('cipher.name', 'must be "aes-256-gcm"');
      return {
        iv: reader.bytes(cipher, 'iv', 'cipher.', { min: GCM_IV_LENGTH }),
        ciphertext: reader.bytes(cipher, 'ciphertext', 'cipher.', { min: GCM_TAG_LENGTH, max: Number.MAX_SAFE_INTEGER }),
      };
    },
  };
  return reader;
}
