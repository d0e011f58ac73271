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
import type { Wallet } from '../../src/wallet/index.js';
import {
  assertOutcome,
  expectStatus,
  fhir,
  grantOrg,
  observation,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
} from '../fhir-api/fixture.js';
import { createTravellerPatient, openNetwork, type RegionNode, type TestNetwork } from './fixture.js';

describe('a record written by one custodian about a Patient another custodian keeps', () => {
  let net: TestNetwork;
  let eu: RegionNode;
  let us: RegionNode;
  let patient: Wallet;
  let tokEu: string;
  let tokUs: string;
  let euPatientId: string;
  let euObs: string;

  before(async () => {
    net = await openNetwork([
      { name: 'EU Hospital', region: 'eu' },
      { name: 'US Clinic', region: 'us' },
    ]);
    [eu, us] = net.nodes as [RegionNode, RegionNode];
    patient = await registeredPatient(eu.node);
    const drEu = await registeredPractitioner(eu);
    const drUs = await registeredPractitioner(us);
    await grantOrg(eu, patient);
    await grantOrg(us, patient);
    await net.settle();
    tokEu = await tokenOf(eu, drEu);
    tokUs = await tokenOf(us, drUs);
    euPatientId = await createTravellerPatient(eu, tokEu, patient.did);
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
