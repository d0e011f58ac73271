// node:test's describe/it return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AES_KEY_LENGTH, GCM_IV_LENGTH, open, seal } from './aead.js';
import { utf8ToBytes } from './bytes.js';
import { CryptoErrorCode } from './errors.js';
import { randomBytes } from './keys.js';

const decryptFailed = { code: CryptoErrorCode.DECRYPT_FAILED };
const GCM_TAG_LENGTH = 16;

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

describe('AES-256-GCM seal/open', () => {
  const key = randomBytes(AES_KEY_LENGTH);
  const aad = utf8ToBytes('record:42|v:1|patient:did:key:z6Mk');
  const plaintext = utf8ToBytes('{"resourceType":"Observation"}');

  it('round-trips, with a fresh 96-bit IV and a 16-byte tag', () => {
    const sealed = seal(key, plaintext, aad);
    assert.equal(sealed.iv.length, GCM_IV_LENGTH);
    assert.equal(sealed.ciphertext.length, plaintext.length + GCM_TAG_LENGTH);
    assert.deepEqual(open(key, sealed.iv, sealed.ciphertext, aad), plaintext);
    assert.notDeepEqual(seal(key, plaintext, aad).iv, sealed.iv);
  });

  it('round-trips an empty plaintext and empty AAD', () => {
    const sealed = seal(key, new Uint8Array(0), new Uint8Array(0));
    assert.deepEqual(open(key, sealed.iv, sealed.ciphertext, new Uint8Array(0)), new Uint8Array(0));
  });

  it('round-trips any plaintext and AAD (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 64 }), (data, extra) => {
        const sealed = seal(key, data, extra);
        assert.deepEqual(open(key, sealed.iv, sealed.ciphertext, extra), data);
      }),
      { numRuns: 100 },
    );
  });

  it('wrong AAD, wrong key or wrong IV -> DECRYPT_FAILED', () => {
    const { iv, ciphertext } = seal(key, plaintext, aad);
    assert.throws(
      () => open(key, iv, ciphertext, utf8ToBytes('record:42|v:2|patient:did:key:z6Mk')),
      decryptFailed,
    );
    assert.throws(() => open(key, iv, ciphertext, new Uint8Array(0)), decryptFailed);
    assert.throws(() => open(randomBytes(AES_KEY_LENGTH), iv, ciphertext, aad), decryptFailed);
    assert.throws(() => open(key, flipBit(iv, 0), ciphertext, aad), decryptFailed);
  });

  it('any flipped bit of ciphertext or tag -> DECRYPT_FAILED', () => {
    const { iv, ciphertext } = seal(key, plaintext, aad);
    for (let bit = 0; bit < ciphertext.length * 8; bit++) {
      assert.throws(() => open(key, iv, flipBit(ciphertext, bit), aad), decryptFailed, `bit ${bit}`);
    }
  });

  it('truncated input -> DECRYPT_FAILED', () => {
    const { iv, ciphertext } = seal(key, plaintext, aad);
    assert.throws(() => open(key, iv, ciphertext.subarray(0, ciphertext.length - 1), aad), decryptFailed);
    assert.throws(() => open(key, iv, ciphertext.subarray(0, GCM_TAG_LENGTH - 1), aad), decryptFailed);
    assert.throws(() => open(key, iv, new Uint8Array(0), aad), decryptFailed);
  });

  it('a key or IV of the wrong length is an argument error, named', () => {
    assert.throws(() => seal(new Uint8Array(16), plaintext, aad), {
      code: CryptoErrorCode.INVALID_ARGUMENT,
      message: /"key" expected Uint8Array of length 32/,
    });
    const { ciphertext } = seal(key, plaintext, aad);
    assert.throws(() => open(key, new Uint8Array(16), ciphertext, aad), {
      code: CryptoErrorCode.INVALID_ARGUMENT,
      message: /"iv" expected Uint8Array of length 12/,
    });
  });
});
