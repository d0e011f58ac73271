// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test", "before", "after"], "package": "node:test" }] }] */
/**
 * A visiting patient: the us clinic writes records about a patient whose Patient resource the eu
 * hospital keeps, referencing that Patient (`Patient/<eu id>`, anchored on the ledger by eu)
 * without a copy of its own; the us node is the custodian of what it writes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import {
  assertOutcome,
  expectStatus,
  fhir,
  observation,
} from '../fhir-api/fixture.js';
import { openTravellerPair, type RegionNode, type TestNetwork } from './fixture.js';

describe('a record written by one custodian about a Patient another custodian keeps', () => {
  let net: TestNetwork;
  let eu: RegionNode;
  let us: RegionNode;
  let tokEu: string;
  let tokUs: string;
  let euPatientId: string;
  let euObs: string;

  before(async () => {
    ({ net, eu, us, tokEu, tokUs, euPatientId } = await openTravellerPair());
    const obs = await fhir<{ id: string }>(
      eu,
      tokEu,
      'POST',
      'Observation',
      observation(euPatientId, '8867-4', '2026-01-10'),
    );
    expectStatus(obs, 201);
    euObs = obs.body.id;
    await net.settle();
  });

  after(async () => {
    await net?.close();
  });

  test('the us node accepts an Observation referencing the eu Patient; both nodes find it by that Patient', async () => {
    const written = await fhir<{ id: string; subject: { reference: string } }>(
      us,
      tokUs,
      'POST',
      'Observation',
      observation(euPatientId, '8867-4', '2026-03-05', 88),
    );
    expectStatus(written, 201);
    assert.equal(written.body.subject.reference, `Patient/${euPatientId}`);
    const usObs = written.body.id;
    await net.settle();
    assert.equal(
      us.node.ledger.getState<{ custodian: string }>(`record/${usObs}`)?.custodian,
      us.node.orgDid,
    );

    for (const [node, token] of [
      [eu, tokEu],
      [us, tokUs],
    ] as const) {
      const everything = await fhir<Bundle>(node, token, 'GET', `Patient/${euPatientId}/$everything`);
      expectStatus(everything, 200);
      const ids = (everything.body.entry ?? [])
        .map((e) => `${e.resource?.resourceType}/${e.resource?.id}`)
        .sort();
      assert.deepEqual(
        ids,
        [`Observation/${euObs}`, `Observation/${usObs}`, `Patient/${euPatientId}`].sort(),
        node.region,
      );
    }
  });

  test('a reference to a record that is not a Patient, or to nothing, is still refused (400)', async () => {
    assertOutcome(
      await fhir(us, tokUs, 'POST', 'Observation', observation(euObs, '8867-4', '2026-03-06')),
      400,
      /is not stored on this server/,
    );
    assertOutcome(
      await fhir(us, tokUs, 'POST', 'Observation', observation('no-such-patient', '8867-4', '2026-03-06')),
      400,
      /is not stored on this server/,
    );
  });
});
