import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytesToUtf8, canonicalJson, randomBytes, sha256Hex, toBase64Url, toHex } from '../crypto/index.js';
import {
  decryptRecord,
  encodeWrappedDek,
  decodeWrappedDek,
  encryptRecord,
  type RecordContext,
} from './envelope.js';
import { VaultError, VaultErrorCode } from './errors.js';

const decryptFailed = { code: VaultErrorCode.DECRYPT_FAILED };
const PATIENT = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
const OTHER_PATIENT = 'did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG';
const ctx: RecordContext = { recordId: 'obs-0001', version: 1, patient: PATIENT, class: 'general', epoch: 0 };
const resource = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { display: 'Philippa Quillfeather' },
  valueQuantity: { value: 72, unit: 'beats/minute' },
};

function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index]! ^= 0x01;
  return copy;
}

describe('encryptRecord / decryptRecord', () => {
  const kek = randomBytes(32);
  const sealed = encryptRecord({ ...ctx, resource, kek });

  it('round-trips the resource', () => {
    assert.deepEqual(
      decryptRecord({ ...ctx, blob: sealed.blob, wrappedDek: sealed.wrappedDek, kek }),
      resource,
    );
  });

  it('writes a versioned blob "RV" 0x01 || IV || ciphertext||tag, hashed with SHA-256', () => {
    assert.deepEqual([...sealed.blob.subarray(0, 3)], [0x52, 0x56, 0x01]);
    assert.equal(sealed.blob.length, 3 + 12 + canonicalJson(resource).length + 16);
    assert.equal(sealed.contentHash, sha256Hex(sealed.blob));
    assert.match(sealed.wrappedDek.iv, /^[A-Za-z0-9_-]{16}$/);
    assert.match(sealed.wrappedDek.ct, /^[A-Za-z0-9_-]{64}$/);
  });

  it('uses a fresh data key and IV per encryption', () => {
    const again = encryptRecord({ ...ctx, resource, kek });
    assert.notEqual(again.contentHash, sealed.contentHash);
    assert.notEqual(again.wrappedDek.ct, sealed.wrappedDek.ct);
    assert.notEqual(again.wrappedDek.iv, sealed.wrappedDek.iv);
  });

  it('accepts the blob when its hash is the expected one, and refuses it otherwise', () => {
    const input = { ...ctx, blob: sealed.blob, wrappedDek: sealed.wrappedDek, kek };
    assert.deepEqual(decryptRecord({ ...input, expectedContentHash: sealed.contentHash }), resource);
    const other = encryptRecord({ ...ctx, resource, kek }).contentHash;
    assert.throws(() => decryptRecord({ ...input, expectedContentHash: other }), {
      code: VaultErrorCode.CONTENT_HASH_MISMATCH,
    });
    assert.throws(
      () =>
        decryptRecord({ ...input, blob: flipBit(sealed.blob, 20), expectedContentHash: sealed.contentHash }),
      {
        code: VaultErrorCode.CONTENT_HASH_MISMATCH,
      },
    );
  });

  it('refuses a tampered blob: any byte of header, IV, ciphertext or tag, or a truncation', () => {
    const { blob, wrappedDek } = sealed;
    for (const index of [
      0,
      1,
      2,
      3,
      14,
      15,
      Math.floor(blob.length / 2),
      blob.length - 17,
      blob.length - 1,
    ]) {
      assert.throws(
        () => decryptRecord({ ...ctx, blob: flipBit(blob, index), wrappedDek, kek }),
        decryptFailed,
        `byte ${index}`,
      );
    }
    for (const length of [0, 3, 30, blob.length - 1]) {
      assert.throws(
        () => decryptRecord({ ...ctx, blob: blob.subarray(0, length), wrappedDek, kek }),
        decryptFailed,
      );
    }
    assert.throws(
      () => decryptRecord({ ...ctx, blob: Uint8Array.of(...blob, 0), wrappedDek, kek }),
      decryptFailed,
    );
  });

  it('refuses another record id, version or patient (content AAD) and another class or epoch (wrap AAD)', () => {
    const { blob, wrappedDek } = sealed;
    const others: RecordContext[] = [
      { ...ctx, recordId: 'obs-0002' },
      { ...ctx, version: 2 },
      { ...ctx, patient: OTHER_PATIENT },
      { ...ctx, class: 'sensitive' },
      { ...ctx, epoch: 1 },
    ];
    for (const other of others) {
      assert.throws(
        () => decryptRecord({ ...other, blob, wrappedDek, kek }),
        decryptFailed,
        JSON.stringify(other),
      );
    }
  });

  it('refuses a wrong KEK', () => {
    assert.throws(
      () => decryptRecord({ ...ctx, blob: sealed.blob, wrappedDek: sealed.wrappedDek, kek: randomBytes(32) }),
      decryptFailed,
    );
  });

  it("refuses a tampered wrapped DEK, or another record's", () => {
    const { blob, wrappedDek } = sealed;
    const ct = Buffer.from(wrappedDek.ct, 'base64url');
    ct[0]! ^= 1;
    const tampered = [
      { ...wrappedDek, ct: ct.toString('base64url') },
      { ...wrappedDek, iv: toBase64Url(randomBytes(12)) },
      { ...wrappedDek, iv: toBase64Url(randomBytes(16)) },
      { ...wrappedDek, ct: wrappedDek.ct.slice(0, 40) },
      { ...wrappedDek, ct: '!!not base64url!!' },
      encryptRecord({ ...ctx, resource, kek }).wrappedDek,
    ];
    for (const w of tampered)
      assert.throws(() => decryptRecord({ ...ctx, blob, wrappedDek: w, kek }), decryptFailed);
  });

  it('puts neither plaintext nor keys into errors', () => {
    const secrets = ['Quillfeather', toHex(kek), toBase64Url(kek)];
    const attempts = [
      () =>
        decryptRecord({ ...ctx, recordId: 'obs-9', blob: sealed.blob, wrappedDek: sealed.wrappedDek, kek }),
      () => decryptRecord({ ...ctx, blob: sealed.blob, wrappedDek: sealed.wrappedDek, kek: randomBytes(32) }),
      () => decryptRecord({ ...ctx, blob: flipBit(sealed.blob, 30), wrappedDek: sealed.wrappedDek, kek }),
      () => encryptRecord({ ...ctx, resource: { ...resource, valueQuantity: { value: Number.NaN } }, kek }),
    ];
    for (const attempt of attempts) {
      try {
        attempt();
        assert.fail('expected an error');
      } catch (error) {
        assert.ok(error instanceof VaultError);
        const text = `${error.message} ${String(error.stack)} ${String((error as { cause?: unknown }).cause)}`;
        for (const secret of secrets) assert.ok(!text.includes(secret), `error text reveals ${secret}`);
      }
    }
  });

  it('checks its arguments, naming them', () => {
    const invalid = { code: VaultErrorCode.INVALID_ARGUMENT };
    assert.throws(() => encryptRecord({ ...ctx, resource, kek: randomBytes(16) }), {
      ...invalid,
      message: /"kek"/,
    });
    assert.throws(() => encryptRecord({ ...ctx, version: 0, resource, kek }), {
      ...invalid,
      message: /"version"/,
    });
    assert.throws(() => encryptRecord({ ...ctx, recordId: '', resource, kek }), {
      ...invalid,
      message: /"recordId"/,
    });
    assert.throws(() => encryptRecord({ ...ctx, epoch: -1, resource, kek }), {
      ...invalid,
      message: /"epoch"/,
    });
    assert.throws(() => encryptRecord({ ...ctx, resource: [] as unknown as Record<string, unknown>, kek }), {
      ...invalid,
      message: /"resource" expected a JSON object, got an array/,
    });
    assert.throws(() => encryptRecord({ ...ctx, resource: { n: 10n }, kek }), {
      ...invalid,
      message: /"resource" is not representable as JSON.*bigint at \$\.n/,
    });
    assert.throws(
      () =>
        decryptRecord({
          ...ctx,
          blob: sealed.blob,
          wrappedDek: sealed.wrappedDek,
          kek,
          expectedContentHash: 'abc',
        }),
      { ...invalid, message: /"expectedContentHash"/ },
    );
  });

  it('stores a wrapped DEK as canonical JSON text and reads it back', () => {
    const text = encodeWrappedDek(sealed.wrappedDek);
    assert.equal(text, `{"ct":"${sealed.wrappedDek.ct}","iv":"${sealed.wrappedDek.iv}"}`);
    assert.deepEqual(decodeWrappedDek(text), sealed.wrappedDek);
    assert.throws(() => decodeWrappedDek('{"iv":1}'), decryptFailed);
    assert.throws(() => decodeWrappedDek('not json'), decryptFailed);
  });

  it('round-trips any JSON object (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 12 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.constantFrom('general' as const, 'sensitive' as const),
        fc.nat(),
        (value, recordId, version, cls, epoch) => {
          const context: RecordContext = { recordId, version, patient: PATIENT, class: cls, epoch };
          const key = randomBytes(32);
          const out = encryptRecord({ ...context, resource: value, kek: key });
          const back = decryptRecord({
            ...context,
            blob: out.blob,
            wrappedDek: out.wrappedDek,
            kek: key,
            expectedContentHash: out.contentHash,
          });
          assert.equal(canonicalJson(back), canonicalJson(value));
          // Never the canonical plaintext in the blob (AES-GCM hides it; a sanity check on the container).
          const text = canonicalJson(value);
          if (text.length > 8) assert.ok(!Buffer.from(out.blob).includes(Buffer.from(text)));
        },
      ),
    );
  });

  it('decrypts to a JSON object that JSON.parse of the canonical text gives', () => {
    const input = { z: [1, 'two', { three: null }], a: -0, é: 'ü' };
    const out = encryptRecord({ ...ctx, resource: input, kek });
    const back = decryptRecord({ ...ctx, blob: out.blob, wrappedDek: out.wrappedDek, kek });
    assert.deepEqual(back, JSON.parse(canonicalJson(input)));
    assert.equal(bytesToUtf8(new TextEncoder().encode(canonicalJson(back))), canonicalJson(input));
  });
});
