import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createContractSuite } from '../contracts/index.js';
import { BlockWriter, LedgerStore } from '../store/index.js';
import { GENESIS_TIME, envelope, newNetwork, newParty, signed, tempStorePath } from '../../test/support/ledger-fixture.js';
import { ResultCode } from './codes.js';
import { Ledger } from './ledger.js';
import { TxType } from './types.js';
import { verifyChain } from './verify.js';

const T = GENESIS_TIME + 1000;

it('with a block writer, the next block executes on the writes of one still in flight; all become durable in order', async () => {
  const network = newNetwork();
  const path = tempStorePath();
  const store = LedgerStore.open(path);
  const writer = BlockWriter.start(path);
  const ledger = Ledger.open({ store, contracts: createContractSuite(), genesis: network.genesis, writer });
  const patient = newParty();
  const register = signed(patient, TxType.PatientRegister, { encryptionKey: patient.encryptionKey });
  const grant = signed(patient, TxType.ConsentGrant, {
    grantId: 'grant-pipe-1',
    grantee: network.org.did,
    scope: { resourceTypes: ['*'], classes: ['general'] },
    purpose: 'treatment',
    access: 'read',
    expiresAt: null,
  });
  // Block 2 needs block 1's registration and block 3 replays block 1's nonce: both are decided
  // from in-flight state, before block 1 is durable.
  const first = await ledger.enqueueCut([envelope(register)], T);
  const second = await ledger.enqueueCut([envelope(grant)], T + 1);
  const third = await ledger.enqueueCut([envelope(register)], T + 2);
  const blocks = await Promise.all([first.committed, second.committed, third.committed]);
  assert.deepEqual(blocks.map((b) => b.txs[0]!.code), [ResultCode.OK, ResultCode.OK, ResultCode.REPLAY]);
  assert.equal(ledger.height, 3);
  await ledger.flush();
  ledger.close();
  await writer.close();
  store.close();

  const reopened = LedgerStore.open(path);
  assert.equal(reopened.head()?.height, 3);
  assert.notEqual(reopened.getState('grant/grant-pipe-1'), undefined);
  const report = await verifyChain(reopened, createContractSuite());
  assert.equal(report.ok, true, JSON.stringify(report));
  reopened.close();
});

it('a failed commit stops the ledger: later cuts are refused instead of leaving a gap', async () => {
  const network = newNetwork();
  const path = tempStorePath();
  const store = LedgerStore.open(path);
  const failing = { commit: () => Promise.reject(new Error('disk full')) };
  const ledger = Ledger.open({ store, contracts: createContractSuite(), genesis: network.genesis, writer: failing });
  const patient = newParty();
  const { committed } = await ledger.enqueueCut([envelope(signed(patient, TxType.PatientRegister, { encryptionKey: patient.encryptionKey }))], T);
  await assert.rejects(committed, /disk full/);
  await assert.rejects(ledger.enqueueCut([], T + 1), /disk full/);
  assert.equal(ledger.height, 0);
  store.close();
});
