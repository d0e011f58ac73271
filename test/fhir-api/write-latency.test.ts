/**
 * A FHIR write waits for its anchor's block, but not for the block timeout: the write path closes
 * the block once its anchors are submitted (`BlockPacer`), so with a fixed number of clients the
 * timeout no longer bounds the write rate. The node here cuts blocks after 3 s when nobody asks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import {
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  observation,
  openFhirNode,
  registeredPatient,
  tokenOf,
  type FhirTestNode,
} from './fixture.js';

const BLOCK_TIMEOUT_MS = 3_000;

describe('FHIR API: a write does not wait for the block timeout', () => {
  let t: FhirTestNode;
  before(async () => {
    t = await openFhirNode({}, BLOCK_TIMEOUT_MS);
  });
  after(async () => {
    await t.close();
  });

  it('creates answer well before the block would time out, each anchored', async () => {
    const patient = await registeredPatient(t.node);
    await grantOrg(t, patient);
    const token = await tokenOf(t, patient);
    const patientId = await createPatient(t, token);
    const heightBefore = t.node.ledger.height;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const created = await fhir<Observation>(t, token, 'POST', 'Observation', observation(patientId, '8867-4', `2024-02-0${i + 1}`));
      const took = performance.now() - started;
      expectStatus(created, 201);
      assert.ok(took < BLOCK_TIMEOUT_MS / 2, `create ${i} took ${Math.round(took)} ms`);
      // Anchored on the ledger: the answer came after the block holding the anchor committed.
      assert.ok(t.node.ledger.height > heightBefore);
      assert.ok(t.node.fhir.index.getResource(created.body.id!) !== undefined);
    }
  });
});
