// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HEAD_STATE_CACHED_RANGE_ROWS, HeadStateCache, type HeadStateSource } from './head-state.js';

/** A ledger's committed state as JSON, with a head that moves when `commit` is called; counts reads. */
function ledger() {
  const rows = new Map<string, string>();
  const reads = { get: 0, range: 0 };
  const source: HeadStateSource & { commit(writes: Record<string, unknown>): void } = {
    height: 0,
    getState<T>(key: string) {
      reads.get++;
      const raw = rows.get(key);
      return raw === undefined ? undefined : (JSON.parse(raw) as T);
    },
    rangeState<T>(prefix: string) {
      reads.range++;
      return [...rows]
        .filter(([k]) => k.startsWith(prefix))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]): [string, T] => [k, JSON.parse(v) as T]);
    },
    commit(writes) {
      for (const [k, v] of Object.entries(writes)) rows.set(k, JSON.stringify(v));
      (this as { height: number }).height++;
    },
  };
  return { source, reads };
}

describe('HeadStateCache', () => {
  test('reads the ledger once per key and head; a committed block is seen at the next read', () => {
    const { source, reads } = ledger();
    source.commit({ 'grant/1': { status: 'active' } });
    const state = new HeadStateCache(source);
    assert.deepEqual(state.get('grant/1'), { status: 'active' });
    assert.deepEqual(state.get('grant/1'), { status: 'active' });
    assert.equal(state.get('grant/2'), undefined);
    assert.equal(state.get('grant/2'), undefined);
    assert.equal(reads.get, 2, 'one read per key, misses included');
    source.commit({ 'grant/1': { status: 'revoked' }, 'grant/2': { status: 'active' } });
    assert.deepEqual(state.get('grant/1'), { status: 'revoked' });
    assert.deepEqual(state.get('grant/2'), { status: 'active' });
  });

  test('ranges are cached per head too, each caller gets its own array', () => {
    const { source, reads } = ledger();
    source.commit({ 'idx/a/1': 1, 'idx/a/2': 2, 'idx/b/1': 3 });
    const state = new HeadStateCache(source);
    const first = state.range<number>('idx/a/');
    first.reverse();
    assert.deepEqual(state.range('idx/a/'), [['idx/a/1', 1], ['idx/a/2', 2]]);
    assert.equal(reads.range, 1);
    source.commit({ 'idx/a/3': 4 });
    assert.equal(state.range('idx/a/').length, 3);
  });

  test('shared values are frozen: a caller cannot change what the next request reads', () => {
    const { source } = ledger();
    source.commit({ 'grant/1': { status: 'active', keys: [{ class: 'general' }] } });
    const state = new HeadStateCache(source);
    const grant = state.get<{ status: string; keys: { class: string }[] }>('grant/1')!;
    assert.throws(() => {
      grant.status = 'revoked';
    }, TypeError);
    assert.throws(() => {
      grant.keys[0]!.class = 'sensitive';
    }, TypeError);
    assert.deepEqual(state.get('grant/1'), { status: 'active', keys: [{ class: 'general' }] });
  });

  test('long ranges are read from the ledger every time; the cache starts over when full', () => {
    const { source, reads } = ledger();
    const many: Record<string, number> = {};
    for (let i = 0; i <= HEAD_STATE_CACHED_RANGE_ROWS; i++) many[`audit/p/${String(i).padStart(6, '0')}`] = i;
    source.commit(many);
    const state = new HeadStateCache(source, 3);
    state.range('audit/p/');
    state.range('audit/p/');
    assert.equal(reads.range, 2);
    for (const key of ['k1', 'k2', 'k3', 'k4', 'k1']) state.get(key);
    assert.equal(reads.get, 5, 'k1 was dropped when the fourth key filled the cache');
  });
});
