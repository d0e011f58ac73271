import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runMeasurement } from './process-memory.js';

/**
 * Before: loading the R4 definitions left a validation worker with V8's default young generation
 * (64 MB semi-spaces) and ~150 MB of parse garbage in its old generation, committed for the
 * process's life: 215–260 MiB of RssAnon for one worker. Now: 70–85 MiB.
 */
const VALIDATION_WORKER_MAX_MIB = 150;

describe('worker thread heaps', () => {
  it('a validation worker costs the process less than 150 MiB once the definitions are loaded', async () => {
    const { addedMib, valid } = await runMeasurement<{ addedMib: number; valid: number }>('validation-worker-rss.ts');
    assert.equal(valid, 300, 'the worker still validates');
    assert.ok(addedMib < VALIDATION_WORKER_MAX_MIB, `the validation worker added ${Math.round(addedMib)} MiB of RssAnon`);
  });
});
