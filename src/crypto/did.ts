import { base58 } from '@scure/base';
import { CryptoError, CryptoErrorCode, assertBytes } from './errors.js';
import { PUBLIC_KEY_LENGTH } from './keys.js';

/**
 * did:key (W3C CCG did:key v0.7): `did:key:` + multibase base58btc ('z') of the multicodec
 * varint of the key type followed by the raw public key.
 */
const DID_KEY_PREFIX = 'did:key:z';
// Multicodec table: ed25519-pub = 0xed, x25519-pub = 0xec; both encode as two-byte varints.
const ED25519_CODEC = Uint8Array.of(0xed, 0x01);
const X25519_CODEC = Uint8Array.of(0xec, 0x01);

export type DidKeyType = 'Ed25519' | 'X25519';

function encode(codec: Uint8Array, publicKey: Uint8Array): string {
  assertBytes('publicKey', publicKey, PUBLIC_KEY_LENGTH);
  const bytes = new Uint8Array(codec.length + publicKey.length);
  bytes.set(codec);
  bytes.set(publicKey, codec.length);
  return DID_KEY_PREFIX + base58.encode(bytes);
}

/** Parses a did:key into its key type and raw 32-byte public key. */
export function parseDidKey(did: string): { type: DidKeyType; publicKey: Uint8Array } {
  if (typeof did !== 'string' || !did.startsWith(DID_KEY_PREFIX)) {
    throw new CryptoError(CryptoErrorCode.DID_INVALID, `"did" expected a did:key with base58btc multibase, got ${JSON.stringify(String(did).slice(0, 40))}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(did.slice(DID_KEY_PREFIX.length));
  } catch {
    throw new CryptoError(CryptoErrorCode.DID_INVALID, '"did" has an invalid base58btc identifier');
  }
  // Too short to hold a two-byte multicodec prefix: malformed, not merely an unknown key type.
  if (bytes.length < ED25519_CODEC.length) {
    throw new CryptoError(CryptoErrorCode.DID_INVALID, '"did" is too short to hold a multicodec key');
  }
  const codec = bytes.subarray(0, 2);
  const publicKey = bytes.slice(2);
  let type: DidKeyType;
  if (codec[0] === ED25519_CODEC[0] && codec[1] === ED25519_CODEC[1]) type = 'Ed25519';
  else if (codec[0] === X25519_CODEC[0] && codec[1] === X25519_CODEC[1]) type = 'X25519';
  else throw new CryptoError(CryptoErrorCode.DID_UNSUPPORTED, '"did" uses a key type other than Ed25519 or X25519');
  if (publicKey.length !== PUBLIC_KEY_LENGTH) {
    throw new CryptoError(CryptoErrorCode.DID_INVALID, `"did" expected a 32-byte key, got length=${publicKey.length}`);
  }
  return { type, publicKey };
}

export function didFromSigningKey(publicKey: Uint8Array): string {
  return encode(ED25519_CODEC, publicKey);
}

export function didFromEncryptionKey(publicKey: Uint8Array): string {
  return encode(X25519_CODEC, publicKey);
}

/** The Ed25519 public key a did:key names; throws DID_UNSUPPORTED for any other key type. */
export function signingKeyFromDid(did: string): Uint8Array {
  const parsed = parseDidKey(did);
  if (parsed.type !== 'Ed25519') {
    throw new CryptoError(CryptoErrorCode.DID_UNSUPPORTED, `"did" names an ${parsed.type} key, expected Ed25519`);
  }
  return parsed.publicKey;
}

export function isSigningDid(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    return parseDidKey(value).type === 'Ed25519';
  } catch {
    return false;
  }
}
