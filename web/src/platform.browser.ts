/**
 * The browser's `src/crypto/platform.ts` (swapped in by web/vite.config.ts; same exports).
 * Hashes, HKDF and scrypt are synchronous in the crypto layer, so they come from @noble/hashes
 * (audited, pure JS); randomness from `crypto.getRandomValues`. WebCrypto has no synchronous
 * Ed25519, X25519 or AES-GCM: the app uses the `*Async` functions of src/crypto/subtle.ts, and
 * the synchronous ones here refuse, naming the function to use instead.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { CryptoError, CryptoErrorCode } from '../../src/crypto/errors.js';

function unavailable(name: string, instead: string): never {
  throw new CryptoError(
    CryptoErrorCode.INVALID_ARGUMENT,
    `${name} is not available in the browser: use ${instead}`,
  );
}

export function randomBytes(length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

/** An incremental SHA-256: `update` any number of times, then `digest` once. */
export interface IncrementalHash {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

export function createSha256(): IncrementalHash {
  const hash = nobleSha256.create();
  return { update: (data) => void hash.update(data), digest: () => hash.digest() };
}

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

export function ed25519PublicKeyFromSeed(_seed: Uint8Array): Uint8Array {
  return unavailable('ed25519PublicKeyFromSeed', 'signingKeyPairFromSeedAsync');
}

export function ed25519Sign(_seed: Uint8Array, _message: Uint8Array): Uint8Array {
  return unavailable('ed25519Sign', 'signAsync');
}

export function ed25519Verify(_publicKey: Uint8Array, _message: Uint8Array, _signature: Uint8Array): boolean {
  return unavailable('ed25519Verify', 'verifyAsync');
}

export async function ed25519VerifyAsync(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  try {
    const key = await globalThis.crypto.subtle.importKey('raw', copy(publicKey), { name: 'Ed25519' }, false, [
      'verify',
    ]);
    return await globalThis.crypto.subtle.verify({ name: 'Ed25519' }, key, copy(signature), copy(message));
  } catch {
    return false;
  }
}

export function x25519PublicKeyFromSeed(_seed: Uint8Array): Uint8Array {
  return unavailable('x25519PublicKeyFromSeed', 'encryptionKeyPairFromSeedAsync');
}

export function x25519SharedSecret(_secretKey: Uint8Array, _publicKey: Uint8Array): Uint8Array {
  return unavailable('x25519SharedSecret', 'HPKE (src/vault/grants.ts)');
}

export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdf(nobleSha256, ikm, salt, info, length);
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export function scrypt(
  passphrase: Uint8Array,
  salt: Uint8Array,
  params: ScryptParams,
  length: number,
): Promise<Uint8Array> {
  const maxmem = 256 * params.N * params.r + 1024 * 1024;
  return scryptAsync(passphrase, salt, { ...params, dkLen: length, maxmem });
}

export function aes256GcmEncrypt(
  _key: Uint8Array,
  _iv: Uint8Array,
  _plaintext: Uint8Array,
  _aad: Uint8Array,
): Uint8Array {
  return unavailable('aes256GcmEncrypt', 'sealAsync');
}

export function aes256GcmDecrypt(
  _key: Uint8Array,
  _iv: Uint8Array,
  _sealed: Uint8Array,
  _aad: Uint8Array,
): Uint8Array | null {
  return unavailable('aes256GcmDecrypt', 'openAsync');
}

function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(bytes.length));
  out.set(bytes);
  return out;
}
