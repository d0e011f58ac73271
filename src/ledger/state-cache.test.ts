import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LedgerStore } from '../store/index.js';
import { CachedStateSource } from './state-cache.js';
import type { StateSource } from './state-view.js';

/** A real in-memory store, with its range queries counted (to see what the cache answers). */
function countedStore(): { store: LedgerStore; source: StateSource; ranges: () => number } {
  const store = LedgerStore.open(':memory:');
  let ranges = 0;
  return {
    store,
    source: {
      get: (key) => store.getState(key),
      range: (prefix) => {
        ranges++;
        return store.rangeState(prefix);
      },
    },
    ranges: () => ranges,
  };
}

/** Commits `writes` as the next block and tells the cache, as the ledger does once a block is durable. */
function commit(store: LedgerStore, cache: CachedStateSource, height: number, writes: Array<[string, string | null]>): void {
  const map = new Map(writes);
  store.commitBlock({ block: { height, hash: `h${height}`, header: '{}' }, txs: [], writes: map });
  cache.apply(map);
}

describe('CachedStateSource ranges', () => {
  it('serves a folder range from memory, kept up to date by committed writes (added, changed, deleted, deeper)', () => {
    const { store, source, ranges } = countedStore();
    const cache = new CachedStateSource(source);
    commit(store, cache, 0, [['idx/patient-grant/p1/g1', '"g1"']]);
    const folder = 'idx/patient-grant/p1/';
    assert.deepEqual(cache.range(folder), [['idx/patient-grant/p1/g1', '"g1"']]);
    assert.deepEqual(cache.range(folder), [['idx/patient-grant/p1/g1', '"g1"']]);
    assert.equal(ranges(), 1, 'the second read came from the cache');

    // Another patient's folder: the cached range is untouched.
    commit(store, cache, 1, [['idx/patient-grant/p2/g9', '"g9"']]);
    assert.deepEqual(cache.range(folder), [['idx/patient-grant/p1/g1', '"g1"']]);
    assert.equal(ranges(), 1);

    commit(store, cache, 2, [['idx/patient-grant/p1/g2', '"g2"']]);
    assert.deepEqual(cache.range(folder).map(([key]) => key), ['idx/patient-grant/p1/g1', 'idx/patient-grant/p1/g2']);
    commit(store, cache, 3, [['idx/patient-grant/p1/g1', '"changed"']]);
    assert.deepEqual(cache.range(folder)[0], ['idx/patient-grant/p1/g1', '"changed"']);
    commit(store, cache, 4, [['idx/patient-grant/p1/g2', null]]);
    assert.deepEqual(cache.range(folder).map(([key]) => key), ['idx/patient-grant/p1/g1']);
    commit(store, cache, 5, [['idx/patient-grant/p1/sub/g3', '"g3"']]);
    assert.deepEqual(cache.range('idx/patient-grant/').map(([key]) => key), [
      'idx/patient-grant/p1/g1',
      'idx/patient-grant/p1/sub/g3',
      'idx/patient-grant/p2/g9',
    ]);
    assert.deepEqual(cache.range(folder).map(([key]) => key), ['idx/patient-grant/p1/g1', 'idx/patient-grant/p1/sub/g3']);
    assert.equal(ranges(), 2, 'only the first read of each folder asked the store');
    // What the store answers now is what the cache answered.
    assert.deepEqual(cache.range(folder), store.rangeState(folder));
    assert.deepEqual(cache.range('idx/patient-grant/'), store.rangeState('idx/patient-grant/'));
    store.close();
  });

  it('caches what a committed block wrote, so the next read of a new key does not ask the store', () => {
    const store = LedgerStore.open(':memory:');
    let gets = 0;
    const cache = new CachedStateSource({ get: (key) => (gets++, store.getState(key)), range: (prefix) => store.rangeState(prefix) });
    commit(store, cache, 0, [['grant/g1', '{"id":"g1"}'], ['grant/g0', null]]);
    assert.equal(cache.get('grant/g1'), '{"id":"g1"}');
    assert.equal(cache.get('grant/g0'), undefined);
    assert.equal(gets, 0);
    store.close();
  });

  it('hands out copies (a caller cannot change what the next one reads), and does not cache prefixes that are not folders', () => {
    const { store, source, ranges } = countedStore();
    const cache = new CachedStateSource(source);
    commit(store, cache, 0, [['org/a', '"a"'], ['org/b', '"b"']]);
    cache.range('org/').pop();
    assert.equal(cache.range('org/').length, 2);
    const before = ranges();
    cache.range('org/a');
    cache.range('org/a');
    assert.equal(ranges(), before + 2);
    store.close();
  });

  it('drops the oldest ranges when the cached ones hold more rows than allowed, and still answers right', () => {
    const { store, source, ranges } = countedStore();
    const cache = new CachedStateSource(source, 100, 3);
    commit(store, cache, 0, [['a/1', '1'], ['a/2', '2'], ['b/1', '1'], ['b/2', '2']]);
    cache.range('a/');
    cache.range('b/'); // 4 rows > 3: a/ (the oldest) is dropped
    cache.range('a/');
    assert.equal(ranges(), 3);
    assert.deepEqual(cache.range('b/').map(([key]) => key), ['b/1', 'b/2']);
    store.close();
  });
});
