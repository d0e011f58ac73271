// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["test"], "package": "node:test" }] }] */
/**
 * The summary a patient builds of their own whole record (`buildOwnSummary`): one Patient entry
 * however many custodians keep one, the patient as the author, and a document the IPS checker
 * accepts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Composition, Resource } from '@medplum/fhirtypes';
import { buildOwnSummary, checkIpsDocument } from '../../src/fhir/ips/index.js';

const DID = 'did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH';

const patientAt = (id: string): Resource => ({
  resourceType: 'Patient',
  id,
  identifier: [{ system: 'urn:ietf:rfc:3986', value: DID }],
  name: [{ family: 'Traveller', given: ['Ana'] }],
});

const records: Resource[] = [
  patientAt('p-us'),
  patientAt('p-eu'),
  {
    resourceType: 'Condition',
    id: 'c1',
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003', display: 'Hypertension' }] },
    subject: { reference: 'Patient/p-us' },
  },
  {
    resourceType: 'AllergyIntolerance',
    id: 'a1',
    clinicalStatus: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
      ],
    },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '91936005', display: 'Penicillin allergy' }] },
    patient: { reference: 'Patient/p-eu' },
  },
];

test("a patient's own summary: one Patient of several custodians', the patient as author, checker-clean", () => {
  const document = buildOwnSummary({
    resources: records,
    patientDid: DID,
    language: 'fr',
    now: new Date('2026-06-01T00:00:00Z'),
    newUuid: randomUUID,
    incomplete: true,
  });
  assert.deepEqual(checkIpsDocument(document).issues, []);
  const entries = document.entry ?? [];
  const patients = entries.filter((e) => e.resource?.resourceType === 'Patient');
  assert.equal(patients.length, 1);
  assert.equal(patients[0]?.resource?.id, 'p-eu', 'the first by id');
  const composition = entries[0]?.resource as Composition;
  assert.equal(composition.author?.[0]?.reference, patients[0]?.fullUrl, 'the patient is the author');
  assert.equal(composition.subject?.reference, patients[0]?.fullUrl);
  assert.equal(entries.filter((e) => e.resource?.resourceType === 'Organization').length, 0);
  assert.ok(entries.some((e) => e.resource?.resourceType === 'Condition'));
  assert.ok(entries.some((e) => e.resource?.resourceType === 'AllergyIntolerance'));
  assert.equal(composition.language, 'fr');
});

test('with no Patient resource among the records, a Patient naming the DID is made up', () => {
  const document = buildOwnSummary({
    resources: records.slice(2),
    patientDid: DID,
    language: 'en',
    now: new Date(),
    newUuid: randomUUID,
    incomplete: false,
  });
  assert.deepEqual(checkIpsDocument(document).issues, []);
  const patient = document.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource as
    { identifier?: Array<{ value?: string }> } | undefined;
  assert.equal(patient?.identifier?.[0]?.value, DID);
});
