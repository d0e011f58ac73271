// node:test's describe/it return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from './bytes.js';
import { canonicalBytes, canonicalJson } from './canonical.js';
import { CryptoErrorCode } from './errors.js';
import canonicalize from 'canonicalize';

interface Rfc8785Vectors {
  primitives: { input: string; output: string };
  primitivesUtf8Hex: string;
  sorting: { input: string };
  sortingValueOrder: string[];
  numbers: { ieee754: string; json: string | null; comment: string }[];
}

const dir = new URL('../../testdata/rfc8785/', import.meta.url);
const readText = (name: string): string => readFileSync(new URL(name, dir), 'utf8');
const vectors = JSON.parse(readText('vectors.json')) as Rfc8785Vectors;

function doubleFromBits(hex: string): number {
  return new DataView(fromHex(hex).buffer).getFloat64(0, false);
}

const notCanonicalizable = { code: CryptoErrorCode.NOT_CANONICALIZABLE };

describe('RFC 8785 published examples', () => {
  it('§3.2.2/§3.2.3: canonicalizes the primitives sample to the published text', () => {
    const parsed: unknown = JSON.parse(readText(vectors.primitives.input));
    assert.equal(canonicalJson(parsed), readText(vectors.primitives.output));
  });

  it('§3.2.4: gives the published UTF-8 bytes', () => {
    const parsed: unknown = JSON.parse(readText(vectors.primitives.input));
    assert.equal(toHex(canonicalBytes(parsed)), vectors.primitivesUtf8Hex.replaceAll(' ', ''));
  });

  it('§3.2.3: sorts properties by UTF-16 code units', () => {
    const text = canonicalJson(JSON.parse(readText(vectors.sorting.input)));
    // Read the order from the text: JSON.parse would move the integer-like key "1" first.
    const positions = vectors.sortingValueOrder.map((value) => text.indexOf(JSON.stringify(value)));
    assert.ok(
      positions.every((at) => at > 0),
      text,
    );
    assert.deepEqual(
      positions,
      positions.toSorted((a, b) => a - b),
      text,
    );
  });

  describe('Appendix B: number serialization samples', () => {
    for (const { ieee754, json, comment } of vectors.numbers) {
      const value = doubleFromBits(ieee754);
      if (json === null) {
        it(`${ieee754} (${comment}) is rejected`, () => {
          assert.throws(() => canonicalJson(value), notCanonicalizable);
          assert.throws(() => canonicalJson({ n: [value] }), notCanonicalizable);
        });
      } else {
        it(`${ieee754} -> ${json}`, () => {
          assert.equal(canonicalJson(value), json);
          assert.equal(canonicalJson([value]), `[${json}]`);
        });
      }
    }
  });
});

describe('canonicalJson beyond the RFC samples', () => {
  it('sorts nested objects, keeps array order, writes no whitespace', () => {
    assert.equal(canonicalJson({ b: [3, { z: 1, y: 2 }], a: 'x' }), '{"a":"x","b":[3,{"y":2,"z":1}]}');
  });

  it('leaves out undefined members and writes undefined array elements as null, as JSON.stringify does', () => {
    assert.equal(canonicalJson({ a: undefined, b: [undefined, 1] }), '{"b":[null,1]}');
  });

  it('uses toJSON, as JSON.stringify does', () => {
    assert.equal(canonicalJson({ at: new Date(Date.UTC(2024, 0, 2)) }), '{"at":"2024-01-02T00:00:00.000Z"}');
  });

  for (const [name, value, where] of [
    ['undefined at the top level', undefined, '$'],
    ['a nested function', { a: { f: () => 1 } }, '$.a.f'],
    ['a function in an array', [1, () => 1], '$[1]'],
    ['a symbol in an array', [Symbol('s')], '$[0]'],
    ['a bigint', { n: 1n }, '$.n'],
    ['NaN', { n: Number.NaN }, '$.n'],
    ['a lone surrogate in a value', { s: 'a\uD800' }, '$.s'],
    ['a lone surrogate in a key', { ['\uDEAD']: 1 }, '$.\uDEAD'],
    ['a Uint8Array', { key: new Uint8Array([1, 2]) }, '$.key'],
    ['a Map', { m: new Map([[1, 2]]) }, '$.m'],
  ] as const) {
    it(`rejects ${name} with NOT_CANONICALIZABLE naming ${where}`, () => {
      assert.throws(
        () => canonicalJson(value),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, CryptoErrorCode.NOT_CANONICALIZABLE);
          assert.ok(error.message.endsWith(` at ${where}`), error.message);
          return true;
        },
      );
    });
  }

  it('rejects circular references but accepts a shared (non-circular) object', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.throws(() => canonicalJson(cycle), notCanonicalizable);
    const shared = { x: 1 };
    assert.equal(canonicalJson([shared, shared]), '[{"x":1},{"x":1}]');
  });

  it('wraps an exception thrown by toJSON', () => {
    const bad = {
      toJSON(): never {
        throw new Error('boom');
      },
    };
    assert.throws(() => canonicalJson(bad), notCanonicalizable);
  });

  it('keeps a "__proto__" member as a member', () => {
    const value = JSON.parse('{"b":1,"__proto__":{"x":2}}') as unknown;
    assert.equal(canonicalJson(value), '{"__proto__":{"x":2},"b":1}');
  });

  it('orders array-index keys as strings, not as numbers', () => {
    assert.equal(canonicalJson({ '10': 1, '2': 2, a: 3, '1': 4 }), '{"1":4,"10":1,"2":2,"a":3}');
  });

  it('gives byte for byte what the canonicalize package (RFC 8785 reference) gives (fast-check)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.equal(canonicalJson(value), canonicalize(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('is a fixed point and agrees with JSON for any JSON value (fast-check)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(value)));
        assert.equal(canonicalJson(JSON.parse(text)), text);
      }),
      { numRuns: 300 },
    );
  });
});
