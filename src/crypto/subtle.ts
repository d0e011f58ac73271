/**
 * Asynchronous twins of the key, signature and AEAD functions, on WebCrypto (`crypto.subtle`),
 * which browsers and Node 20 both provide. The web app runs on these (WebCrypto has no
 * synchronous API); their results are byte-identical to the synchronous functions' (keys.ts,
 * aead.ts), which a test checks. Nothing here imports `node:` modules.
 */
import { fromBase64Url, fromHex } from './bytes.js';
import { CryptoError, CryptoErrorCode, assertBytes } from './errors.js';
import { AES_KEY_LENGTH, GCM_IV_LENGTH } from './aead.js';
import type { EncryptionKeyPair, SigningKeyPair } from './keys.js';

const SEED_BYTES = 32;
// DER prefixes of PKCS#8 encodings of raw 32-byte Ed25519 and X25519 private keys (RFC 8410 §7).
const ED25519_PKCS8_PREFIX = fromHex('302e020100300506032b657004220420');
const X25519_PKCS8_PREFIX = fromHex('302e020100300506032b656e04220420');

type Subtle = typeof globalThis.crypto.subtle;
type SubtleKey = Awaited<ReturnType<Subtle['importKey']>>;

function subtle(): Subtle {
  const api = globalThis.crypto?.subtle;
  if (api === undefined) {
    throw new CryptoError(
      CryptoErrorCode.INVALID_ARGUMENT,
      'WebCrypto (crypto.subtle) is not available here',
    );
  }
  return api;
}

/** A copy in a fresh ArrayBuffer: WebCrypto takes BufferSource, not views over shared memory. */
function buffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(new ArrayBuffer(bytes.length));
  copy.set(bytes);
  return copy;
}

function pkcs8(prefix: Uint8Array, seed: Uint8Array): Uint8Array<ArrayBuffer> {
  const der = new Uint8Array(new ArrayBuffer(prefix.length + seed.length));
  der.set(prefix);
  der.set(seed, prefix.length);
  return der;
}

async function importPrivate(algorithm: 'Ed25519' | 'X25519', seed: Uint8Array): Promise<SubtleKey> {
  const der = pkcs8(algorithm === 'Ed25519' ? ED25519_PKCS8_PREFIX : X25519_PKCS8_PREFIX, seed);
  try {
    return await subtle().importKey(
      'pkcs8',
      der,
      { name: algorithm },
      true,
      algorithm === 'Ed25519' ? ['sign'] : ['deriveBits'],
    );
  } finally {
    der.fill(0);
  }
}

/** The raw public key of a private key: the `x` member of its JWK (RFC 8037 §2). */
async function publicKeyOf(key: SubtleKey): Promise<Uint8Array> {
  const jwk = await subtle().exportKey('jwk', key);
  if (typeof jwk.x !== 'string')
    throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, 'WebCrypto gave no public key');
  return fromBase64Url(jwk.x);
}

/** As {@link signingKeyPairFromSeed}, on WebCrypto. */
export async function signingKeyPairFromSeedAsync(seed: Uint8Array): Promise<SigningKeyPair> {
  assertBytes('seed', seed, SEED_BYTES);
  return { publicKey: await publicKeyOf(await importPrivate('Ed25519', seed)), secretKey: seed.slice() };
}

/** As {@link encryptionKeyPairFromSeed}, on WebCrypto. */
export async function encryptionKeyPairFromSeedAsync(seed: Uint8Array): Promise<EncryptionKeyPair> {
  assertBytes('seed', seed, SEED_BYTES);
  return { publicKey: await publicKeyOf(await importPrivate('X25519', seed)), secretKey: seed.slice() };
}

/** As {@link sign} (Ed25519, RFC 8032, deterministic): the same 64 bytes. */
export async function signAsync(secretKey: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  assertBytes('secretKey', secretKey, SEED_BYTES);
  assertBytes('message', message);
  const key = await importPrivate('Ed25519', secretKey);
  return new Uint8Array(await subtle().sign({ name: 'Ed25519' }, key, buffer(message)));
}

async function aesKey(key: Uint8Array, usage: 'encrypt' | 'decrypt'): Promise<SubtleKey> {
  assertBytes('key', key, AES_KEY_LENGTH);
  return subtle().importKey('raw', buffer(key), { name: 'AES-GCM' }, false, [usage]);
}

/** As {@link seal}: AES-256-GCM with a random 96-bit IV; ciphertext||tag. */
export async function sealAsync(
  key: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Promise<{ iv: Uint8Array; ciphertext: Uint8Array }> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(GCM_IV_LENGTH));
  return { iv, ciphertext: await aesGcmEncryptAsync(key, iv, plaintext, aad) };
}

/** AES-256-GCM with a given IV (tests compare it with the synchronous one). */
export async function aesGcmEncryptAsync(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  assertBytes('iv', iv, GCM_IV_LENGTH);
  const params = { name: 'AES-GCM', iv: buffer(iv), additionalData: buffer(aad), tagLength: 128 };
  return new Uint8Array(await subtle().encrypt(params, await aesKey(key, 'encrypt'), buffer(plaintext)));
}

/** As {@link open}; throws DECRYPT_FAILED on a wrong key, wrong AAD or tampering. */
export async function openAsync(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  assertBytes('iv', iv, GCM_IV_LENGTH);
  const cryptoKey = await aesKey(key, 'decrypt');
  try {
    const params = { name: 'AES-GCM', iv: buffer(iv), additionalData: buffer(aad), tagLength: 128 };
    return new Uint8Array(await subtle().decrypt(params, cryptoKey, buffer(ciphertext)));
  } catch {
    throw new CryptoError(CryptoErrorCode.DECRYPT_FAILED, 'decryption failed: wrong key or tampered data');
  }
}
