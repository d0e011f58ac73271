import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { envelope, newNetwork, newParty, openLedger, signed, tempStorePath } from '../../test/support/ledger-fixture.js';
import { ResultCode } from './codes.js';
import { SpentNonceFilter } from './spent-nonce-filter.js';
import { TxType } from './types.js';


function randomNonceKey(): number {
  return randomInt(0, 2 ** 24) * 2 ** 24 + randomInt(0, 2 ** 24);
}

describe('SpentNonceFilter', () => {
  it('answers "maybe" for every key added or held by the store, also after it grew, and "no" for most others', () => {
    const stored = Array.from({ length: 5_000 }, randomNonceKey);
    const filter = new SpentNonceFilter(() => stored);
    // Past 2^20 bits / 16 = 65,536 items the filter rebuilds itself larger from the source.
    for (let i = 0; i < 100_000; i++) {
      const key = randomNonceKey();
      stored.push(key);
      filter.add(key);
    }
    assert.equal(stored.every((key) => filter.mayContain(key)), true, 'a spent pair is never reported unspent');
    const fresh = Array.from({ length: 10_000 }, randomNonceKey);
    const maybes = fresh.filter((key) => filter.mayContain(key)).length;
    assert.ok(maybes < 200, `${maybes} of 10,000 fresh keys answered "maybe" (expected well under 2 %)`);
  });

  it('a ledger reopened on its file still refuses the replay of a committed transaction, at admission and in a block', async () => {
    const network = newNetwork();
    const path = tempStorePath();
    const patient = newParty();
    // Issued now: admission checks the validity window against the node's clock.
    const now = Date.now();
    const register = signed(patient, TxType.PatientRegister, { encryptionKey: patient.encryptionKey }, { issuedAt: now });
    const first = openLedger(network, path);
    assert.deepEqual((await first.applyCut([envelope(register)], now)).txs.map((tx) => tx.code), [ResultCode.OK]);
    first.store.close();

    const reopened = openLedger(network, path);
    assert.deepEqual((await reopened.admit([register])).rejected.map((r) => r.code), [ResultCode.REPLAY]);
    assert.deepEqual((await reopened.applyCut([envelope(register)], now + 1)).txs.map((tx) => tx.code), [ResultCode.REPLAY]);
    reopened.store.close();
  });
});
