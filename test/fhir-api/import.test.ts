/**
 * A Synthea patient bundle imported as it is (`POST /fhir/R4?_import=true`) by the patient, then
 * `Patient/<id>/$everything` returns every imported resource of a supported type across its
 * pages; a practitioner with a write grant writes too; and no file of the data folder holds the
 * patient's family name or a LOINC code of the bundle (only ciphertexts and keyed tokens).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Observation, Patient } from '@medplum/fhirtypes';
import { isSupportedType } from '../../src/fhir/types.js';
import type { Wallet } from '../../src/wallet/index.js';
import { SYNTHEA_SAMPLE } from '../support/testdata.js';
import {
  allPages,
  expectStatus,
  fhir,
  grantOrg,
  observation,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  type FhirTestNode,
} from './fixture.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('FHIR API: Synthea import, $everything, and nothing readable at rest', () => {
  let t: FhirTestNode;
  let patient: Wallet;
  let token: string;
  let bundle: Bundle;
  let patientId: string;
  const imported = new Set<string>();

  before(async () => {
    t = await openFhirNode();
    patient = await registeredPatient(t.node);
    await grantOrg(t, patient, { classes: ['general', 'sensitive'] });
    token = await tokenOf(t, patient);
    bundle = JSON.parse(readFileSync(SYNTHEA_SAMPLE, 'utf8')) as Bundle;
  });
  after(async () => {
    await t.close();
  });

  it('imports the bundle as it is, skipping unsupported types', async () => {
    const res = await fhir<Bundle>(t, token, 'POST', '?_import=true', bundle);
    expectStatus(res, 200);
    assert.equal(res.body.type, 'transaction-response');
    const entries = bundle.entry ?? [];
    assert.equal(res.body.entry?.length, entries.length);
    for (const [i, entry] of (res.body.entry ?? []).entries()) {
      if (isSupportedType(entries[i]?.resource?.resourceType)) {
        assert.equal(entry.response?.status, '201 Created', `entry ${i}`);
        const [type, id] = entry.response.location!.split('/');
        imported.add(`${type!}/${id!}`);
        if (type === 'Patient') patientId = id!;
      } else {
        assert.equal(entry.response?.status, '422 Unprocessable Entity', `entry ${i}`);
      }
    }
    assert.ok(patientId !== undefined);
    const stored = await fhir<Patient>(t, token, 'GET', `Patient/${patientId}`);
    assert.ok(
      stored.body.identifier?.some((i) => i.system === 'urn:ietf:rfc:3986' && i.value === patient.did),
    );
  });

  it('without _import, the same bundle is refused whole (422) and nothing is written', async () => {
    const before = t.node.fhir.index.resourcesOfPatient(patient.did).length;
    const res = await fhir(t, token, 'POST', '', bundle);
    expectStatus(res, 422);
    assert.equal(t.node.fhir.index.resourcesOfPatient(patient.did).length, before);
  });

  it('$everything returns every imported resource once, across pages', async () => {
    const { resources, pages } = await allPages(t, token, `Patient/${patientId}/$everything?_count=20`);
    assert.ok(pages > 1);
    const got = resources.map((r) => `${r.resourceType}/${r.id!}`);
    assert.equal(got.length, new Set(got).size);
    assert.deepEqual(new Set(got), imported);
  });

  it('a practitioner with a write grant writes for the patient', async () => {
    const doctor = await registeredPractitioner(t);
    const doctorToken = await tokenOf(t, doctor);
    const res = await fhir<Observation>(
      t,
      doctorToken,
      'POST',
      'Observation',
      observation(patientId, '8867-4', '2024-06-01'),
    );
    expectStatus(res, 201);
    const read = await fhir<Observation>(t, doctorToken, 'GET', `Observation/${res.body.id!}`);
    expectStatus(read, 200);
    const everything = await allPages(t, doctorToken, `Patient/${patientId}/$everything?_count=50`);
    assert.equal(everything.resources.length, imported.size + 1);
  });

  it('no file of the data folder holds the family name or a LOINC code of the bundle', async () => {
    const family = (bundle.entry ?? [])
      .map((e) => e.resource)
      .find((r): r is Patient => r?.resourceType === 'Patient')!.name![0]!.family!;
    const loinc = (bundle.entry ?? [])
      .map((e) => e.resource)
      .filter((r): r is Observation => r?.resourceType === 'Observation')
      .flatMap((o) => o.code.coding ?? [])
      .find((c) => c.system === 'http://loinc.org')!.code!;
    await t.node.fhir.audit.flush();
    const files = filesUnder(t.dataDir);
    assert.ok(files.some((f) => f.endsWith('vault.sqlite')));
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const needle of [family, loinc, 'Hypertension', 'loinc.org']) {
        assert.equal(bytes.indexOf(Buffer.from(needle, 'utf8')), -1, `${needle} found in ${file}`);
      }
    }
  });
});
