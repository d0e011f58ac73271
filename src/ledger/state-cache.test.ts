import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LedgerStore } from '../store/index.js';
import { CachedStateSource, STATE_CACHE_MAX_BYTES } from './state-cache.js';
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
    const cache = new CachedStateSource(source, { maxRangeBytes: 200 }); // 2 rows of 68 bytes each per folder
    commit(store, cache, 0, [['a/1', '1'], ['a/2', '2'], ['b/1', '1'], ['b/2', '2']]);
    cache.range('a/');
    cache.range('b/'); // 4 rows > 200 bytes: a/ (the least recently used) is dropped
    cache.range('a/');
    assert.equal(ranges(), 3);
    assert.deepEqual(cache.range('b/').map(([key]) => key), ['b/1', 'b/2']);
    store.close();
  });
});

/** A real in-memory store holding `count` keys with values of `valueLength` characters, its reads counted. */
function filledStore(count: number, valueLength: number): { store: LedgerStore; source: StateSource; gets: () => number } {
  const store = LedgerStore.open(':memory:');
  const writes = new Map<string, string>();
  for (let i = 0; i < count; i++) writes.set(`record/${i}`, JSON.stringify('x'.repeat(valueLength - 2)));
  store.commitBlock({ block: { height: 0, hash: 'h0', header: '{}' }, txs: [], writes });
  let gets = 0;
  return {
    store,
    source: { get: (key) => (gets++, store.getState(key)), range: (prefix) => store.rangeState(prefix) },
    gets: () => gets,
  };
}

describe('CachedStateSource memory', () => {
  it('keeps at most its byte budget of values by default, where it used to keep 200,000 entries of any size', () => {
    // 100,000 values of 400 characters (~46 MB with keys and overhead): more than the budget.
    const { store, source, gets } = filledStore(100_000, 400);
    const cache = new CachedStateSource(source);
    for (let i = 0; i < 100_000; i++) cache.get(`record/${i}`);
    assert.ok(cache.bytes.values <= STATE_CACHE_MAX_BYTES, `${cache.bytes.values} bytes cached`);
    const before = gets();
    cache.get('record/0');
    assert.equal(gets(), before + 1, 'the first key read was evicted: asked of the store again');
    cache.get('record/99999');
    assert.equal(gets(), before + 1, 'the last key read is still cached');
    store.close();
  });

  it('a full cache evicts a tenth of its budget at once, not one entry per miss (each pass steps over the slots earlier ones freed)', () => {
    const { store, source, gets } = filledStore(2_000, 100);
    const maxBytes = 1_000 * 172; // 1,000 entries of 64 + ~8 + 100 bytes
    const cache = new CachedStateSource(source, { maxBytes });
    // Read new keys until the first miss that did not grow the cache by its whole entry: it evicted.
    let read = 0;
    for (let grew = true; grew && read < 2_000; read++) {
      const before = cache.bytes.values;
      cache.get(`record/${read}`);
      grew = cache.bytes.values >= before + 164;
    }
    // One entry per miss kept the cache within one entry of full; a batch leaves it at ≤ 90 %.
    assert.ok(read < 2_000, 'the cache filled up');
    assert.ok(cache.bytes.values <= maxBytes * 0.9, `${cache.bytes.values} of ${maxBytes} bytes after the first eviction`);
    const before = gets();
    cache.get(`record/${read - 1}`);
    assert.equal(gets(), before, 'the newest value stays');
    store.close();
  });

  it('evicts the least recently used value first: a key read again stays', () => {
    const { store, source, gets } = filledStore(10, 100);
    // Room for about 3 entries of 64 + 8 + 100 bytes.
    const cache = new CachedStateSource(source, { maxBytes: 3 * 180 });
    cache.get('record/0');
    cache.get('record/1');
    cache.get('record/2');
    cache.get('record/0'); // a hit: record/0 is now the most recently used
    cache.get('record/3'); // full: record/1 goes, not record/0
    const before = gets();
    assert.equal(cache.get('record/0'), store.getState('record/0'));
    assert.equal(gets(), before, 'record/0 was kept');
    cache.get('record/1');
    assert.equal(gets(), before + 1, 'record/1 was evicted');
    assert.ok(cache.bytes.values <= 3 * 180);
    store.close();
  });

  it('counts what committed writes add to cached ranges, drops ranges when the writes grow them past the budget, never caches one larger than it', () => {
    const { store, source, ranges } = countedStore();
    const cache = new CachedStateSource(source, { maxRangeBytes: 300 });
    commit(store, cache, 0, [['a/1', '1'], ['b/1', '1']]);
    cache.range('a/');
    cache.range('b/');
    assert.equal(cache.bytes.ranges, 2 * 68);
    commit(store, cache, 1, [['a/2', '2'], ['a/3', '3'], ['a/4', '4']]); // a/ now 4 rows: 5 × 68 > 300, a/ (least recently used) goes
    assert.ok(cache.bytes.ranges <= 300, `${cache.bytes.ranges} bytes of ranges`);
    const before = ranges();
    assert.equal(cache.range('b/').length, 1);
    assert.equal(ranges(), before, 'b/ (the more recently used) was kept');
    assert.deepEqual(cache.range('a/').map(([key]) => key), ['a/1', 'a/2', 'a/3', 'a/4']);
    assert.equal(ranges(), before + 1, 'a/ was dropped and read again');
    // A range larger than the whole budget (an outer folder) is not cached at all.
    const small = new CachedStateSource(source, { maxRangeBytes: 100 });
    small.range('a/');
    small.range('a/');
    assert.equal(ranges(), before + 3);
    assert.equal(small.bytes.ranges, 0);
    store.close();
  });
});
