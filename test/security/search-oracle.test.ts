/**
 * Finding 1 of issue #9, "search is an oracle": a caller's search answer (status, total,
 * entries) and the audit entries it writes must not depend on records the caller may not read.
 * Each test reproduces one variant of the attack against a real node (ledger, vault, index,
 * HTTP routes) and asserts the answer a caller without access gets for a value some other
 * patient has is the same as for a value nobody has.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Condition } from '@medplum/fhirtypes';
import type { AuditRecord } from '../../src/contracts/index.js';
import { StateKey } from '../../src/ledger/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import {
  assertOutcome,
  expectStatus,
  fhir,
  grantOrg,
  writeWindow,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  type FhirAnswer,
  type FhirTestNode,
} from '../fhir-api/fixture.js';

const SNOMED = 'http://snomed.info/sct';
const MRN_SYSTEM = 'http://hospital.example/mrn';

function diabetes(patientId: string): Record<string, unknown> {
  return {
    resourceType: 'Condition',
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
    code: { coding: [{ system: SNOMED, code: '86406008', display: 'HIV infection' }] },
    subject: { reference: `Patient/${patientId}` },
    onsetDateTime: '2019-02-01',
  };
}

/** The answer's observable shape: status, total and entry ids. */
function shape(res: FhirAnswer): { status: number; total: unknown; ids: unknown } {
  const body = res.body as Bundle;
  return {
    status: res.status,
    total: body.total,
    ids: body.entry?.map((e) => e.resource?.id) ?? [],
  };
}

/** Every audit entry the ledger holds about `patient`, after shipping the outbox. */
async function auditOf(t: FhirTestNode, patient: string): Promise<AuditRecord[]> {
  await t.node.fhir.audit.flush();
  return t.node.ledger.rangeState<AuditRecord>(StateKey.auditPrefix(patient)).map(([, v]) => v);
}

describe('security: search is not an oracle of other patients’ records', () => {
  let t: FhirTestNode;
  let victim: Wallet;
  let victimToken: string;
  let victimPatientId: string;
  let conditionId: string;
  let attacker: Wallet;
  let attackerToken: string;
  let doctorToken: string;
  let doctor: Wallet;

  before(async () => {
    t = await openFhirNode();
    victim = await registeredPatient(t.node);
    // Custody only: the organization keeps the victim's records, but its practitioners may use
    // the grant for the Patient resource only; no grant covers Conditions.
    await grantOrg(t, victim, { resourceTypes: ['Patient'], classes: ['general', 'sensitive'] });
    // The victim's own writes are kept under a write grant that then expires.
    const writing = await writeWindow(t, victim);
    victimToken = await tokenOf(t, victim);
    const patient = await fhir<{ id: string }>(t, victimToken, 'POST', 'Patient', {
      resourceType: 'Patient',
      identifier: [{ system: MRN_SYSTEM, value: 'MRN-4711' }],
      name: [{ family: 'Victim' }],
    });
    expectStatus(patient, 201);
    victimPatientId = patient.body.id;
    const created = await fhir<Condition>(t, victimToken, 'POST', 'Condition', diabetes(victimPatientId));
    expectStatus(created, 201);
    conditionId = created.body.id!;
    await writing.ended();
    attacker = await registeredPatient(t.node);
    attackerToken = await tokenOf(t, attacker);
    doctor = await registeredPractitioner(t);
    doctorToken = await tokenOf(t, doctor);
    await t.node.fhir.audit.flush();
  });
  after(async () => {
    await t.close();
  });

  it('a patient’s code search answers the same whether another patient has the code or not', async () => {
    const had = await fhir(t, attackerToken, 'GET', `Condition?code=${SNOMED}|86406008`);
    const nobody = await fhir(t, attackerToken, 'GET', `Condition?code=${SNOMED}|1111111`);
    assert.deepEqual(shape(had), shape(nobody));
    assert.deepEqual(shape(had), { status: 200, total: 0, ids: [] });
  });

  it('a patient’s identifier search answers the same whether another patient has the MRN or not', async () => {
    const had = await fhir(t, attackerToken, 'GET', `Patient?identifier=${MRN_SYSTEM}|MRN-4711`);
    const nobody = await fhir(t, attackerToken, 'GET', `Patient?identifier=${MRN_SYSTEM}|MRN-0000`);
    assert.deepEqual(shape(had), shape(nobody));
    assert.deepEqual(shape(had), { status: 200, total: 0, ids: [] });
  });

  it('a practitioner without a grant learns nothing from _id and code of a record seen on the ledger', async () => {
    // The record's id and patient are on the ledger (its anchor); its code is not.
    assert.equal(
      t.node.ledger.getState<{ patient: string }>(StateKey.record(conditionId))?.patient,
      victim.did,
    );
    const had = await fhir(t, doctorToken, 'GET', `Condition?_id=${conditionId}&code=${SNOMED}|86406008`);
    const not = await fhir(t, doctorToken, 'GET', `Condition?_id=${conditionId}&code=${SNOMED}|1111111`);
    assert.deepEqual(shape(had), shape(not));
    assert.deepEqual(shape(had), { status: 200, total: 0, ids: [] });
  });

  it('those searches write no audit entry naming the other patient', async () => {
    const before = (await auditOf(t, victim.did)).filter((e) => e.actor !== victim.did);
    await fhir(t, attackerToken, 'GET', `Condition?code=${SNOMED}|86406008`);
    await fhir(t, attackerToken, 'GET', `Patient?identifier=${MRN_SYSTEM}|MRN-4711`);
    await fhir(t, doctorToken, 'GET', `Condition?_id=${conditionId}&code=${SNOMED}|86406008`);
    const afterSearches = (await auditOf(t, victim.did)).filter((e) => e.actor !== victim.did);
    assert.deepEqual(afterSearches, before);
  });

  it('a batch of 200 GETs writes no entry about a patient it did not name, and a bounded number about one it did', async () => {
    const searches = Array.from({ length: 100 }, () => ({
      request: { method: 'GET', url: `Condition?code=${SNOMED}|86406008` },
    }));
    const reads = Array.from({ length: 100 }, () => ({
      request: { method: 'GET', url: `Condition/${conditionId}` },
    }));
    const before = (await auditOf(t, victim.did)).length;
    const res = await fhir<Bundle>(t, attackerToken, 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [...searches, ...reads],
    });
    expectStatus(res, 200);
    for (const e of res.body.entry?.slice(0, 100) ?? []) assert.match(e.response?.status ?? '', /^200/);
    const added = (await auditOf(t, victim.did)).slice(before);
    // The reads named the record (so its patient): one denied read, whatever the repetitions.
    assert.deepEqual(
      added.map((e) => [e.actor, e.action, e.outcome]),
      [[attacker.did, 'read', 'denied']],
    );
  });

  it('an empty identifier value is refused, not a wildcard over every Patient', async () => {
    assertOutcome(
      await fhir(t, attackerToken, 'GET', `Patient?identifier=${encodeURIComponent('urn:ietf:rfc:3986|')}`),
      400,
      /identifier/,
    );
  });

  it('a practitioner naming a patient without a grant gets 403 from the grant alone, audited once', async () => {
    const before = (await auditOf(t, victim.did)).length;
    const had = await fhir(
      t,
      doctorToken,
      'GET',
      `Condition?patient=Patient/${victimPatientId}&code=${SNOMED}|86406008`,
    );
    const not = await fhir(
      t,
      doctorToken,
      'GET',
      `Condition?patient=Patient/${victimPatientId}&code=${SNOMED}|1111111`,
    );
    assertOutcome(had, 403, /SCOPE_NOT_COVERED|GRANT_EXPIRED/);
    assert.deepEqual(had.body, not.body);
    const added = (await auditOf(t, victim.did)).slice(before);
    assert.deepEqual(
      added.map((e) => [e.actor, e.action, e.outcome]),
      [
        [doctor.did, 'search', 'denied'],
        [doctor.did, 'search', 'denied'],
      ],
    );
  });

  it('$everything refuses from the grants alone, not from which records the patient has', async () => {
    // The organization may read this patient's Observations only; the patient has a Patient
    // resource and a Condition, no Observation yet.
    const other = await registeredPatient(t.node);
    await grantOrg(t, other, { resourceTypes: ['Observation'], classes: ['general', 'sensitive'] });
    const writing = await writeWindow(t, other);
    const otherToken = await tokenOf(t, other);
    const patient = await fhir<{ id: string }>(t, otherToken, 'POST', 'Patient', {
      resourceType: 'Patient',
      name: [{ family: 'Other' }],
    });
    expectStatus(patient, 201);
    expectStatus(await fhir(t, otherToken, 'POST', 'Condition', diabetes(patient.body.id)), 201);
    await writing.ended();
    const everything = await fhir(t, doctorToken, 'GET', `Patient/${patient.body.id}/$everything`);
    assert.deepEqual(shape(everything), { status: 200, total: 0, ids: [] });
  });

  it('the patient still finds their own record by code and by MRN', async () => {
    const byCode = await fhir<Bundle>(t, victimToken, 'GET', `Condition?code=${SNOMED}|86406008`);
    assert.deepEqual(shape(byCode), { status: 200, total: 1, ids: [conditionId] });
    const byMrn = await fhir<Bundle>(t, victimToken, 'GET', `Patient?identifier=${MRN_SYSTEM}|MRN-4711`);
    assert.deepEqual(shape(byMrn), { status: 200, total: 1, ids: [victimPatientId] });
  });
});
