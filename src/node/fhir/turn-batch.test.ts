// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TurnBatch, settle, type Settled } from './turn-batch.js';

describe('TurnBatch', () => {
  test('items added in one turn go through one step call, in order; a later turn gets its own', async () => {
    const calls: number[][] = [];
    const batch = new TurnBatch((items: readonly number[]) => {
      calls.push([...items]);
      return items.map((n): Settled<number> => ({ ok: true, value: n * 10 }));
    });
    assert.deepEqual(await Promise.all([batch.add(1), batch.add(2), batch.add(3)]), [10, 20, 30]);
    assert.deepEqual(await batch.add(4), 40);
    assert.deepEqual(calls, [[1, 2, 3], [4]]);
  });

  test('each item gets its own answer: a failed item rejects alone', async () => {
    const batch = new TurnBatch((items: readonly number[]) =>
      items.map((n) =>
        settle(() => {
          if (n < 0) throw new RangeError(`negative: ${n}`);
          return n;
        }),
      ),
    );
    const results = await Promise.allSettled([batch.add(1), batch.add(-1), batch.add(2)]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      [1, 'negative: -1', 2],
    );
  });

  test('a step that throws, or answers the wrong count, rejects every item of its batch', async () => {
    const failing = new TurnBatch((): Promise<Settled<number>[]> => Promise.reject(new Error('disk full')));
    const both = await Promise.allSettled([failing.add(1), failing.add(2)]);
    assert.deepEqual(
      both.map((r) => r.status === 'rejected' && (r.reason as Error).message),
      ['disk full', 'disk full'],
    );
    const short = new TurnBatch((): Settled<number>[] => [{ ok: true, value: 1 }]);
    await assert.rejects(Promise.all([short.add(1), short.add(2)]), /answered 1 results for 2 items/);
  });

  test('a slow step does not hold the next turn: batches run side by side', async () => {
    const release: Array<() => void> = [];
    const started: number[][] = [];
    const batch = new TurnBatch(async (items: readonly number[]) => {
      started.push([...items]);
      await new Promise<void>((resolve) => release.push(resolve));
      return items.map((n): Settled<number> => ({ ok: true, value: n }));
    });
    const first = batch.add(1);
    await new Promise((resolve) => setImmediate(resolve));
    const second = batch.add(2);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, [[1], [2]]);
    for (const r of release) r();
    assert.deepEqual(await Promise.all([first, second]), [1, 2]);
  });
});
