/**
 * The authorization matrix of the FHIR API, decided at request time against the node's ledger
 * state: a patient's own records, a practitioner of the granted organization, a practitioner of
 * another organization, a revoked grant, an expired grant, a class the grant does not cover, a
 * class the organization holds no key for; and the audit entries the ledger receives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Condition, Observation } from '@medplum/fhirtypes';
import type { Wallet } from '../../src/wallet/index.js';
import {
  assertOutcome,
  condition,
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  observation,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  revoke,
  tokenOf,
  waitForAudit,
  type FhirTestNode,
} from './fixture.js';

describe('FHIR API: authorization by grants, and audit', () => {
  let t: FhirTestNode;
  let patient: Wallet;
  let doctor: Wallet;
  let patientToken: string;
  let doctorToken: string;
  let patientId: string;
  let generalId: string;
  let sensitiveId: string;
  let readGrant: string;
  let obsId: string;

  before(async () => {
    t = await openFhirNode();
    patient = await registeredPatient(t.node);
    doctor = await registeredPractitioner(t);
    // Custody grant: the organization keeps the patient's records of both classes (keys of
    // both), but its practitioners may use it for the Patient resource only.
    await grantOrg(t, patient, { resourceTypes: ['Patient'], classes: ['general', 'sensitive'] });
    // Practitioner access: read general Conditions.
    readGrant = await grantOrg(t, patient, {
      resourceTypes: ['Condition'],
      classes: ['general'],
      access: 'read',
      keys: [],
    });
    // The patient's own Conditions and Observation need the organization's write grant on them
    // (issue #9: anchors authored by the patient); revoked once they are written, so that its
    // practitioners' reach is the read grant only.
    const ownWrites = await grantOrg(t, patient, {
      resourceTypes: ['Condition', 'Observation'],
      classes: ['general', 'sensitive'],
    });
    patientToken = await tokenOf(t, patient);
    doctorToken = await tokenOf(t, doctor);
    patientId = await createPatient(t, patientToken);
    const general = await fhir<Condition>(t, patientToken, 'POST', 'Condition', condition(patientId, false));
    expectStatus(general, 201);
    generalId = general.body.id!;
    const sensitive = await fhir<Condition>(t, patientToken, 'POST', 'Condition', condition(patientId, true));
    expectStatus(sensitive, 201);
    sensitiveId = sensitive.body.id!;
    const obs = await fhir<Observation>(
      t,
      patientToken,
      'POST',
      'Observation',
      observation(patientId, '8867-4', '2024-01-01'),
    );
    expectStatus(obs, 201);
    obsId = obs.body.id!;
    await revoke(t, patient, ownWrites);
  });
  after(async () => {
    await t.close();
  });

  it('a patient reads their own records, sensitive ones included', async () => {
    expectStatus(await fhir(t, patientToken, 'GET', `Condition/${generalId}`), 200);
    expectStatus(await fhir(t, patientToken, 'GET', `Condition/${sensitiveId}`), 200);
  });

  it('another patient may not read them', async () => {
    const other = await registeredPatient(t.node);
    const otherToken = await tokenOf(t, other);
    assertOutcome(await fhir(t, otherToken, 'GET', `Condition/${generalId}`), 403, /NOT_OWN_RECORD/);
    const search = await fhir<Bundle>(t, otherToken, 'GET', `Condition?patient=Patient/${patientId}`);
    assert.ok(search.status === 403 || search.body.total === 0, JSON.stringify(search.body));
  });

  it('a practitioner of the granted organization reads what the grant covers', async () => {
    const res = await fhir<Condition>(t, doctorToken, 'GET', `Condition/${generalId}`);
    expectStatus(res, 200);
    assert.equal(res.body.code?.coding?.[0]?.code, '38341003');
    expectStatus(await fhir(t, doctorToken, 'GET', `Patient/${patientId}`), 200);
  });

  it('a class the grant does not cover is refused (read) and omitted (search)', async () => {
    // The only grant that covered sensitive Conditions (the patient's own writes) is revoked.
    assertOutcome(await fhir(t, doctorToken, 'GET', `Condition/${sensitiveId}`), 403, /GRANT_REVOKED/);
    const search = await fhir<Bundle>(t, doctorToken, 'GET', `Condition?patient=Patient/${patientId}`);
    expectStatus(search, 200);
    assert.deepEqual(
      search.body.entry?.map((e) => e.resource?.id),
      [generalId],
    );
  });

  it('a practitioner must scope a search to a patient', async () => {
    assertOutcome(await fhir(t, doctorToken, 'GET', 'Condition?code=38341003'), 400, /patient/);
  });

  it('a practitioner may not write without a write grant covering the type', async () => {
    const res = await fhir(
      t,
      doctorToken,
      'POST',
      'Observation',
      observation(patientId, '8867-4', '2024-01-01'),
    );
    // The only write grant of Observations (the patient's own writes) is revoked.
    assertOutcome(res, 403, /GRANT_REVOKED/);
  });

  it('a practitioner of another organization is refused', async () => {
    const principal = {
      did: doctor.did,
      kind: 'practitioner' as const,
      roles: [],
      org: 'did:key:z6MkOtherOrganization',
    };
    await assert.rejects(
      t.node.fhir.repository.read('Condition', generalId, { principal, purpose: 'treatment' }),
      (error: Error) => /OTHER_ORGANIZATION/.test(error.message),
    );
  });

  it('a patient cannot store a class the organization holds no key for', async () => {
    const other = await registeredPatient(t.node);
    await grantOrg(t, other, { classes: ['general'] });
    const otherToken = await tokenOf(t, other);
    const otherPatient = await createPatient(t, otherToken, 'Other');
    const res = await fhir(t, otherToken, 'POST', 'Condition', condition(otherPatient, true));
    assertOutcome(res, 403, /no record key granted for class sensitive/);
    assert.equal(t.node.fhir.index.resourcesOfPatient(other.did, 'Condition').length, 0);
  });

  it('an expired grant is refused once it expires', async () => {
    await grantOrg(t, patient, {
      resourceTypes: ['Observation'],
      access: 'read',
      keys: [],
      expiresAt: Date.now() + 1500,
    });
    expectStatus(await fhir(t, doctorToken, 'GET', `Observation/${obsId}`), 200);
    await new Promise((r) => setTimeout(r, 1600));
    assertOutcome(await fhir(t, doctorToken, 'GET', `Observation/${obsId}`), 403, /GRANT_EXPIRED/);
  });

  it('a revoked grant is refused at the next request', async () => {
    await revoke(t, patient, readGrant);
    assertOutcome(await fhir(t, doctorToken, 'GET', `Condition/${generalId}`), 403, /GRANT_REVOKED/);
    assertOutcome(
      await fhir(t, doctorToken, 'GET', `Condition?patient=Patient/${patientId}`),
      403,
      /GRANT_REVOKED/,
    );
  });

  it('puts reads, writes and denials on the ledger’s audit trail of the patient', async () => {
    const entries = await waitForAudit(
      t,
      patient.did,
      (all) =>
        all.some(
          (e) =>
            e.actor === doctor.did &&
            e.action === 'read' &&
            e.outcome === 'success' &&
            e.recordId === generalId,
        ) &&
        all.some((e) => e.actor === doctor.did && e.outcome === 'denied' && e.recordId === sensitiveId) &&
        all.some((e) => e.actor === doctor.did && e.action === 'search' && e.outcome === 'denied') &&
        all.some((e) => e.actor === patient.did && e.action === 'create' && e.outcome === 'success'),
    );
    const read = entries.find(
      (e) => e.actor === doctor.did && e.action === 'read' && e.outcome === 'success',
    )!;
    assert.equal(read.grantId, readGrant);
    assert.equal(read.purpose, 'treatment');
    assert.equal(read.recordedBy, t.node.did);
    // Every entry is shipped: the outbox empties.
    await t.node.fhir.audit.flush();
    assert.equal(t.node.fhir.index.auditBacklog(), 0);
  });
});
