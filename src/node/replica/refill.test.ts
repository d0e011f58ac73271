import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { StateReader } from '../../contracts/index.js';
import { StateKey } from '../../ledger/index.js';
import { ReplicaStore } from '../../store/index.js';
import { CiphertextRefill, FIRST_REFILL_RETRY_MS, MAX_REFILL_RETRY_MS, type MissingVersion } from './refill.js';

const PATIENT = 'did:key:z6MkPatient';
const REPLICA = 'did:key:z6MkReplica';

/** Lets the pass a fired timer started run to its end (its request answers at once). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('CiphertextRefill: passes while gaps remain', () => {
  let now = 1_000_000;
  let missing: MissingVersion[] = [];
  let asked = 0;
  let store: ReplicaStore;
  let refill: CiphertextRefill;

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout'] });
    asked = 0;
    missing = [];
    store = ReplicaStore.open(':memory:');
    const state: StateReader = {
      get: <T>(key: string) => (key === StateKey.replica(PATIENT) ? ({ org: REPLICA, since: 0 } as T) : undefined),
      range: () => [],
    };
    refill = new CiphertextRefill({
      orgDid: 'did:key:z6MkCustodian',
      state,
      // The replica is down: every request goes unanswered.
      client: {
        send: () => {
          asked++;
          return Promise.resolve({ kind: 'unreachable' as const });
        },
      } as unknown as ConstructorParameters<typeof CiphertextRefill>[0]['client'],
      missing: () => missing,
      txById: () => undefined,
      gapLog: store.refillLog,
      adopt: () => Promise.resolve('stored'),
      log: () => undefined,
      now: () => now,
    });
  });

  afterEach(async () => {
    await refill.stop();
    store.close();
    mock.timers.reset();
  });

  /** Moves the clock by the planned delay, runs the pass it fires, and answers the next delay (undefined: none planned). */
  async function nextPass(): Promise<number | undefined> {
    const at = refill.status().nextAttemptAt;
    assert.ok(at !== undefined, 'no pass planned');
    mock.timers.tick(at - now);
    now = at;
    await settle();
    const next = refill.status().nextAttemptAt;
    return next === undefined ? undefined : next - now;
  }

  it('retries from 5 s doubling up to 5 min, back to 5 s when a new gap appears, and stops when none is left', async () => {
    missing = [{ recordId: 'r1', patient: PATIENT, version: 2 }];
    refill.start();
    const delays: Array<number | undefined> = [];
    for (let i = 0; i < 8; i++) delays.push(await nextPass());
    assert.deepEqual(delays, [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000].map((ms) => Math.min(ms, MAX_REFILL_RETRY_MS)));
    assert.equal(delays[0], FIRST_REFILL_RETRY_MS);
    assert.equal(asked, 8);
    assert.deepEqual(
      store.refillLog.report().gaps.map((g) => [g.recordId, g.version, g.replica, g.outcome, g.attemptedAt]),
      [['r1', 2, REPLICA, 'unreachable', now]],
    );

    // A gap that appears while the node runs: a pass at once, and the backoff starts again.
    missing = [...missing, { recordId: 'r2', patient: PATIENT, version: 1 }];
    refill.wake();
    assert.equal(refill.status().nextAttemptAt, now);
    assert.equal(await nextPass(), FIRST_REFILL_RETRY_MS);
    assert.equal(asked, 9);

    // Nothing missing any more: the pass after it plans none, and nothing is asked.
    missing = [];
    assert.equal(await nextPass(), undefined);
    assert.equal(asked, 9);
    assert.deepEqual(store.refillLog.report().gaps, []);
  });

  it('plans nothing when nothing is missing, and starts when a gap appears later', async () => {
    refill.start();
    assert.equal(refill.status().nextAttemptAt, undefined);
    missing = [{ recordId: 'r3', patient: PATIENT, version: 1 }];
    refill.wake();
    assert.equal(refill.status().nextAttemptAt, now);
    assert.equal(await nextPass(), FIRST_REFILL_RETRY_MS);
    assert.equal(asked, 1);
  });
});
