/**
 * The only module of the crypto layer that touches `node:crypto`. A browser build replaces this
 * file (same exports) with WebCrypto / noble implementations; everything else stays portable.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hash as oneShotHash,
  hkdfSync,
  randomBytes as nodeRandomBytes,
  scrypt as nodeScrypt,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';

// DER prefixes of PKCS#8 / SPKI encodings for raw 32-byte Ed25519 and X25519 keys (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

const PUBLIC_KEY_CACHE_LIMIT = 10_000;
const publicKeyCache = new Map<string, KeyObject>();

/** Ed25519 public KeyObjects are cached: building one costs about as much as a verify. */
function ed25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  const cacheKey = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex');
  let key = publicKeyCache.get(cacheKey);
  if (!key) {
    key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    });
    if (publicKeyCache.size >= PUBLIC_KEY_CACHE_LIMIT) {
      const oldest = publicKeyCache.keys().next().value;
      if (oldest !== undefined) publicKeyCache.delete(oldest);
    }
    publicKeyCache.set(cacheKey, key);
  }
  return key;
}

/**
 * Importing a PKCS#8 key costs ~10x a signature in OpenSSL 3, so KeyObjects are cached per seed
 * array. A WeakMap keeps no secret alive longer than its owner (a wallet) keeps the seed.
 */
const privateKeyCache = new WeakMap<Uint8Array, KeyObject>();

function ed25519PrivateKeyObject(seed: Uint8Array): KeyObject {
  let key = privateKeyCache.get(seed);
  if (!key) {
    key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    privateKeyCache.set(seed, key);
  }
  return key;
}

function x25519PrivateKeyObject(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function rawPublicKey(privateKey: KeyObject): Uint8Array {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

export function randomBytes(length: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(length));
}

/** An incremental SHA-256: `update` any number of times, then `digest` once. */
export interface IncrementalHash {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

export function createSha256(): IncrementalHash {
  const hash = createHash('sha256');
  return {
    update: (data) => void hash.update(data),
    digest: () => new Uint8Array(hash.digest()),
  };
}

export function sha256(data: Uint8Array): Uint8Array {
  // One-shot hashing (Node ≥ 20.12) skips creating a Hash object: ~30% faster on short inputs.
  const digest = oneShotHash('sha256', data, 'buffer');
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

export function ed25519PublicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return rawPublicKey(ed25519PrivateKeyObject(seed));
}

export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, message, ed25519PrivateKeyObject(seed)));
}

export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return nodeVerify(null, message, ed25519PublicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/** Same as {@link ed25519Verify} but runs on libuv's thread pool, so several verify in parallel. */
export function ed25519VerifyAsync(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  return new Promise((resolve) => {
    let key: KeyObject;
    try {
      key = ed25519PublicKeyObject(publicKey);
    } catch {
      resolve(false);
      return;
    }
    nodeVerify(null, message, key, signature, (error, ok) => resolve(!error && ok));
  });
}

export function x25519PublicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return rawPublicKey(x25519PrivateKeyObject(seed));
}

export function x25519SharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const publicKeyObject = createPublicKey({
    key: Buffer.concat([X25519_SPKI_PREFIX, publicKey]),
    format: 'der',
    type: 'spki',
  });
  return new Uint8Array(diffieHellman({ privateKey: x25519PrivateKeyObject(secretKey), publicKey: publicKeyObject }));
}

export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export function scrypt(passphrase: Uint8Array, salt: Uint8Array, params: ScryptParams, length: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const maxmem = 256 * params.N * params.r + 1024 * 1024;
    nodeScrypt(passphrase, salt, length, { ...params, maxmem }, (error, key) =>
      error ? reject(error) : resolve(new Uint8Array(key)),
    );
  });
}

const GCM_TAG_LENGTH = 16;

/** AES-256-GCM; the 16-byte tag is appended to the ciphertext. */
export function aes256GcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_LENGTH });
  cipher.setAAD(aad);
  return new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
}

/** Returns null when the tag does not verify (wrong key, AAD or tampered bytes). */
export function aes256GcmDecrypt(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  if (sealed.length < GCM_TAG_LENGTH) return null;
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_LENGTH));
  try {
    return new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - GCM_TAG_LENGTH)), decipher.final()]));
  } catch {
    return null;
  }
}
