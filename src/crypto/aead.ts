import { CryptoError, CryptoErrorCode, assertBytes } from './errors.js';
import * as platform from './platform.js';

export const AES_KEY_LENGTH = 32;
export const GCM_IV_LENGTH = 12;

/** AES-256-GCM with a random 96-bit IV. Returns the IV and ciphertext||tag. */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): { iv: Uint8Array; ciphertext: Uint8Array } {
  assertBytes('key', key, AES_KEY_LENGTH);
  const iv = platform.randomBytes(GCM_IV_LENGTH);
  return { iv, ciphertext: platform.aes256GcmEncrypt(key, iv, plaintext, aad) };
}

/** Opens what {@link seal} produced; throws DECRYPT_FAILED on a wrong key, wrong AAD or tampering. */
export function open(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array {
  assertBytes('key', key, AES_KEY_LENGTH);
  assertBytes('iv', iv, GCM_IV_LENGTH);
  const plaintext = platform.aes256GcmDecrypt(key, iv, ciphertext, aad);
  if (!plaintext) throw new CryptoError(CryptoErrorCode.DECRYPT_FAILED, 'decryption failed: wrong key or tampered data');
  return plaintext;
}

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return platform.hkdfSha256(ikm, salt, info, length);
}

export { scrypt, type ScryptParams } from './platform.js';
