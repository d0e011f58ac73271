import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LOG_ROW_SPAN, LedgerStore } from './ledger-store.js';

function tempStore(): { path: string; store: LedgerStore } {
  const path = join(mkdtempSync(join(tmpdir(), 'roam-store-')), 'ledger.sqlite');
  return { path, store: LedgerStore.open(path) };
}

const block = (height: number) => ({ height, hash: `hash-${height}`, header: `{"height":${height}}` });
const tx = (idx: number) => ({
  idx,
  id: idx.toString(16).padStart(64, '0'),
  signer: 'did:key:zSigner',
  nonce: `nonce-${idx}-abc`,
  envelope: `{"i":${idx}}`,
  code: 'OK',
  message: null,
  spent: 1 as const,
});

describe('orderer log', () => {
  it('gives increasing positions, reads entries after a position, and survives reopening', () => {
    const { path, store } = tempStore();
    const first = store.appendLog(['a', 'b', 'c']);
    const second = store.appendLog(['d']);
    assert.deepEqual(first.map((p) => p % LOG_ROW_SPAN), [0, 1, 2]);
    assert.ok(second[0]! > first[2]!);
    assert.deepEqual(store.readLog(first[1]!).map((e) => e.envelope), ['c', 'd']);
    store.close();
    const reopened = LedgerStore.open(path);
    assert.deepEqual(reopened.readLog(0).map((e) => e.envelope), ['a', 'b', 'c', 'd']);
    reopened.close();
  });

  it('truncates only rows whose every entry is at or before the position', () => {
    const { store } = tempStore();
    const first = store.appendLog(['a', 'b', 'c']);
    const second = store.appendLog(['d', 'e']);
    store.truncateLog(first[1]!);
    assert.deepEqual(store.readLog(first[1]!).map((e) => e.envelope), ['c', 'd', 'e']);
    store.truncateLog(first[2]!);
    assert.deepEqual(store.readLog(0).map((e) => e.envelope), ['d', 'e']);
    store.truncateLog(second[1]!);
    assert.deepEqual(store.readLog(0), []);
  });
});

describe('block commit', () => {
  it('commits a block, its transactions and state together, and finds txs by id and nonce', () => {
    const { store } = tempStore();
    store.commitBlock({ block: block(0), txs: [tx(0), tx(1)], writes: new Map([['k/1', '"v"']]), meta: { 'orderer.position': '7' } });
    assert.equal(store.head()?.height, 0);
    assert.equal(store.getTx(tx(1).id)?.idx, 1);
    assert.equal(store.getTx('f'.repeat(64)), undefined);
    assert.equal(store.getTx('not-a-hash'), undefined);
    assert.equal(store.isNonceSpent('did:key:zSigner', 'nonce-0-abc'), true);
    assert.equal(store.isNonceSpent('did:key:zSigner', 'nonce-9-abc'), false);
    assert.equal(store.getState('k/1'), '"v"');
    assert.equal(store.getMeta('orderer.position'), '7');
  });

  it('leaves nothing of a block whose commit fails part-way', () => {
    const { store } = tempStore();
    store.commitBlock({ block: block(0), txs: [], writes: new Map() });
    // The second tx repeats (height, idx): the insert fails after the block row and first tx.
    assert.throws(() => store.commitBlock({ block: block(1), txs: [tx(0), tx(0)], writes: new Map([['k/2', '1']]) }));
    assert.equal(store.head()?.height, 0);
    assert.deepEqual(store.getBlockTxs(1), []);
    assert.equal(store.getState('k/2'), undefined);
  });

  it('refuses a block that does not follow the head', () => {
    const { store } = tempStore();
    assert.throws(() => store.commitBlock({ block: block(1), txs: [], writes: new Map() }), { code: 'STORE_HEIGHT_MISMATCH' });
  });
});
