// node:test's describe/it return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fromHex, toHex } from './bytes.js';
import { CryptoErrorCode } from './errors.js';
import {
  encryptionKeyPairFromSeed,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  sign,
  signingKeyPairFromSeed,
  verify,
  verifyAsync,
} from './keys.js';
import { x25519SharedSecret } from './platform.js';

const readVectors = <T>(path: string): T =>
  JSON.parse(readFileSync(new URL(`../../testdata/${path}`, import.meta.url), 'utf8')) as T;

interface Ed25519Vectors {
  vectors: { name: string; secretKey: string; publicKey: string; message: string; signature: string }[];
}
interface X25519Vector {
  alicePrivate: string;
  alicePublic: string;
  bobPrivate: string;
  bobPublic: string;
  sharedSecret: string;
}

const ed25519 = readVectors<Ed25519Vectors>('rfc8032/ed25519.json');
const x25519 = readVectors<X25519Vector>('rfc7748/x25519.json');

function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index]! ^= 0x01;
  return copy;
}

describe('Ed25519: RFC 8032 §7.1 test vectors', () => {
  for (const vector of ed25519.vectors) {
    const secretKey = fromHex(vector.secretKey);
    const publicKey = fromHex(vector.publicKey);
    const message = fromHex(vector.message);
    const signature = fromHex(vector.signature);

    it(`${vector.name}: derives the public key and signs to the published signature`, () => {
      assert.equal(toHex(signingKeyPairFromSeed(secretKey).publicKey), vector.publicKey);
      assert.equal(toHex(sign(secretKey, message)), vector.signature);
    });

    it(`${vector.name}: verify and verifyAsync accept the published signature`, async () => {
      assert.equal(verify(publicKey, message, signature), true);
      assert.equal(await verifyAsync(publicKey, message, signature), true);
    });

    it(`${vector.name}: a tampered message or signature is rejected`, async () => {
      const longer = Uint8Array.of(...message, 0);
      const tamperedMessage = message.length > 0 ? flipped(message, 0) : longer;
      for (const [what, m, s] of [
        ['message', tamperedMessage, signature],
        ['appended byte', longer, signature],
        ['signature R', message, flipped(signature, 0)],
        ['signature S', message, flipped(signature, 40)],
      ] as const) {
        assert.equal(verify(publicKey, m, s), false, what);
        assert.equal(await verifyAsync(publicKey, m, s), false, what);
      }
      const otherKey = fromHex(ed25519.vectors.find((v) => v !== vector)!.publicKey);
      assert.equal(verify(otherKey, message, signature), false, 'other key');
    });

    it(`${vector.name}: wrong lengths give false, never throw`, async () => {
      for (const [what, key, sig] of [
        ['short key', publicKey.subarray(1), signature],
        ['long key', Uint8Array.of(...publicKey, 0), signature],
        ['short signature', publicKey, signature.subarray(1)],
        ['long signature', publicKey, Uint8Array.of(...signature, 0)],
        ['empty signature', publicKey, new Uint8Array(0)],
      ] as const) {
        assert.equal(verify(key, message, sig), false, what);
        assert.equal(await verifyAsync(key, message, sig), false, what);
      }
    });
  }

  it('rejects a public key that is not a curve point, without throwing', async () => {
    // y = 2 has no x on edwards25519 (RFC 8032 §5.1.3 decoding fails).
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    const { secretKey } = generateSigningKeyPair();
    const signature = sign(secretKey, new Uint8Array([1]));
    assert.equal(verify(notAPoint, new Uint8Array([1]), signature), false);
    assert.equal(await verifyAsync(notAPoint, new Uint8Array([1]), signature), false);
  });

  it('sign checks its arguments and names them', () => {
    assert.throws(() => sign(new Uint8Array(31), new Uint8Array(0)), {
      code: CryptoErrorCode.INVALID_ARGUMENT,
      message: /"secretKey" expected Uint8Array of length 32, got length=31/,
    });
    assert.throws(() => signingKeyPairFromSeed(new Uint8Array(64)), {
      code: CryptoErrorCode.INVALID_ARGUMENT,
    });
  });

  it('a generated key pair signs and verifies', () => {
    const pair = generateSigningKeyPair();
    const message = new TextEncoder().encode('roam');
    assert.equal(verify(pair.publicKey, message, sign(pair.secretKey, message)), true);
  });
});

describe('X25519: RFC 7748 §6.1', () => {
  const alicePrivate = fromHex(x25519.alicePrivate);
  const bobPrivate = fromHex(x25519.bobPrivate);

  it("derives Alice's and Bob's public keys", () => {
    assert.equal(toHex(encryptionKeyPairFromSeed(alicePrivate).publicKey), x25519.alicePublic);
    assert.equal(toHex(encryptionKeyPairFromSeed(bobPrivate).publicKey), x25519.bobPublic);
  });

  it('gives the published shared secret K in both directions', () => {
    assert.equal(toHex(x25519SharedSecret(alicePrivate, fromHex(x25519.bobPublic))), x25519.sharedSecret);
    assert.equal(toHex(x25519SharedSecret(bobPrivate, fromHex(x25519.alicePublic))), x25519.sharedSecret);
  });

  it('generated key pairs agree on a shared secret', () => {
    const a = generateEncryptionKeyPair();
    const b = generateEncryptionKeyPair();
    assert.deepEqual(
      x25519SharedSecret(a.secretKey, b.publicKey),
      x25519SharedSecret(b.secretKey, a.publicKey),
    );
  });
});
