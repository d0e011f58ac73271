/**
 * Passcodes of `P` links, kept only as salted scrypt hashes (`scrypt$N$r$p$salt$hash`, base64url)
 * and compared in constant time. The cost is moderate (N = 2^14, 16 MiB): the lifetime attempt
 * limit, not the hash, is what stops guessing over HTTP; the hash keeps a copy of `shl.sqlite`
 * from handing out the passcodes as they are.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { fromBase64Url, scrypt, toBase64Url, type ScryptParams } from '../../crypto/index.js';

export const PASSCODE_SCRYPT: ScryptParams = { N: 2 ** 14, r: 8, p: 1 };
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Bounds of a stored hash's cost (a hash is written by this node only; still, never trust a row blindly). */
const MAX_N = 2 ** 20;

/** The stored form of `passcode`. */
export async function hashPasscode(passcode: string): Promise<string> {
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  const { N, r, p } = PASSCODE_SCRYPT;
  const hash = await scrypt(new TextEncoder().encode(passcode), salt, PASSCODE_SCRYPT, HASH_BYTES);
  return ['scrypt', N, r, p, toBase64Url(salt), toBase64Url(hash)].join('$');
}

/** Whether `passcode` is the one `stored` was made from (false for a malformed `stored`). */
export async function verifyPasscode(passcode: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (!(params.N > 1 && params.N <= MAX_N && params.r > 0 && params.r <= 32 && params.p > 0 && params.p <= 16)) return false;
  const expected = fromBase64Url(hash);
  const actual = await scrypt(new TextEncoder().encode(passcode), fromBase64Url(salt), params, expected.length);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
