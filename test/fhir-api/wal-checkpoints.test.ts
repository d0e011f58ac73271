/**
 * The node's vault file (vault, FHIR index, audit outbox) is checkpointed on a worker thread
 * (src/store/wal-checkpointer.ts), never inside the main thread's commits: both main connections
 * run with `wal_autocheckpoint = 0`, and under a stream of creates the WAL stays bounded because
 * the worker's checkpoints copy it into the database file and let it start over.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { vaultPath } from '../../src/node/fhir/index.js';
import { POLL_MS_ENV_VAR, RESTART_FRAMES_ENV_VAR } from '../../src/store/wal-checkpointer.js';
import * as fixture from './fixture.js';

const PAGE = 4096;
/** Frames after which the worker restarts the WAL (small, so that the test sees many cycles). */
const RESTART_FRAMES = 200;
/** The bound the WAL file stays under: the restart threshold, and what comes in meanwhile. */
const BOUND_BYTES = 1000 * PAGE;
const CREATES = 800;
const CLIENTS = 16;

function bytes(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

describe('FHIR API: vault checkpoints off the main thread, WAL bounded under sustained creates', () => {
  let t: fixture.FhirTestNode;
  let doctorToken: string;
  let patientId: string;
  const env = { poll: process.env[POLL_MS_ENV_VAR], restart: process.env[RESTART_FRAMES_ENV_VAR] };

  before(async () => {
    process.env[POLL_MS_ENV_VAR] = '20';
    process.env[RESTART_FRAMES_ENV_VAR] = String(RESTART_FRAMES);
    t = await fixture.openFhirNode();
    const patient = await fixture.registeredPatient(t.node);
    await fixture.grantOrg(t, patient, { access: 'write' });
    doctorToken = await fixture.tokenOf(t, await fixture.registeredPractitioner(t));
    patientId = await fixture.createPatient(t, await fixture.tokenOf(t, patient));
  });
  after(async () => {
    await t.close();
    for (const [name, value] of [
      [POLL_MS_ENV_VAR, env.poll],
      [RESTART_FRAMES_ENV_VAR, env.restart],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it(`${CREATES} creates: the main connections never checkpoint, the worker does, the WAL stays bounded`, async (ctx) => {
    const fhirService = t.node.fhir;
    assert.equal(fhirService.vault.store.db.pragma('wal_autocheckpoint', { simple: true }), 0);
    const path = vaultPath(t.dataDir);
    const databaseBefore = bytes(path);
    let largestWal = 0;
    let next = 0;
    const client = async () => {
      while (next < CREATES) {
        const n = next++;
        const date = `2024-01-01T00:00:${String(n % 60).padStart(2, '0')}Z`;
        const res = await fixture.fhir(
          t,
          doctorToken,
          'POST',
          'Observation',
          fixture.observation(patientId, '8867-4', date, n),
        );
        fixture.expectStatus(res, 201);
        largestWal = Math.max(largestWal, bytes(`${path}-wal`));
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));

    const done = fhirService.checkpoints.completed;
    assert.equal(fhirService.checkpoints.error, undefined);
    assert.ok(done.PASSIVE > 0 && done.RESTART > 0, `checkpoints on the worker: ${JSON.stringify(done)}`);
    const copied = bytes(path) - databaseBefore;
    ctx.diagnostic(`WAL at most ${largestWal} bytes; ${copied} bytes copied; ${JSON.stringify(done)}`);
    // Each RESTART started the WAL over once it held RESTART_FRAMES or more: without them, the WAL
    // would have held all those frames.
    const throughWal = done.RESTART * RESTART_FRAMES * PAGE;
    assert.ok(throughWal > 2 * BOUND_BYTES, `at least ${throughWal} bytes went through the WAL`);
    assert.ok(
      largestWal < BOUND_BYTES,
      `the WAL file stayed under ${BOUND_BYTES} bytes (largest ${largestWal})`,
    );
  });
});
