import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_BLOCK_TIME_STEP_MS, millisFromNanos, nextBlockTime } from './block-time.js';

const HOUR = 60 * 60 * 1000;

describe('nextBlockTime', () => {
  it('takes the server stamp when it is ahead of the previous block', () => {
    assert.equal(nextBlockTime({ previousHeight: 5, previousTime: 1_000, stampedTime: 1_250 }), 1_250);
  });

  it('never goes backwards', () => {
    assert.equal(nextBlockTime({ previousHeight: 5, previousTime: 1_000, stampedTime: 400 }), 1_000);
  });

  it('moves the clock at most one step per block after the first block', () => {
    const previousTime = Date.UTC(2026, 0, 1);
    const century = 100 * 365 * 24 * HOUR;
    assert.equal(nextBlockTime({ previousHeight: 5, previousTime, stampedTime: previousTime + century }), previousTime + MAX_BLOCK_TIME_STEP_MS);
  });

  it('lets an idle period shorter than the step pass in one block', () => {
    const previousTime = Date.UTC(2026, 0, 1);
    const stampedTime = previousTime + 16 * HOUR;
    assert.equal(nextBlockTime({ previousHeight: 5, previousTime, stampedTime }), stampedTime);
  });

  it('takes the first block after genesis as stamped (genesis may be signed long before the network starts)', () => {
    const genesis = Date.UTC(2026, 0, 1);
    const stampedTime = genesis + 30 * 24 * HOUR;
    assert.equal(nextBlockTime({ previousHeight: 0, previousTime: genesis, stampedTime }), stampedTime);
  });

  it('reads nanosecond stamps as milliseconds', () => {
    assert.equal(millisFromNanos(1_764_900_000_123_456_789n), 1_764_900_000_123);
  });
});
