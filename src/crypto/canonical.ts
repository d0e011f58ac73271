import canonicalize from 'canonicalize';
import { utf8ToBytes } from './bytes.js';
import { CryptoError, CryptoErrorCode } from './errors.js';

/**
 * RFC 8785 (JSON Canonicalization Scheme): the bytes that are hashed and signed.
 *
 * Serialization is the `canonicalize` package's (the reference implementation by the RFC's
 * authors). It is lenient with values JSON cannot carry (`{a: fn}` gives `{"a":undefined}`,
 * a Uint8Array gives `{"0":..}`), and a signature over such bytes would sign something no
 * verifier can parse, so a strict pass over the value runs first and names the bad spot.
 */

// RFC 8785 §3.2.2.2: lone surrogates MUST be rejected.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `value` cannot be canonicalized, with its path pushed onto `path`; undefined when it can. */
function unrepresentable(value: unknown, path: string[], seen: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
      return LONE_SURROGATE.test(value) ? 'a string with a lone surrogate' : undefined;
    case 'number':
      // RFC 8785 §3.2.2.3: NaN and Infinity MUST be rejected.
      return Number.isFinite(value) ? undefined : `the number ${String(value)}`;
    case 'boolean':
      return undefined;
    case 'object':
      break;
    case 'undefined':
    case 'function':
    case 'symbol':
    case 'bigint':
      return `a value of type ${typeof value}`;
  }
  if (value === null) return undefined;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Map || value instanceof Set) {
    return `a ${value.constructor.name}; encode it as a JSON value first`;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  if (seen.has(value)) return 'a circular reference';
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      // As JSON.stringify: an undefined array element is null.
      const problem = item === undefined ? undefined : unrepresentable(item, path, seen);
      if (problem) {
        path.unshift(`[${i}]`);
        return problem;
      }
    }
  } else {
    for (const key in value) {
      const member = (value as Record<string, unknown>)[key];
      // As JSON.stringify: a member whose value is undefined is left out.
      const problem = LONE_SURROGATE.test(key)
        ? 'a key with a lone surrogate'
        : member === undefined
          ? undefined
          : unrepresentable(member, path, seen);
      if (problem) {
        path.unshift(`.${key}`);
        return problem;
      }
    }
  }
  seen.delete(value);
  return undefined;
}

/**
 * RFC 8785 canonical JSON of `value`. Follows JSON.stringify for what JSON can carry (undefined
 * object members are left out, undefined array elements become null, `toJSON` is honoured) and
 * rejects what it cannot carry faithfully: undefined at the top level, functions, symbols,
 * bigints, NaN and Infinity, lone surrogates, circular references, typed arrays, ArrayBuffers,
 * Maps and Sets.
 *
 * @throws CryptoError NOT_CANONICALIZABLE, naming where in the value the problem is
 * @example
 * canonicalJson({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  const path: string[] = [];
  const problem = value === undefined ? 'undefined' : unrepresentable(value, path, new Set());
  if (problem) {
    throw new CryptoError(CryptoErrorCode.NOT_CANONICALIZABLE, `cannot canonicalize ${problem} at $${path.join('')}`);
  }
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    // A throwing toJSON or getter, or a stack overflow on absurdly deep input.
    throw new CryptoError(CryptoErrorCode.NOT_CANONICALIZABLE, `cannot canonicalize value: ${(error as Error).message}`);
  }
  if (text === undefined) throw new CryptoError(CryptoErrorCode.NOT_CANONICALIZABLE, 'cannot canonicalize undefined at $');
  return text;
}

/** {@link canonicalJson} encoded as UTF-8 (RFC 8785 §3.2.4). */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8ToBytes(canonicalJson(value));
}
