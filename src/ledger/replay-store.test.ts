import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LedgerStore } from '../store/index.js';
import type { ExecutedBlock, ExecutedTx } from './executor.js';
import { ReplayStore } from './replay-store.js';

/** The parts of an executed block the replay store keeps: its height, state writes and spent pairs. */
function block(height: number, writes: Array<[string, string | null]>, txs: Array<Pick<ExecutedTx, 'signer' | 'nonce' | 'spent'>>): ExecutedBlock {
  return { header: { height }, writes: new Map(writes), txs } as unknown as ExecutedBlock;
}

describe('ReplayStore: the scratch state roam ledger verify re-executes into', () => {
  it('answers gets, prefix ranges and the final state row by row as a LedgerStore given the same writes does', () => {
    const replay = ReplayStore.create();
    const store = LedgerStore.open(':memory:');
    try {
      const blocks = [
        block(0, [['party/a', '{"n":1}'], ['party/b', '{"n":2}'], ['grant/a/1', '{}']], []),
        block(1, [['party/a', '{"n":3}'], ['party/b', null], ['grant/a/2', '{}'], ['grantz', '{}']], []),
      ];
      for (const b of blocks) {
        replay.commit(b);
        store.commitBlock({ block: { height: b.header.height, hash: `h${b.header.height}`, header: '{}' }, txs: [], writes: b.writes });
      }
      assert.equal(replay.get('party/a'), '{"n":3}');
      assert.equal(replay.get('party/b'), undefined);
      assert.deepEqual(replay.range('grant/a/'), store.rangeState('grant/a/'));
      assert.deepEqual(replay.range('grant/a/').map(([key]) => key), ['grant/a/1', 'grant/a/2']);
      assert.deepEqual([...replay.iterateState()], [...store.iterateState()]);
    } finally {
      replay.close();
      store.close();
    }
  });

  it('keeps the state in a temporary file (not in the process), deleted on close', () => {
    const replay = ReplayStore.create();
    // 4,000 rows of ~1 KB: ~4 MB of state, more than SQLite keeps in memory before writing pages out.
    const value = JSON.stringify('v'.repeat(1_000));
    for (let height = 0; height < 4; height++) {
      replay.commit(block(height, Array.from({ length: 1_000 }, (_, i): [string, string] => [`record/${height}-${i}`, value]), []));
    }
    assert.equal(replay.get('record/3-999'), value);
    assert.equal([...replay.iterateState()].length, 4_000);
    assert.ok(existsSync(replay.path), `${replay.path} exists`);
    assert.ok(statSync(replay.path).size >= 4_000 * 1_000, `the file holds the rows (${statSync(replay.path).size} bytes)`);
    replay.close();
    assert.equal(existsSync(replay.path), false, 'closing deletes the scratch file');
  });

  it('counts a (signer, nonce) pair as spent only once a committed block spent it', () => {
    const replay = ReplayStore.create();
    try {
      replay.commit(block(1, [], [{ signer: 'did:a', nonce: 'n1', spent: 1 }, { signer: 'did:a', nonce: 'n2', spent: 0 }]));
      assert.equal(replay.isSpent('did:a', 'n1'), true);
      // A transaction with a bad signature does not spend its nonce.
      assert.equal(replay.isSpent('did:a', 'n2'), false);
      assert.equal(replay.isSpent('did:b', 'n1'), false);
    } finally {
      replay.close();
    }
  });
});
