/**
 * The ledger views of the FHIR API: `Consent` computed from the patients' grants and `AuditEvent`
 * from the ledger audit trail (IHE BALP shape), with their authorization: a patient sees their
 * own; a practitioner sees the grants made to their organization, and an audit trail only while
 * the organization holds an active grant; reading the trail is itself audited.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { validateResource } from '@medplum/core';
import type { AuditEvent, Bundle, Condition, Consent, Observation, Resource } from '@medplum/fhirtypes';
import { toBase64Url } from '../../src/crypto/index.js';
import { loadFhirDefinitions } from '../../src/fhir/validation.js';
import { StateKey } from '../../src/ledger/index.js';
import type { GrantRecord } from '../../src/ledger/types.js';
import { createWallet, type Wallet } from '../../src/wallet/index.js';
import { envelope } from '../http/fixture.js';
import {
  allPages,
  assertOutcome,
  commit,
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

const DID_SYSTEM = 'urn:ietf:rfc:3986';

function resources<T>(bundle: Bundle): T[] {
  return (bundle.entry ?? []).map((e) => e.resource as T);
}

/** Asserts that each resource is valid FHIR R4 (structure definitions and invariants). */
function assertValidR4(items: readonly unknown[]): void {
  loadFhirDefinitions();
  for (const item of items) {
    assert.doesNotThrow(() => validateResource(item as Resource), JSON.stringify(item));
  }
}

describe('FHIR API: Consent and AuditEvent views of the ledger', () => {
  let t: FhirTestNode;
  let patient: Wallet;
  let other: Wallet;
  let doctor: Wallet;
  let otherOrgAdmin: Wallet;
  let otherOrg: Wallet;
  let patientToken: string;
  let doctorToken: string;
  let patientId: string;
  let obsId: string;
  let condId: string;
  let custody: string;
  let conditionGrant: string;
  let revoked: string;
  let otherOrgGrant: string;
  let expiresAt: number;

  before(async () => {
    t = await openFhirNode();
    patient = await registeredPatient(t.node);
    other = await registeredPatient(t.node);
    doctor = await registeredPractitioner(t);
    // A second member organization (one founder: the proposal settles at once).
    otherOrg = createWallet('admin').wallet;
    otherOrgAdmin = createWallet('practitioner').wallet;
    await commit(
      t.node,
      envelope(t.admin, 'gov.org.propose', {
        proposalId: `proposal-${randomUUID()}`,
        org: {
          did: otherOrg.did,
          name: 'Other Hospital',
          region: 'us-east',
          encryptionKey: toBase64Url(otherOrg.encryption.publicKey),
        },
        admin: { did: otherOrgAdmin.did, encryptionKey: toBase64Url(otherOrgAdmin.encryption.publicKey) },
      }),
    );
    // Custody of what the patient writes below: anchors authored by the patient need the
    // custodian's write grant on their types (issue #9). The Observation's is revoked below.
    custody = await grantOrg(t, patient, { resourceTypes: ['Patient', 'Condition'], classes: ['general'] });
    expiresAt = Date.now() + 86_400_000;
    conditionGrant = await grantOrg(t, patient, {
      resourceTypes: ['Condition'],
      classes: ['general', 'sensitive'],
      access: 'read',
      keys: [],
      expiresAt,
    });
    revoked = await grantOrg(t, patient, { resourceTypes: ['Observation'], classes: ['general'] });
    otherOrgGrant = randomUUID();
    await commit(
      t.node,
      envelope(patient, 'consent.grant', {
        grantId: otherOrgGrant,
        grantee: otherOrg.did,
        scope: { resourceTypes: ['Observation'], classes: ['general'] },
        purpose: 'research',
        access: 'read',
        expiresAt: null,
      }),
    );
    await grantOrg(t, other);

    patientToken = await tokenOf(t, patient);
    doctorToken = await tokenOf(t, doctor);
    patientId = await createPatient(t, patientToken);
    const obs = await fhir<Observation>(
      t,
      patientToken,
      'POST',
      'Observation',
      observation(patientId, '8867-4', '2024-01-02T10:00:00Z'),
    );
    expectStatus(obs, 201);
    obsId = obs.body.id!;
    const cond = await fhir<Condition>(t, patientToken, 'POST', 'Condition', condition(patientId, false));
    expectStatus(cond, 201);
    condId = cond.body.id!;
    await revoke(t, patient, revoked);
  });
  after(async () => {
    await t.close();
  });

  it('a patient sees their own grants as Consent resources, a revoked one inactive', async () => {
    const res = await fhir<Bundle>(t, patientToken, 'GET', 'Consent');
    expectStatus(res, 200);
    assert.equal(res.body.type, 'searchset');
    const consents = resources<Consent>(res.body);
    assert.deepEqual(
      new Set(consents.map((c) => c.id)),
      new Set([custody, conditionGrant, revoked, otherOrgGrant]),
    );
    assert.equal(res.body.total, 4);
    assertValidR4(consents);
    const byId = new Map(consents.map((c) => [c.id, c]));
    assert.equal(byId.get(revoked)?.status, 'inactive');
    for (const id of [custody, conditionGrant, otherOrgGrant]) assert.equal(byId.get(id)?.status, 'active');

    const c = byId.get(custody)!;
    const grant = t.node.ledger.getState<GrantRecord>(StateKey.grant(custody))!;
    assert.equal(c.scope?.coding?.[0]?.code, 'patient-privacy');
    assert.equal(c.category?.[0]?.coding?.[0]?.system, 'http://loinc.org');
    assert.equal(c.category?.[0]?.coding?.[0]?.code, '59284-0');
    assert.equal(c.patient?.reference, `Patient/${patientId}`);
    assert.deepEqual(c.patient?.identifier, { system: DID_SYSTEM, value: patient.did });
    assert.equal(c.dateTime, new Date(grant.grantedAt).toISOString());
    assert.equal(c.performer?.[0]?.identifier?.value, patient.did);
    assert.deepEqual(c.organization?.[0]?.identifier, { system: DID_SYSTEM, value: t.node.orgDid });
    assert.equal(c.organization?.[0]?.display, 'Clinic of Test');
    assert.match(c.meta?.source ?? '', new RegExp(grant.txId));
    assert.equal(c.provision?.type, 'permit');
    assert.deepEqual(
      c.provision?.action?.map((a) => a.coding?.[0]?.code),
      ['access', 'collect'],
    );
    assert.deepEqual(
      c.provision?.securityLabel?.map((l) => l.code),
      ['N'],
    );
    assert.deepEqual(
      c.provision?.class?.map((cls) => cls.code),
      ['Patient', 'Condition'],
    );
    assert.deepEqual(c.provision?.purpose, [
      { system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' },
    ]);
    assert.equal(c.provision?.period?.end, undefined);

    const cg = byId.get(conditionGrant)!;
    assert.deepEqual(
      cg.provision?.action?.map((a) => a.coding?.[0]?.code),
      ['access'],
    );
    assert.deepEqual(
      cg.provision?.securityLabel?.map((l) => l.code),
      ['N', 'R'],
    );
    assert.equal(cg.provision?.period?.end, new Date(expiresAt).toISOString());
    const og = byId.get(otherOrgGrant)!;
    assert.equal(og.organization?.[0]?.display, 'Other Hospital');
    assert.equal(og.provision?.purpose?.[0]?.code, 'HRESCH');

    // The sealed record keys are never shown.
    const text = JSON.stringify(res.body);
    assert.ok(!text.includes('"keys"'));
    for (const key of grant.keys ?? []) {
      for (const value of Object.values(key as Record<string, unknown>)) {
        if (typeof value === 'string' && value.length > 16)
          assert.ok(!text.includes(value), 'a sealed key leaked');
      }
    }

    const one = await fhir<Consent>(t, patientToken, 'GET', `Consent/${revoked}`);
    expectStatus(one, 200);
    assert.equal(one.body.status, 'inactive');
    const byIdSearch = await fhir<Bundle>(t, patientToken, 'GET', `Consent?_id=${custody}`);
    assert.deepEqual(
      resources<Consent>(byIdSearch.body).map((x) => x.id),
      [custody],
    );
    const byPatient = await fhir<Bundle>(t, patientToken, 'GET', `Consent?patient=Patient/${patientId}`);
    assert.equal(byPatient.body.total, 4);
    assertOutcome(await fhir(t, undefined, 'GET', 'Consent'), 401);
  });

  it("a patient may not see another patient's grants", async () => {
    assertOutcome(
      await fhir(t, patientToken, 'GET', `Consent?patient:identifier=${DID_SYSTEM}|${other.did}`),
      403,
      /NOT_OWN_RECORD/,
    );
    const grantOfOther = t.node.ledger
      .rangeState(StateKey.patientGrantsPrefix(other.did))[0]![0]
      .split('/')
      .pop()!;
    assertOutcome(await fhir(t, patientToken, 'GET', `Consent/${grantOfOther}`), 403);
  });

  it('a practitioner sees the grants made to their organization only, and must name the patient', async () => {
    assertOutcome(await fhir(t, doctorToken, 'GET', 'Consent'), 400, /patient/);
    const res = await fhir<Bundle>(t, doctorToken, 'GET', `Consent?patient=Patient/${patientId}`);
    expectStatus(res, 200);
    assert.deepEqual(
      new Set(resources<Consent>(res.body).map((c) => c.id)),
      new Set([custody, conditionGrant, revoked]),
    );
    expectStatus(await fhir(t, doctorToken, 'GET', `Consent/${conditionGrant}`), 200);
    assertOutcome(await fhir(t, doctorToken, 'GET', `Consent/${otherOrgGrant}`), 403);
    assertOutcome(await fhir(t, doctorToken, 'GET', `Consent/does-not-exist-1`), 404);
    // A practitioner of another organization gets nothing from this node.
    const foreignToken = await tokenOf(t, otherOrgAdmin);
    assertOutcome(
      await fhir(t, foreignToken, 'GET', `Consent?patient=Patient/${patientId}`),
      403,
      /OTHER_ORGANIZATION/,
    );
  });

  it('AuditEvent: BALP-shaped events for earlier reads, denied ones with outcome 4', async () => {
    expectStatus(await fhir(t, patientToken, 'GET', `Observation/${obsId}`), 200);
    assertOutcome(await fhir(t, doctorToken, 'GET', `Observation/${obsId}`), 403);
    expectStatus(await fhir(t, doctorToken, 'GET', `Condition/${condId}`), 200);
    await waitForAudit(
      t,
      patient.did,
      (entries) =>
        entries.some((e) => e.actor === doctor.did && e.outcome === 'denied' && e.recordId === obsId) &&
        entries.some((e) => e.actor === doctor.did && e.outcome === 'success' && e.recordId === condId),
    );

    const res = await fhir<Bundle>(t, patientToken, 'GET', 'AuditEvent?_count=1000');
    expectStatus(res, 200);
    const events = resources<AuditEvent>(res.body);
    assertValidR4(events);
    const denied = events.find(
      (e) =>
        e.agent[0]?.who?.identifier?.value === doctor.did &&
        e.entity?.[1]?.what?.reference === `Observation/${obsId}`,
    );
    assert.ok(denied, JSON.stringify(events));
    assert.equal(denied.outcome, '4');
    assert.equal(denied.action, 'R');
    assert.equal(denied.subtype?.[0]?.system, 'http://hl7.org/fhir/restful-interaction');
    assert.equal(denied.subtype?.[0]?.code, 'read');
    assert.equal(denied.agent[0]?.requestor, true);
    assert.equal(denied.agent[1]?.who?.identifier?.value, t.node.did);
    assert.equal(denied.agent[1]?.requestor, false);
    assert.equal(denied.source.observer.identifier?.value, t.node.did);
    assert.deepEqual(denied.entity?.[0]?.what?.identifier, { system: DID_SYSTEM, value: patient.did });
    assert.equal(denied.entity?.[0]?.what?.reference, `Patient/${patientId}`);
    assert.equal(denied.entity?.[0]?.role?.code, '1');
    assert.match(denied.id ?? '', /^\d{12}-\d{6}-\d{4}$/);

    const granted = events.find(
      (e) =>
        e.agent[0]?.who?.identifier?.value === doctor.did &&
        e.entity?.[1]?.what?.reference === `Condition/${condId}`,
    );
    assert.ok(granted);
    assert.equal(granted.outcome, '0');
    assert.equal(granted.type.code, 'rest');
    // Both the custody grant (write, since the patient's own Condition needs it) and the
    // Condition grant cover this read: the entry names one of them.
    assert.ok(
      granted.entity?.some((x) =>
        [`Consent/${conditionGrant}`, `Consent/${custody}`].includes(x.what?.reference ?? ''),
      ),
      JSON.stringify(granted.entity),
    );
    assert.equal(granted.purposeOfEvent?.[0]?.coding?.[0]?.code, 'TREAT');
    assert.ok(!Number.isNaN(Date.parse(granted.recorded)));

    const creates = events.filter((e) => e.action === 'C');
    assert.ok(creates.some((e) => e.entity?.[1]?.what?.reference === `Observation/${obsId}`));
    assert.ok(creates.every((e) => e.subtype?.[0]?.code === 'create'));

    // Read by id gives the same resource.
    const one = await fhir<AuditEvent>(t, patientToken, 'GET', `AuditEvent/${denied.id}`);
    expectStatus(one, 200);
    assert.deepEqual(one.body, denied);
    assertOutcome(await fhir(t, patientToken, 'GET', 'AuditEvent/000000999999-000000-0000'), 404);

    // Reading the trail is itself audited.
    await waitForAudit(t, patient.did, (entries) =>
      entries.some((e) => e.resourceType === 'AuditEvent' && e.actor === patient.did && e.action === 'read'),
    );
  });

  it('AuditEvent: date filters, _count and paging', async () => {
    const all = await fhir<Bundle>(t, patientToken, 'GET', 'AuditEvent?_count=1000');
    const total = all.body.total ?? 0;
    assert.ok(total >= 5);
    const none = await fhir<Bundle>(t, patientToken, 'GET', 'AuditEvent?date=lt2000-01-01');
    assert.equal(none.body.total, 0);
    const future = await fhir<Bundle>(
      t,
      patientToken,
      'GET',
      `AuditEvent?date=ge${new Date().getUTCFullYear() + 1}`,
    );
    assert.equal(future.body.total, 0);
    const since = await fhir<Bundle>(t, patientToken, 'GET', 'AuditEvent?date=ge2020-01-01&date=le2999');
    assert.ok((since.body.total ?? 0) >= total);
    assertOutcome(await fhir(t, patientToken, 'GET', 'AuditEvent?date=yesterday'), 400);
    assertOutcome(await fhir(t, patientToken, 'GET', 'AuditEvent?action=R'), 400);
    // _count follows the common search parser: a larger ask gets the most a page holds.
    const large = await fhir<Bundle>(t, patientToken, 'GET', 'AuditEvent?_count=5000');
    expectStatus(large, 200);
    assert.ok((large.body.total ?? 0) >= total);
    assert.equal(large.body.entry?.length, large.body.total);
    assertOutcome(await fhir(t, patientToken, 'GET', 'AuditEvent?_count=-1'), 400, /_count/);

    const first = await fhir<Bundle>(t, patientToken, 'GET', 'AuditEvent?_count=2');
    assert.equal(first.body.entry?.length, 2);
    assert.ok(first.body.link?.some((l) => l.relation === 'next'));
    const paged = await allPages(t, patientToken, 'AuditEvent?_count=2');
    assert.ok(paged.pages >= 3);
    assert.ok(paged.resources.length >= total);
    assert.equal(new Set(paged.resources.map((r) => r.id)).size, paged.resources.length);
  });

  it('AuditEvent: a practitioner needs patient= and an active grant of that patient', async () => {
    assertOutcome(await fhir(t, doctorToken, 'GET', 'AuditEvent'), 400, /patient/);
    const res = await fhir<Bundle>(t, doctorToken, 'GET', `AuditEvent?patient=Patient/${patientId}`);
    expectStatus(res, 200);
    assert.ok((res.body.total ?? 0) > 0);
    // `other` has granted the organization too; a third patient has not.
    const stranger = await registeredPatient(t.node);
    assertOutcome(
      await fhir(t, doctorToken, 'GET', `AuditEvent?patient:identifier=${DID_SYSTEM}|${stranger.did}`),
      403,
      /NO_GRANT/,
    );
    await waitForAudit(t, stranger.did, (entries) =>
      entries.some(
        (e) => e.actor === doctor.did && e.resourceType === 'AuditEvent' && e.outcome === 'denied',
      ),
    );
    // Another patient may not read this patient's trail.
    const otherToken = await tokenOf(t, other);
    assertOutcome(
      await fhir(t, otherToken, 'GET', `AuditEvent?patient=Patient/${patientId}`),
      403,
      /NOT_OWN_RECORD/,
    );
    assertOutcome(await fhir(t, undefined, 'GET', 'AuditEvent'), 401);
  });

  it('the CapabilityStatement declares the views', async () => {
    const res = await fhir<{
      rest: Array<{ resource: Array<{ type: string; interaction: { code: string }[] }> }>;
    }>(t, undefined, 'GET', 'metadata');
    for (const type of ['Consent', 'AuditEvent']) {
      const entry = res.body.rest[0]?.resource.find((r) => r.type === type);
      assert.deepEqual(
        entry?.interaction.map((i) => i.code),
        ['read', 'search-type'],
      );
    }
  });
});
