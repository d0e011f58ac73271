import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GENESIS_TIME, envelope, newNetwork, newParty, openLedger, signed } from '../../test/support/ledger-fixture.js';
import { MAX_TX_BYTES } from '../contracts/index.js';
import { ResultCode } from './codes.js';
import { TxType } from './types.js';

const T = GENESIS_TIME + 1000;

/** A self-registration whose payload carries an extra field of `size` characters. */
function paddedRegistration(size: number) {
  const patient = newParty();
  return signed(patient, TxType.PatientRegister, { encryptionKey: patient.encryptionKey, pad: 'x'.repeat(size) });
}

describe('the chain id, size and payload rules, at admission and in execution', () => {
  it('WRONG_CHAIN: a transaction signed for another network is refused, its nonce unspent', async () => {
    const ledger = openLedger(newNetwork());
    const patient = newParty();
    const foreign = signed(patient, TxType.PatientRegister, { encryptionKey: patient.encryptionKey }, { chainId: 'roam-elsewhere', nonce: 'nonce-0001' });
    const admitted = await ledger.admit([foreign]);
    assert.deepEqual(admitted.rejected.map((r) => r.code), [ResultCode.WRONG_CHAIN]);
    // A block that carries it anyway (ordered by another node) commits it without effect.
    const block = await ledger.applyCut([envelope(foreign)], T);
    assert.deepEqual(block.txs.map((tx) => tx.code), [ResultCode.WRONG_CHAIN]);
    assert.equal(ledger.getState(`party/${patient.did}`), undefined);
    // The same nonce on the right chain still works: the refused one did not spend it.
    const right = signed(patient, TxType.PatientRegister, { encryptionKey: patient.encryptionKey }, { nonce: 'nonce-0001' });
    assert.deepEqual((await ledger.applyCut([envelope(right)], T)).txs.map((tx) => tx.code), [ResultCode.OK]);
  });

  it('TX_TOO_LARGE: past its type cap a transaction is refused before its payload is looked at', async () => {
    const ledger = openLedger(newNetwork());
    const huge = paddedRegistration(MAX_TX_BYTES[TxType.PatientRegister]);
    const admitted = await ledger.admit([huge]);
    assert.deepEqual(admitted.rejected.map((r) => r.code), [ResultCode.TX_TOO_LARGE]);
    const block = await ledger.applyCut([envelope(huge)], T);
    assert.deepEqual(block.txs.map((tx) => tx.code), [ResultCode.TX_TOO_LARGE]);
  });

  it('INVALID_PAYLOAD at admission: a payload its schema refuses is not admitted', async () => {
    const ledger = openLedger(newNetwork());
    const admitted = await ledger.admit([paddedRegistration(10)]);
    assert.deepEqual(admitted.rejected.map((r) => [r.code, r.message]), [
      [ResultCode.INVALID_PAYLOAD, '"payload.pad" is not a known field'],
    ]);
    assert.equal(admitted.accepted.length, 0);
  });
});
