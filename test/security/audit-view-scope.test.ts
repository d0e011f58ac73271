/**
 * Finding 7 (part) of issue #9: the AuditEvent view ignored the grant's scope. A practitioner
 * whose organization may read a patient's general Conditions saw the whole trail: which
 * Observations and sensitive records were read, by whom. Now the view shows a practitioner the
 * entries about what its organization's grants let it read, counts only those, and answers an
 * entry outside them as one that does not exist.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent, Bundle, Condition, Observation } from '@medplum/fhirtypes';
import type { Wallet } from '../../src/wallet/index.js';
import {
  assertOutcome,
  condition,
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  writeWindow,
  observation,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  waitForAudit,
  type FhirTestNode,
} from '../fhir-api/fixture.js';

/** The record references (`Type/id`) the entries of an AuditEvent Bundle name. */
function recordsNamed(bundle: Bundle): string[] {
  return (bundle.entry ?? []).flatMap((e) =>
    ((e.resource as AuditEvent).entity ?? []).flatMap((x) =>
      x.what?.reference !== undefined &&
      !x.what.reference.startsWith('Patient/') &&
      !x.what.reference.startsWith('Consent/')
        ? [x.what.reference]
        : [],
    ),
  );
}

describe('security: the AuditEvent view follows the grant’s scope', () => {
  let t: FhirTestNode;
  let patient: Wallet;
  let patientToken: string;
  let doctorToken: string;
  let patientId: string;
  let generalId: string;
  let sensitiveId: string;
  let obsId: string;

  before(async () => {
    t = await openFhirNode();
    patient = await registeredPatient(t.node);
    await grantOrg(t, patient, { resourceTypes: ['Patient'], classes: ['general', 'sensitive'] });
    await grantOrg(t, patient, {
      resourceTypes: ['Condition'],
      classes: ['general'],
      access: 'read',
      keys: [],
    });
    const writing = await writeWindow(t, patient);
    patientToken = await tokenOf(t, patient);
    doctorToken = await tokenOf(t, await registeredPractitioner(t));
    patientId = await createPatient(t, patientToken);
    const general = await fhir<Condition>(t, patientToken, 'POST', 'Condition', condition(patientId, false));
    const sensitive = await fhir<Condition>(t, patientToken, 'POST', 'Condition', condition(patientId, true));
    const obs = await fhir<Observation>(
      t,
      patientToken,
      'POST',
      'Observation',
      observation(patientId, '8867-4', '2024-01-01'),
    );
    for (const res of [general, sensitive, obs]) expectStatus(res, 201);
    generalId = general.body.id!;
    sensitiveId = sensitive.body.id!;
    obsId = obs.body.id!;
    await writing.ended();
    for (const url of [`Condition/${generalId}`, `Condition/${sensitiveId}`, `Observation/${obsId}`])
      expectStatus(await fhir(t, patientToken, 'GET', url), 200);
    await waitForAudit(t, patient.did, (entries) => entries.filter((e) => e.action === 'read').length >= 3);
  });
  after(async () => {
    await t.close();
  });

  it('the patient sees every entry of their trail', async () => {
    const res = await fhir<Bundle>(t, patientToken, 'GET', 'AuditEvent?_count=1000');
    expectStatus(res, 200);
    const named = new Set(recordsNamed(res.body));
    for (const ref of [`Condition/${generalId}`, `Condition/${sensitiveId}`, `Observation/${obsId}`])
      assert.ok(named.has(ref), ref);
  });

  it('a practitioner sees only entries about what the grant covers, and the total counts only those', async () => {
    const res = await fhir<Bundle>(
      t,
      doctorToken,
      'GET',
      `AuditEvent?patient=Patient/${patientId}&_count=1000`,
    );
    expectStatus(res, 200);
    const named = recordsNamed(res.body);
    assert.ok(named.includes(`Condition/${generalId}`), JSON.stringify(named));
    assert.ok(!named.includes(`Condition/${sensitiveId}`), JSON.stringify(named));
    assert.ok(!named.includes(`Observation/${obsId}`), JSON.stringify(named));
    assert.equal(res.body.total, res.body.entry?.length);
  });

  it('an entry outside the grant read by id is answered as one that does not exist', async () => {
    const all = await fhir<Bundle>(t, patientToken, 'GET', 'AuditEvent?_count=1000');
    const hidden = (all.body.entry ?? [])
      .map((e) => e.resource as AuditEvent)
      .find((e) => e.entity?.some((x) => x.what?.reference === `Observation/${obsId}`));
    assert.ok(hidden?.id);
    assertOutcome(await fhir(t, doctorToken, 'GET', `AuditEvent/${hidden.id}`), 404);
    assertOutcome(await fhir(t, doctorToken, 'GET', 'AuditEvent/000000999999-000000-0000'), 404);
  });
});
