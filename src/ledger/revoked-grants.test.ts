import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
  type TestNetwork,
} from '../../test/support/ledger-fixture.js';
import { executeBlock, executeGenesis, paramsOf, type ExecutionEnv, type PreviousBlock } from './executor.js';
import { ReplayStore } from './replay-store.js';
import { CachedStateSource } from './state-cache.js';
import type { StateSource } from './state-view.js';
import { TxType } from './types.js';

/** A state source that counts the values (gets) and range rows read through it. */
function counted(source: StateSource): StateSource & { reads: () => Reads } {
  const reads = { gets: 0, rows: 0 };
  return {
    get: (key) => {
      reads.gets++;
      return source.get(key);
    },
    range: (prefix) => {
      const rows = source.range(prefix);
      reads.rows += rows.length;
      return rows;
    },
    ...(source.revokedGrantsOf === undefined ? {} : { revokedGrantsOf: (patient: string) => source.revokedGrantsOf!(patient) }),
    ...(source.folderPage === undefined
      ? {}
      : {
          folderPage: (folder: string, after: string | undefined, limit: number) => {
            const page = source.folderPage!(folder, after, limit);
            reads.rows += page.keys.length;
            return page;
          },
        }),
    reads: () => ({ ...reads }),
  };
}

interface Reads {
  gets: number;
  rows: number;
}

/**
 * Executes `cuts` as blocks straight from a ReplayStore, through the node's state cache (and its
 * revoked-grants index) when `indexed`, else from the store alone (the contracts then scan).
 * Returns each block's hash, result codes, and the state values and range rows its transactions
 * read from the source (what the block's own writes answer is not counted).
 */
async function executeChain(options: {
  network: TestNetwork;
  cuts: readonly (readonly string[])[];
  indexed: boolean;
}): Promise<{ hashes: string[]; codes: string[][]; reads: Reads[] }> {
  const store = ReplayStore.create();
  try {
    const cache = options.indexed ? new CachedStateSource(store) : undefined;
    const state = counted(cache ?? store);
    const env: ExecutionEnv = {
      chainId: options.network.genesis.chainId,
      contracts: createContractSuite(),
      params: paramsOf(options.network.genesis),
      state,
      replay: store,
    };
    const block0 = executeGenesis(env, options.network.genesis);
    store.commit(block0);
    cache?.apply(block0.writes);
    let prev: PreviousBlock = { height: 0, hash: block0.hash, stateRoot: block0.header.stateRoot, time: block0.header.time };
    const result = { hashes: [] as string[], codes: [] as string[][], reads: [] as Reads[] };
    for (const [i, cut] of options.cuts.entries()) {
      const readsBefore = state.reads();
      const block = await executeBlock(env, prev, cut, GENESIS_TIME + i + 1);
      const readsAfter = state.reads();
      result.reads.push({ gets: readsAfter.gets - readsBefore.gets, rows: readsAfter.rows - readsBefore.rows });
      store.commit(block);
      cache?.apply(block.writes);
      result.hashes.push(block.hash);
      result.codes.push(block.txs.map((tx) => tx.code));
      prev = { height: block.header.height, hash: block.hash, stateRoot: block.header.stateRoot, time: block.header.time };
    }
    return result;
  } finally {
    store.close();
  }
}

describe('revoked grants index (currentEpoch without reading every grant of the patient)', () => {
  it('a record anchor the patient wrote reads as many state values and index rows with 60 grants of the patient (2 revoked) as with 10', async () => {
    const network = newNetwork();
    const readsOfAnchor = async (grants: number): Promise<{ reads: Reads; code: string }> => {
      const patient = newParty();
      const grantId = (i: number): string => `grant-${String(i).padStart(4, '0')}`;
      const cuts = [
        [
          envelope(signed(patient, TxType.PatientRegister, { encryptionKey: patient.encryptionKey })),
          ...Array.from({ length: grants }, (_, i) => grantEnvelope(network, patient, grantId(i))),
        ],
        [0, 1].map((i) => envelope(signed(patient, TxType.ConsentRevoke, { grantId: grantId(i) }))),
        // Two revocations: the patient's epoch is 2; grant 2 onwards still cover the write.
        [anchorEnvelope(network, patient, { recordId: 'record-1', version: 1, epoch: 2 })],
      ];
      const { codes, reads } = await executeChain({ network, cuts, indexed: true });
      return { reads: reads[2]!, code: codes[2]![0]! };
    };
    const few = await readsOfAnchor(10);
    const many = await readsOfAnchor(60);
    assert.equal(few.code, 'OK');
    assert.equal(many.code, 'OK');
    // Scanning the grant folders read each grant and index row: 60 grants cost ≥ 50 more of each than 10.
    assert.equal(many.reads.gets, few.reads.gets, `anchor gets: ${few.reads.gets} with 10 grants, ${many.reads.gets} with 60`);
    assert.equal(many.reads.rows, few.reads.rows, `anchor range rows: ${few.reads.rows} with 10 grants, ${many.reads.rows} with 60`);
  });

  it('gives the same blocks, results and state roots as scanning the grant folders (random grants, revocations, anchors and blocks)', async () => {
    const network = newNetwork();
    const patients = Array.from({ length: 3 }, () => newParty());
    const step = fc.record({
      patient: fc.nat({ max: 2 }),
      action: fc.constantFrom('grant', 'revoke', 'anchor'),
      grant: fc.nat({ max: 4 }),
      epoch: fc.nat({ max: 3 }),
      cut: fc.boolean(),
    });
    let record = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const cuts: string[][] = [patients.map((p) => envelope(signed(p, TxType.PatientRegister, { encryptionKey: p.encryptionKey })))];
        for (const s of steps) {
          const patient = patients[s.patient]!;
          const grantId = `grant-${s.patient}-${s.grant}`;
          cuts[cuts.length - 1]!.push(
            s.action === 'grant'
              ? grantEnvelope(network, patient, grantId)
              : s.action === 'revoke'
                ? envelope(signed(patient, TxType.ConsentRevoke, { grantId }))
                : anchorEnvelope(network, patient, { recordId: `record-${++record}`, version: 1, epoch: s.epoch }),
          );
          if (s.cut) cuts.push([]);
        }
        const indexed = await executeChain({ network, cuts, indexed: true });
        const scanned = await executeChain({ network, cuts, indexed: false });
        assert.deepEqual(indexed.codes, scanned.codes);
        assert.deepEqual(indexed.hashes, scanned.hashes);
        // The node's own pipeline (in-flight blocks over the committed index) agrees too.
        const ledger = openLedger(network);
        try {
          for (const [i, cut] of cuts.entries()) assert.equal((await ledger.applyCut(cut, GENESIS_TIME + i + 1)).hash, indexed.hashes[i]);
        } finally {
          ledger.store.close();
        }
      }),
      { numRuns: 30 },
    );
  });
});
