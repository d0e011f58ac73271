// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BlockPacer } from './block-pacer.js';

/** A commit the test settles by hand. */
function commit() {
  let settle!: () => void;
  const promise = new Promise<void>((resolve) => (settle = resolve));
  return { promise, settle };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('BlockPacer', () => {
  test('the first submission cuts at once; those made meanwhile are cut together once it committed', async () => {
    let cuts = 0;
    const pacer = new BlockPacer(() => cuts++);
    const first = commit();
    pacer.submitted(first.promise);
    assert.equal(cuts, 1);
    const second = commit();
    const third = commit();
    pacer.submitted(second.promise);
    pacer.submitted(third.promise);
    assert.equal(cuts, 1, 'the block in flight is not followed by more cuts');
    first.settle();
    await turn();
    assert.equal(cuts, 2, 'one cut for both waiting submissions');
    second.settle();
    third.settle();
    await turn();
    assert.equal(cuts, 2, 'nothing waiting: no cut');
    pacer.submitted(commit().promise);
    assert.equal(cuts, 3, 'idle again: the next submission cuts at once');
  });

  test('a failed commit frees the pacer as a committed one does', async () => {
    let cuts = 0;
    const pacer = new BlockPacer(() => cuts++);
    const failed = Promise.reject(new Error('not committed'));
    pacer.submitted(failed);
    await failed.catch(() => undefined);
    await turn();
    pacer.submitted(commit().promise);
    assert.equal(cuts, 2);
  });
});
