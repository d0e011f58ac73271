import canonicalize from 'canonicalize';
import { utf8ToBytes } from './bytes.js';
import { CryptoError, CryptoErrorCode } from './errors.js';

/**
 * RFC 8785 (JSON Canonicalization Scheme): the bytes that are hashed and signed.
 *
 * RFC 8785 §3.2 defines the output as ECMAScript's JSON serialization of primitives (string
 * escaping and Number-to-string as JSON.stringify does them) with object members sorted by their
 * UTF-16 code units. So the value is walked once — checking that JSON can carry it faithfully
 * and copying objects with their keys sorted — and the native JSON.stringify writes the text.
 * This is ~2.5x faster than the recursive string building of the `canonicalize` package (the
 * RFC authors' implementation), which serves the values whose member order JavaScript objects
 * cannot hold (array-index keys) and is the reference of a differential property test beside
 * the RFC's own vectors.
 */

// RFC 8785 §3.2.2.2: lone surrogates MUST be rejected.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Keys that ECMAScript enumerates before all others, in numeric order (array indices): an object
 * holding one cannot keep RFC 8785 member order, so such values go the slower, general way.
 */
const ARRAY_INDEX_KEY = /^(?:0|[1-9]\d{0,9})$/;

interface Walk {
  readonly seen: Set<object>;
  /** Set when some object has an array-index key (see ARRAY_INDEX_KEY). */
  indexKeys: boolean;
}

/** Thrown inside the walk; `path` is filled in on the way out so the message names the spot. */
class Unrepresentable extends Error {
  readonly path: string[] = [];
}

/** A copy of `value` with every object's keys in RFC 8785 order; throws Unrepresentable. */
function sorted(value: unknown, walk: Walk): unknown {
  const { seen } = walk;
  switch (typeof value) {
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new Unrepresentable('a string with a lone surrogate');
      return value;
    case 'number':
      // RFC 8785 §3.2.2.3: NaN and Infinity MUST be rejected.
      if (!Number.isFinite(value)) throw new Unrepresentable(`the number ${String(value)}`);
      return value;
    case 'boolean':
      return value;
    case 'object':
      break;
    case 'undefined':
    case 'function':
    case 'symbol':
    case 'bigint':
      throw new Unrepresentable(`a value of type ${typeof value}`);
  }
  if (value === null) return null;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    // As JSON.stringify (e.g. a Date gives its ISO string).
    if (seen.has(value)) throw new Unrepresentable('a circular reference');
    seen.add(value);
    const json = sorted((value as { toJSON: (key: string) => unknown }).toJSON(''), walk);
    seen.delete(value);
    return json;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Map || value instanceof Set) {
    // JSON would turn these into {"0":..} or {}: encode bytes (base64url) or entries first.
    throw new Unrepresentable(`a ${value.constructor.name}; encode it as a JSON value first`);
  }
  if (seen.has(value)) throw new Unrepresentable('a circular reference');
  seen.add(value);
  let copy: unknown;
  if (Array.isArray(value)) {
    const items = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      try {
        // As JSON.stringify: an undefined array element is null.
        items[i] = item === undefined ? null : sorted(item, walk);
      } catch (error) {
        if (error instanceof Unrepresentable) error.path.unshift(`[${i}]`);
        throw error;
      }
    }
    copy = items;
  } else {
    const record = value as Record<string, unknown>;
    // No prototype: a "__proto__" member must stay a member, not become the copy's prototype.
    const out = Object.create(null) as Record<string, unknown>;
    // RFC 8785 §3.2.3: sort by UTF-16 code units, which is what Array.prototype.sort does.
    for (const key of Object.keys(record).sort()) {
      const member = record[key];
      // As JSON.stringify: a member whose value is undefined is left out.
      if (member === undefined) continue;
      try {
        if (LONE_SURROGATE.test(key)) throw new Unrepresentable('a key with a lone surrogate');
        if (ARRAY_INDEX_KEY.test(key)) walk.indexKeys = true;
        out[key] = sorted(member, walk);
      } catch (error) {
        if (error instanceof Unrepresentable) error.path.unshift(`.${key}`);
        throw error;
      }
    }
    copy = out;
  }
  seen.delete(value);
  return copy;
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
  let copy: unknown;
  const walk: Walk = { seen: new Set(), indexKeys: false };
  try {
    copy = sorted(value, walk);
  } catch (error) {
    if (error instanceof Unrepresentable) {
      throw new CryptoError(CryptoErrorCode.NOT_CANONICALIZABLE, `cannot canonicalize ${error.message} at $${error.path.join('')}`);
    }
    // A throwing toJSON or getter, or a stack overflow on absurdly deep input.
    throw new CryptoError(CryptoErrorCode.NOT_CANONICALIZABLE, `cannot canonicalize value: ${(error as Error).message}`);
  }
  if (walk.indexKeys) return canonicalize(copy) as string;
  return JSON.stringify(copy);
}

/** {@link canonicalJson} encoded as UTF-8 (RFC 8785 §3.2.4). */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8ToBytes(canonicalJson(value));
}
