import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlockCutter } from './block-cutter.js';
import { LocalOrderer, type OrdererLog } from './local-orderer.js';
import type { BlockCut } from './orderer.js';

/** An in-memory log: the orderer's logic is under test, not SQLite (the store tests cover that). */
function memoryLog(): OrdererLog & { entries: Map<number, string> } {
  const entries = new Map<number, string>();
  let seq = 0;
  return {
    entries,
    append: (envelopes) => envelopes.map((e) => (entries.set(++seq, e), seq)),
    readAfter: (after) => [...entries].filter(([s]) => s > after).map(([s, envelope]) => ({ seq: s, envelope })),
    truncateThrough: (through) => {
      for (const s of [...entries.keys()]) if (s <= through) entries.delete(s);
    },
  };
}

describe('BlockCutter', () => {
  it('cuts at the count limit and before an item that would overflow the byte limit', () => {
    const cutter = new BlockCutter({ maxTxs: 3, maxBytes: 10, timeoutMs: 50 });
    assert.equal(cutter.add({ envelope: 'aaaa', position: 1 }, 0), undefined);
    assert.equal(cutter.add({ envelope: 'bbbb', position: 2 }, 0), undefined);
    const bySize = cutter.add({ envelope: 'cccc', position: 3 }, 0);
    assert.deepEqual(bySize?.items.map((i) => i.position), [1, 2]);
    assert.equal(cutter.add({ envelope: 'd', position: 4 }, 0), undefined);
    const byCount = cutter.add({ envelope: 'e', position: 5 }, 0);
    assert.deepEqual(byCount?.items.map((i) => i.position), [3, 4, 5]);
    assert.equal(byCount?.reason, 'size');
  });

  it('reports the time left before the pending batch times out', () => {
    const cutter = new BlockCutter({ maxTxs: 10, maxBytes: 100, timeoutMs: 50 });
    assert.equal(cutter.msUntilTimeout(0), undefined);
    cutter.add({ envelope: 'x', position: 1 }, 100);
    assert.equal(cutter.msUntilTimeout(120), 30);
    assert.deepEqual(cutter.cut('timeout')?.items.length, 1);
    assert.equal(cutter.cut('timeout'), undefined);
  });
});

describe('LocalOrderer', () => {
  it('delivers cuts in order by size and by timeout, with non-decreasing times', async () => {
    const cuts: BlockCut[] = [];
    const orderer = new LocalOrderer({ log: memoryLog(), limits: { maxTxs: 2, timeoutMs: 10 } });
    await orderer.start((cut) => Promise.resolve(void cuts.push(cut)), undefined);
    await orderer.submit(['a', 'b', 'c']);
    await new Promise((r) => setTimeout(r, 40));
    await orderer.flush();
    assert.deepEqual(cuts.map((c) => c.envelopes), [['a', 'b'], ['c']]);
    assert.deepEqual(cuts.map((c) => c.position), ['2', '3']);
    assert.ok(cuts[1]!.time >= cuts[0]!.time);
    await orderer.close();
  });

  it('after a restart re-cuts what was logged but not committed, and skips what was', async () => {
    const log = memoryLog();
    const first = new LocalOrderer({ log, limits: { maxTxs: 2, timeoutMs: 1000 } });
    const committed: string[] = [];
    await first.start((cut) => Promise.resolve(void committed.push(...cut.envelopes)), undefined);
    await first.submit(['a', 'b', 'c']);
    await first.close(); // 'c' was accepted into the log but never cut: the crash case.
    assert.deepEqual(committed, ['a', 'b']);
    log.truncateThrough(2); // what the commit of the block holding 'a' and 'b' does
    const second = new LocalOrderer({ log, limits: { maxTxs: 2, timeoutMs: 5 } });
    const after: string[] = [];
    await second.start((cut) => Promise.resolve(void after.push(...cut.envelopes)), '2');
    await second.flush();
    assert.deepEqual(after, ['c']);
    await second.close();
  });

  it('stops accepting when a cut cannot be committed, and says why', async () => {
    const orderer = new LocalOrderer({ log: memoryLog(), limits: { maxTxs: 1, timeoutMs: 5 } });
    await orderer.start(() => Promise.reject(new Error('disk full')), undefined);
    await orderer.submit(['a']);
    await assert.rejects(orderer.flush(), /disk full/);
    await assert.rejects(orderer.submit(['b']), /disk full/);
  });
});
