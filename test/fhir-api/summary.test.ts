/**
 * `Patient/<id>/$summary` through a real FHIR client library (fhir-kit-client) against the node
 * listening on 127.0.0.1: the International Patient Summary of an imported Synthea patient passes
 * the structural IPS checker; Accept-Language gives German section titles; POST and
 * `Patient/$summary?identifier=` answer the same document; a practitioner without a grant gets
 * exactly what `$everything` gives; the summary is one audit entry; the CapabilityStatement
 * lists the operation.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Bundle, CapabilityStatement, Composition } from '@medplum/fhirtypes';
import { Client, type FhirResource } from 'fhir-kit-client';
import { checkIpsDocument } from '../../src/fhir/ips/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import { SYNTHEA_SAMPLE } from '../support/testdata.js';
import {
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  underPassingWriteGrant,
  waitForAudit,
  type FhirTestNode,
} from './fixture.js';

function as<T>(resource: FhirResource | undefined): T {
  return resource as unknown as T;
}

function titlesOf(bundle: Bundle): string[] {
  const composition = bundle.entry?.[0]?.resource as Composition;
  return (composition.section ?? []).map((s) => s.title ?? '');
}

describe('FHIR API: Patient/$summary (International Patient Summary)', () => {
  let t: FhirTestNode;
  let patient: Wallet;
  let patientId: string;
  let doctorToken: string;
  let doctor: Wallet;
  let baseUrl: string;

  before(async () => {
    t = await openFhirNode();
    patient = await registeredPatient(t.node);
    await grantOrg(t, patient, { classes: ['general', 'sensitive'] });
    const token = await tokenOf(t, patient);
    const bundle = JSON.parse(readFileSync(SYNTHEA_SAMPLE, 'utf8')) as Bundle;
    const imported = await fhir<Bundle>(t, token, 'POST', '?_import=true', bundle);
    expectStatus(imported, 200);
    const location = imported.body.entry?.find((e) => e.response?.location?.startsWith('Patient/'))?.response
      ?.location;
    patientId = location?.split('/')[1] ?? '';
    assert.ok(patientId !== '');
    doctor = await registeredPractitioner(t);
    doctorToken = await tokenOf(t, doctor);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/fhir/R4`;
  });
  after(async () => {
    await t.close();
  });

  const client = (headers: Record<string, string> = {}): Client =>
    new Client({ baseUrl, customHeaders: { authorization: `Bearer ${doctorToken}`, ...headers } });

  it('summarizes an imported Synthea patient as an IPS document that passes the checker', async () => {
    const bundle = as<Bundle>(
      await client().operation({ name: '$summary', resourceType: 'Patient', id: patientId, method: 'GET' }),
    );
    assert.equal(bundle.type, 'document');
    assert.deepEqual(checkIpsDocument(bundle).issues, []);
    const composition = bundle.entry?.[0]?.resource as Composition;
    const author = bundle.entry?.find((e) => e.fullUrl === composition.author[0]?.reference)?.resource;
    assert.ok(author?.resourceType === 'Organization');
    assert.equal(author.name, 'Clinic of Test');
    assert.equal(author.identifier?.[0]?.value, t.node.orgDid);
    assert.ok(titlesOf(bundle).includes('Problem List'));
    assert.ok((bundle.entry ?? []).length > 10, 'the summary lists the patient’s records');
  });

  it('answers in German for Accept-Language de', async () => {
    const bundle = as<Bundle>(
      await client({ 'accept-language': 'de-DE,de;q=0.9,en;q=0.5' }).operation({
        name: '$summary',
        resourceType: 'Patient',
        id: patientId,
        method: 'GET',
      }),
    );
    assert.deepEqual(checkIpsDocument(bundle).issues, []);
    const titles = titlesOf(bundle);
    for (const title of ['Problemliste', 'Allergien und Unverträglichkeiten', 'Medikationsübersicht'])
      assert.ok(titles.includes(title), `${title} in ${titles.join(', ')}`);
  });

  it('answers the same document by POST and by Patient/$summary?identifier=', async () => {
    const get = await fhir<Bundle>(t, doctorToken, 'GET', `Patient/${patientId}/$summary`);
    const post = await fhir<Bundle>(t, doctorToken, 'POST', `Patient/${patientId}/$summary`, {
      resourceType: 'Parameters',
    });
    const byIdentifier = await fhir<Bundle>(
      t,
      doctorToken,
      'GET',
      `Patient/$summary?identifier=${encodeURIComponent(`urn:ietf:rfc:3986|${patient.did}`)}`,
    );
    for (const res of [get, post, byIdentifier]) {
      expectStatus(res, 200);
      assert.deepEqual(checkIpsDocument(res.body).issues, []);
      assert.equal(res.body.entry?.length, get.body.entry?.length);
    }
  });

  it('gives a practitioner without a grant exactly what $everything gives', async () => {
    const other = await registeredPatient(t.node);
    const otherToken = await tokenOf(t, other);
    const otherId = await underPassingWriteGrant(t, other, () => createPatient(t, otherToken));
    const everything = await fhir(t, doctorToken, 'GET', `Patient/${otherId}/$everything`);
    const summary = await fhir(t, doctorToken, 'GET', `Patient/${otherId}/$summary`);
    assert.equal(everything.status, 403);
    assert.equal(summary.status, everything.status);
    assert.deepEqual(summary.body, everything.body);
  });

  it('writes one audit entry for a summary', async () => {
    await t.node.fhir.audit.flush();
    const count = (entries: { actor: string; action: string }[]): number =>
      entries.filter((e) => e.actor === doctor.did && e.action === 'search').length;
    const before = count(await waitForAudit(t, patient.did, () => true));
    expectStatus(await fhir(t, doctorToken, 'GET', `Patient/${patientId}/$summary`), 200);
    await t.node.fhir.audit.flush();
    const entries = await waitForAudit(t, patient.did, (all) => count(all) > before);
    assert.equal(count(entries), before + 1);
  });

  it('lists the summary operation in the CapabilityStatement', async () => {
    const capability = as<CapabilityStatement>(await client().capabilityStatement());
    const patientResource = capability.rest?.[0]?.resource?.find((r) => r.type === 'Patient');
    assert.ok(patientResource?.operation?.some((o) => o.name === 'summary'));
  });
});
