/**
 * The FHIR API of a real node, as a patient: metadata, authentication, create → read → update →
 * vread → history with ETags, search by code/date/patient with paging, validation failures,
 * malformed bodies and unknown routes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Bundle, CapabilityStatement, Observation, Patient } from '@medplum/fhirtypes';
import type { FhirError } from '../../src/fhir/index.js';
import { EncryptedFhirRepository } from '../../src/node/fhir/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import {
  allPages,
  assertOutcome,
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  nodePort,
  observation,
  openFhirNode,
  registeredPatient,
  tokenOf,
  type FhirTestNode,
} from './fixture.js';

describe('FHIR API: a patient’s own records', () => {
  let t: FhirTestNode;
  let patient: Wallet;
  let token: string;
  let patientId: string;

  before(async () => {
    t = await openFhirNode();
    patient = await registeredPatient(t.node);
    await grantOrg(t, patient, { classes: ['general', 'sensitive'] });
    token = await tokenOf(t, patient);
    patientId = await createPatient(t, token);
  });
  after(async () => {
    await t.close();
  });

  it('serves the CapabilityStatement without a token', async () => {
    const res = await fhir<CapabilityStatement>(t, undefined, 'GET', 'metadata');
    expectStatus(res, 200);
    assert.equal(res.body.resourceType, 'CapabilityStatement');
    assert.match(String(res.headers['content-type']), /^application\/fhir\+json/);
  });

  it('refuses requests without a token or with a forged one (401 OperationOutcome)', async () => {
    const none = await fhir(t, undefined, 'GET', `Patient/${patientId}`);
    assertOutcome(none, 401, /TOKEN_MISSING/);
    assert.match(String(none.headers['www-authenticate']), /^Bearer realm="roam"/);
    const parts = token.split('.');
    const forged = `${parts[0]}.${Buffer.from(JSON.stringify({ sub: patient.did, aud: 'roam' })).toString('base64url')}.${parts[2]}`;
    assertOutcome(await fhir(t, forged, 'GET', `Patient/${patientId}`), 401, /TOKEN_INVALID/);
  });

  it('stores the patient’s DID in their Patient resource and finds it by identifier', async () => {
    const res = await fhir<Patient>(t, token, 'GET', `Patient/${patientId}`);
    expectStatus(res, 200);
    assert.deepEqual(res.body.identifier, [{ system: 'urn:ietf:rfc:3986', value: patient.did }]);
    const search = await fhir<Bundle>(
      t,
      token,
      'GET',
      `Patient?identifier=${encodeURIComponent(`urn:ietf:rfc:3986|${patient.did}`)}`,
    );
    expectStatus(search, 200);
    assert.deepEqual(
      search.body.entry?.map((e) => e.resource?.id),
      [patientId],
    );
    const own = await fhir<Bundle>(t, token, 'GET', 'Patient');
    assert.deepEqual(
      own.body.entry?.map((e) => e.resource?.id),
      [patientId],
    );
  });

  it('create → read → update (If-Match) → vread → history, with ETags and Location', async () => {
    const created = await fhir<Observation>(
      t,
      token,
      'POST',
      'Observation',
      observation(patientId, '8867-4', '2024-01-02T10:00:00Z'),
    );
    expectStatus(created, 201);
    const id = created.body.id!;
    assert.equal(created.headers['etag'], 'W/"1"');
    assert.match(String(created.headers['location']), new RegExp(`/fhir/R4/Observation/${id}/_history/1$`));
    assert.equal(created.body.meta?.versionId, '1');

    const read = await fhir<Observation>(t, token, 'GET', `Observation/${id}`);
    expectStatus(read, 200);
    assert.equal(read.headers['etag'], 'W/"1"');
    assert.equal(read.body.valueQuantity?.value, 70);

    const changed = { ...read.body, valueQuantity: { ...read.body.valueQuantity, value: 72 } };
    const stale = await fhir(t, token, 'PUT', `Observation/${id}`, changed, { 'if-match': 'W/"7"' });
    assertOutcome(stale, 412);
    const updated = await fhir<Observation>(t, token, 'PUT', `Observation/${id}`, changed, {
      'if-match': 'W/"1"',
    });
    expectStatus(updated, 200);
    assert.equal(updated.headers['etag'], 'W/"2"');
    assert.equal(updated.body.meta?.versionId, '2');

    const v1 = await fhir<Observation>(t, token, 'GET', `Observation/${id}/_history/1`);
    expectStatus(v1, 200);
    assert.equal(v1.body.valueQuantity?.value, 70);
    assertOutcome(await fhir(t, token, 'GET', `Observation/${id}/_history/3`), 404);

    const history = await fhir<Bundle>(t, token, 'GET', `Observation/${id}/_history`);
    expectStatus(history, 200);
    assert.equal(history.body.type, 'history');
    assert.deepEqual(
      history.body.entry?.map((e) => e.resource?.meta?.versionId),
      ['2', '1'],
    );
  });

  it('searches by code, date and patient, with paging', async () => {
    const dates = ['2023-03-01', '2023-03-02', '2023-03-03', '2023-03-04', '2023-03-05'];
    for (const d of dates) {
      expectStatus(
        await fhir(t, token, 'POST', 'Observation', observation(patientId, '9279-1', `${d}T08:00:00Z`)),
        201,
      );
    }
    const byCode = await allPages(
      t,
      token,
      `Observation?code=${encodeURIComponent('http://loinc.org|9279-1')}&_count=2`,
    );
    assert.equal(byCode.resources.length, 5);
    assert.equal(byCode.pages, 3);
    assert.equal(new Set(byCode.resources.map((r) => r.id)).size, 5);

    const byDate = await allPages(
      t,
      token,
      `Observation?code=9279-1&date=ge2023-03-02&date=lt2023-03-04&_sort=date`,
    );
    assert.equal(byDate.resources.length, 2);

    const byPatient = await allPages(t, token, `Observation?patient=Patient/${patientId}&_count=4`);
    assert.equal(byPatient.resources.length, 6);
    const bySubject = await fhir<Bundle>(
      t,
      token,
      'GET',
      `Observation?subject=Patient/${patientId}&_summary=count`,
    );
    assert.equal(bySubject.body.total, 6);

    const none = await fhir<Bundle>(
      t,
      token,
      'GET',
      `Observation?code=${encodeURIComponent('http://loinc.org|0000-0')}`,
    );
    expectStatus(none, 200);
    assert.equal(none.body.total, 0);
  });

  it('refuses an invalid resource with 400 naming the element, and stores nothing', async () => {
    const before = t.node.fhir.index.resourcesOfPatient(patient.did).length;
    const bad = observation(patientId, '8867-4', '2024-01-02');
    delete bad['status'];
    const res = await fhir(t, token, 'POST', 'Observation', bad);
    assertOutcome(res, 400, /Observation\.status/);
    assert.equal(t.node.fhir.index.resourcesOfPatient(patient.did).length, before);

    const dangling = observation('no-such-patient', '8867-4', '2024-01-02');
    assertOutcome(await fhir(t, token, 'POST', 'Observation', dangling), 400, /Patient\/no-such-patient/);
    assert.equal(t.node.fhir.index.resourcesOfPatient(patient.did).length, before);
  });

  it('answers malformed JSON, unknown types and unknown routes with OperationOutcomes', async () => {
    assertOutcome(await fhir(t, token, 'POST', 'Observation', '{"resourceType":'), 400, /JSON/);
    assertOutcome(await fhir(t, token, 'GET', 'Claim/abc'), 404, /not supported/);
    assertOutcome(await fhir(t, token, 'GET', 'Observation/abc'), 404);
    assertOutcome(await fhir(t, token, 'GET', 'Observation/abc/_history/1/extra'), 404, /no route/);
    assertOutcome(await fhir(t, token, 'GET', 'Observation?foo=bar'), 400, /foo/);
    // Bodies up to 4 MiB reach the FHIR layer (which limits one resource to 1 MiB); larger: 413.
    const big = {
      ...observation(patientId, '8867-4', '2024-01-02'),
      note: [{ text: 'x'.repeat(1_500_000) }],
    };
    assertOutcome(await fhir(t, token, 'POST', 'Observation', big), 400, /at most 1048576/);
    const huge = { ...big, note: [{ text: 'x'.repeat(5 * 1024 * 1024) }] };
    assertOutcome(await fhir(t, token, 'POST', 'Observation', huge), 413);
  });
});

describe('FHIR API: a write whose anchor the ledger refuses is rolled back', () => {
  let t: FhirTestNode;
  after(async () => {
    await t.close();
  });

  it('deletes the vault version and indexes nothing, answering 409 with the ledger code', async () => {
    t = await openFhirNode();
    const patient = await registeredPatient(t.node);
    await grantOrg(t, patient);
    const token = await tokenOf(t, patient);
    const patientId = await createPatient(t, token);
    const node = t.node;
    // The ledger answers as if another node had anchored this version first.
    const port = nodePort(t, {
      waitForCommit: (id) =>
        Promise.resolve({ id, height: 1, index: 0, code: 'VERSION_CONFLICT', message: 'taken' }),
    });
    const repo = new EncryptedFhirRepository(port, node.fhir.vault, node.fhir.index, node.fhir.audit);
    const principal = { did: patient.did, kind: 'patient' as const, roles: [], org: null };
    const id = randomUUID();
    await assert.rejects(
      repo.create(
        observation(patientId, '8867-4', '2024-01-02') as never,
        { principal, purpose: 'treatment' },
        { id },
      ),
      (error: FhirError) => error.status === 409 && /VERSION_CONFLICT/.test(error.message),
    );
    assert.equal(node.fhir.index.getResource(id), undefined);
    assert.equal(node.fhir.vault.store.listVersions(id).length, 0);
    assertOutcome(await fhir(t, token, 'GET', `Observation/${id}`), 404);
  });
});
