/**
 * Measured in its own process by worker-heaps.int.test.ts: the RssAnon a validation pool's worker
 * adds once it has loaded the R4 definitions and validated a few hundred resources.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ValidationPool } from '../../src/fhir/validation-pool.js';
import { anonymousRssMib } from './process-memory.js';

/** Lets the worker's concurrent GC threads finish what they started before RSS is read. */
const SETTLE_MS = 1_000;

const before = anonymousRssMib();
const pool = new ValidationPool();
const results = await Promise.all(
  Array.from({ length: 300 }, (_, i) =>
    pool.validate({ resourceType: 'Observation', id: `o${i}`, status: 'final', code: { text: `reading ${i}` } }),
  ),
);
await sleep(SETTLE_MS);
const after = anonymousRssMib();
await pool.close();
console.log(JSON.stringify({ addedMib: after - before, valid: results.filter((r) => r.ok).length }));
