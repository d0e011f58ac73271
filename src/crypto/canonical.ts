import canonicalize from 'canonicalize';
import { utf8ToBytes } from './bytes.js';
import { CryptoError, CryptoErrorCode } from './errors.js';

/**
 * RFC 8785 (JSON Canonicalization Scheme) serialization: the bytes that are hashed and signed.
 * Rejects values JSON cannot carry faithfully (undefined at top level, non-finite numbers).
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    throw new CryptoError(CryptoErrorCode.NOT_CANONICALIZABLE, `cannot canonicalize value: ${(error as Error).message}`);
  }
  if (text === undefined) {
    throw new CryptoError(CryptoErrorCode.NOT_CANONICALIZABLE, 'cannot canonicalize undefined');
  }
  return text;
}

export function canonicalBytes(value: unknown): Uint8Array {
  return utf8ToBytes(canonicalJson(value));
}
