import { assertBytes } from './errors.js';
import * as platform from './platform.js';

export const SEED_LENGTH = 32;
export const PUBLIC_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

/** An Ed25519 key pair; `secretKey` is the 32-byte seed of RFC 8032. */
export interface SigningKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** An X25519 key pair (RFC 7748), used for HPKE key grants. */
export interface EncryptionKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export function randomBytes(length: number): Uint8Array {
  return platform.randomBytes(length);
}

export function signingKeyPairFromSeed(seed: Uint8Array): SigningKeyPair {
  assertBytes('seed', seed, SEED_LENGTH);
  return { publicKey: platform.ed25519PublicKeyFromSeed(seed), secretKey: seed.slice() };
}

export function generateSigningKeyPair(): SigningKeyPair {
  return signingKeyPairFromSeed(platform.randomBytes(SEED_LENGTH));
}

export function encryptionKeyPairFromSeed(seed: Uint8Array): EncryptionKeyPair {
  assertBytes('seed', seed, SEED_LENGTH);
  return { publicKey: platform.x25519PublicKeyFromSeed(seed), secretKey: seed.slice() };
}

export function generateEncryptionKeyPair(): EncryptionKeyPair {
  return encryptionKeyPairFromSeed(platform.randomBytes(SEED_LENGTH));
}

export function sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  assertBytes('secretKey', secretKey, SEED_LENGTH);
  assertBytes('message', message);
  return platform.ed25519Sign(secretKey, message);
}

/** Ed25519 verification (RFC 8032, as implemented by OpenSSL). Never throws on bad input: false. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return false;
  return platform.ed25519Verify(publicKey, message, signature);
}

/** As {@link verify}, on the thread pool: use it to verify many signatures in parallel. */
export function verifyAsync(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (publicKey.length !== PUBLIC_KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return Promise.resolve(false);
  return platform.ed25519VerifyAsync(publicKey, message, signature);
}
