// node:test's describe/it return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { base58 } from '@scure/base';
import fc from 'fast-check';
import { fromHex } from './bytes.js';
import {
  didFromEncryptionKey,
  didFromSigningKey,
  isSigningDid,
  parseDidKey,
  signingKeyFromDid,
} from './did.js';
import { CryptoErrorCode } from './errors.js';
import { encryptionKeyPairFromSeed, signingKeyPairFromSeed } from './keys.js';

interface DidKeyVectors {
  ed25519: {
    did: string;
    seed: string;
    publicKeyBase58: string;
    keyAgreement: { id: string; publicKeyBase58: string; privateKeyBase58: string };
  }[];
  x25519: { did: string; publicKeyBase58: string }[];
  unsupported: { did: string; keyType: string }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../testdata/did-key/w3c-ccg-vectors.json', import.meta.url), 'utf8'),
) as DidKeyVectors;

describe('did:key: W3C CCG published Ed25519 vectors', () => {
  for (const vector of vectors.ed25519) {
    it(`seed ${vector.seed.slice(-2)} -> ${vector.did}`, () => {
      const { publicKey } = signingKeyPairFromSeed(fromHex(vector.seed));
      assert.deepEqual(publicKey, base58.decode(vector.publicKeyBase58));
      assert.equal(didFromSigningKey(publicKey), vector.did);
      assert.deepEqual(parseDidKey(vector.did), { type: 'Ed25519', publicKey });
      assert.deepEqual(signingKeyFromDid(vector.did), publicKey);
      assert.equal(isSigningDid(vector.did), true);
    });

    it(`key agreement key of ${vector.did.slice(0, 20)}… -> ${vector.keyAgreement.id.slice(0, 12)}…`, () => {
      const { publicKey } = encryptionKeyPairFromSeed(base58.decode(vector.keyAgreement.privateKeyBase58));
      assert.deepEqual(publicKey, base58.decode(vector.keyAgreement.publicKeyBase58));
      assert.equal(didFromEncryptionKey(publicKey), `did:key:${vector.keyAgreement.id.slice(1)}`);
    });
  }
});

describe('did:key: W3C CCG published X25519 vectors', () => {
  for (const vector of vectors.x25519) {
    it(vector.did, () => {
      const publicKey = base58.decode(vector.publicKeyBase58);
      assert.equal(didFromEncryptionKey(publicKey), vector.did);
      assert.deepEqual(parseDidKey(vector.did), { type: 'X25519', publicKey });
      assert.equal(isSigningDid(vector.did), false);
      // An encryption key never stands in for a signer.
      assert.throws(() => signingKeyFromDid(vector.did), { code: CryptoErrorCode.DID_UNSUPPORTED });
    });
  }
});

describe('did:key: round trips (fast-check)', () => {
  it('parse(encode(key)) gives back the key and type', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        assert.deepEqual(parseDidKey(didFromSigningKey(key)), { type: 'Ed25519', publicKey: key });
        assert.deepEqual(parseDidKey(didFromEncryptionKey(key)), { type: 'X25519', publicKey: key });
      }),
      { numRuns: 200 },
    );
  });
});

function ed25519DidOfLength(length: number): string {
  return `did:key:z${base58.encode(Uint8Array.of(0xed, 0x01, ...new Uint8Array(length).fill(7)))}`;
}

describe('did:key: rejections', () => {
  const [first] = vectors.ed25519;
  const validDid = first!.did;

  for (const vector of vectors.unsupported) {
    it(`rejects the published ${vector.keyType} did:key with DID_UNSUPPORTED`, () => {
      assert.throws(() => parseDidKey(vector.did), { code: CryptoErrorCode.DID_UNSUPPORTED });
      assert.equal(isSigningDid(vector.did), false);
    });
  }

  for (const [name, did] of [
    ['another DID method', 'did:web:example.org'],
    ['a multibase other than base58btc', 'did:key:f6d6b6579206e6f74206d756c746962617365'],
    ['an empty string', ''],
    ['an empty identifier', 'did:key:z'],
    ['an identifier too short for a codec', 'did:key:z2'],
    ['a character outside base58 (0)', validDid.slice(0, -1) + '0'],
    ['a fragment', `${validDid}#${validDid.slice('did:key:'.length)}`],
    // Built from bytes: cutting base58 text would change every byte, codec included.
    ['a 31-byte Ed25519 key', ed25519DidOfLength(31)],
    ['a 33-byte Ed25519 key', ed25519DidOfLength(33)],
    ['upper-case method', validDid.replace('did:key:', 'DID:KEY:')],
  ] as const) {
    it(`rejects ${name} with DID_INVALID`, () => {
      assert.throws(() => parseDidKey(did), { code: CryptoErrorCode.DID_INVALID });
      assert.equal(isSigningDid(did), false);
    });
  }

  it('rejects a non-string with DID_INVALID', () => {
    assert.throws(() => parseDidKey(42 as unknown as string), { code: CryptoErrorCode.DID_INVALID });
    assert.equal(isSigningDid(42), false);
  });

  it('refuses to encode a key that is not 32 bytes', () => {
    assert.throws(() => didFromSigningKey(new Uint8Array(31)), { code: CryptoErrorCode.INVALID_ARGUMENT });
    assert.throws(() => didFromEncryptionKey(new Uint8Array(33)), { code: CryptoErrorCode.INVALID_ARGUMENT });
  });
});
