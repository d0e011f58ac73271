import assert from 'node:assert/strict';
import { hkdfSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { randomBytes, toHex } from '../crypto/index.js';
import { createWallet, deriveRecordKeySeed, restoreWallet } from '../wallet/index.js';
import { VaultErrorCode } from './errors.js';
import { RECORD_KEY_LENGTH, deriveRecordKey } from './keys.js';

const invalid = { code: VaultErrorCode.INVALID_ARGUMENT };
const PATIENT = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';

describe('deriveRecordKey', () => {
  const seed = randomBytes(RECORD_KEY_LENGTH);

  it('is HKDF-SHA256(seed, salt "roam-kek-v1", info "<did>|<class>|<epoch>") of 32 bytes (RFC 5869)', () => {
    const expected = new Uint8Array(hkdfSync('sha256', seed, 'roam-kek-v1', `${PATIENT}|sensitive|7`, 32));
    const kek = deriveRecordKey(seed, PATIENT, 'sensitive', 7);
    assert.equal(kek.length, RECORD_KEY_LENGTH);
    assert.equal(toHex(kek), toHex(expected));
  });

  it('is deterministic and differs by seed, patient, class and epoch', () => {
    const base = toHex(deriveRecordKey(seed, PATIENT, 'general', 0));
    assert.equal(toHex(deriveRecordKey(seed, PATIENT, 'general', 0)), base);
    const others = [
      deriveRecordKey(randomBytes(32), PATIENT, 'general', 0),
      deriveRecordKey(seed, `${PATIENT}x`, 'general', 0),
      deriveRecordKey(seed, PATIENT, 'sensitive', 0),
      deriveRecordKey(seed, PATIENT, 'general', 1),
    ].map(toHex);
    assert.equal(new Set([base, ...others]).size, 5);
  });

  it("follows the patient's wallet: a restored wallet derives the same record keys", () => {
    const { wallet, mnemonic } = createWallet('patient');
    const restored = restoreWallet(mnemonic!);
    assert.equal(
      toHex(deriveRecordKey(deriveRecordKeySeed(restored), restored.did, 'general', 3)),
      toHex(deriveRecordKey(deriveRecordKeySeed(wallet), wallet.did, 'general', 3)),
    );
  });

  it('rejects malformed arguments, naming them', () => {
    assert.throws(() => deriveRecordKey(randomBytes(31), PATIENT, 'general', 0), {
      ...invalid,
      message: /"recordKeySeed".*length=31/,
    });
    assert.throws(() => deriveRecordKey(seed, '', 'general', 0), { ...invalid, message: /"patientDid"/ });
    assert.throws(() => deriveRecordKey(seed, 'did:a|b', 'general', 0), {
      ...invalid,
      message: /"patientDid" must not contain/,
    });
    assert.throws(() => deriveRecordKey(seed, PATIENT, 'secret' as 'general', 0), {
      ...invalid,
      message: /"sensitivityClass"/,
    });
    for (const epoch of [-1, 1.5, Number.NaN, 2 ** 53]) {
      assert.throws(() => deriveRecordKey(seed, PATIENT, 'general', epoch), {
        ...invalid,
        message: /"epoch"/,
      });
    }
  });
});
