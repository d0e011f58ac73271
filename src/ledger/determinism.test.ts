import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { createContractSuite } from '../contracts/index.js';
import {
  GENESIS_TIME,
  anchorEnvelope,
  envelope,
  grantEnvelope,
  newNetwork,
  newParty,
  openLedger,
  signed,
  tempStorePath,
} from '../../test/support/ledger-fixture.js';
import { TxType } from './types.js';
import { verifyChain } from './verify.js';

/** One step of a random workload: which patient acts, and how. */
const stepArbitrary = fc.record({
  patient: fc.nat({ max: 4 }),
  action: fc.constantFrom('register', 'grant', 'revoke', 'anchor', 'replay', 'garbage'),
  grant: fc.nat({ max: 5 }),
  cut: fc.boolean(),
});

it('the same ordered transactions give the same blocks and state roots on two independent stores', async () => {
  const network = newNetwork();
  const patients = Array.from({ length: 5 }, () => newParty());
  await fc.assert(
    fc.asyncProperty(fc.array(stepArbitrary, { minLength: 1, maxLength: 40 }), async (steps) => {
      // Transactions are built once; both stores receive the very same bytes and cuts.
      const cuts: string[][] = [[]];
      let last: string | undefined;
      let version = 0;
      for (const step of steps) {
        const patient = patients[step.patient]!;
        const grantId = `grant-${step.patient}-${step.grant}`;
        let tx: string;
        switch (step.action) {
          case 'register':
            tx = envelope(signed(patient, TxType.PatientRegister, { encryptionKey: patient.encryptionKey }));
            break;
          case 'grant':
            tx = grantEnvelope(network, patient, grantId);
            break;
          case 'revoke':
            tx = envelope(signed(patient, TxType.ConsentRevoke, { grantId }));
            break;
          case 'anchor':
            tx = anchorEnvelope(network, patient, { recordId: `record-${step.patient}-${step.grant}`, version: ++version, epoch: 0 });
            break;
          case 'replay':
            tx = last ?? '{}';
            break;
          case 'garbage':
            tx = '{"tx":1}';
            break;
        }
        last = tx;
        cuts[cuts.length - 1]!.push(tx);
        if (step.cut) cuts.push([]);
      }
      const a = openLedger(network, tempStorePath());
      const b = openLedger(network, tempStorePath());
      try {
        for (const [i, cut] of cuts.entries()) {
          const blockA = await a.applyCut(cut, GENESIS_TIME + i);
          const blockB = await b.applyCut(cut, GENESIS_TIME + i);
          assert.equal(blockA.hash, blockB.hash);
          assert.deepEqual(blockA.txs, blockB.txs);
        }
        assert.equal(a.stateRoot, b.stateRoot);
        assert.deepEqual([...a.store.iterateState()], [...b.store.iterateState()]);
        const report = await verifyChain(a.store, createContractSuite());
        assert.equal(report.ok, true, JSON.stringify(report));
      } finally {
        a.store.close();
        b.store.close();
      }
    }),
    { numRuns: 25 },
  );
});
