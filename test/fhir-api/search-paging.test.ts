/**
 * Search pages are cut from the index: over a patient with ~300 Observations, paging through
 * `_count=50` returns each Observation exactly once (in `_lastUpdated` and `-date` order, with
 * writes happening between pages), and one page decrypts at most the page size plus a small
 * slack, not every candidate; `$everything` pages the same way.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import type { Wallet } from '../../src/wallet/index.js';
import {
  allPages,
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  observation,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  type FhirAnswer,
  type FhirTestNode,
} from './fixture.js';

const OBSERVATIONS = 300;
const PAGE = 50;
/** Decryptions one page may take beyond its entries (the +1 that tells whether a next page exists). */
const SLACK = 2;

function day(i: number): string {
  return new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
}

describe('FHIR API: search pages decrypt only what they return', () => {
  let t: FhirTestNode;
  let patient: Wallet;
  let doctorToken: string;
  let patientId: string;
  const ids = new Set<string>();

  const decryptions = (): number => t.node.fhir.repository.decryptions;

  before(async () => {
    t = await openFhirNode();
    patient = await registeredPatient(t.node);
    await grantOrg(t, patient, { classes: ['general', 'sensitive'] });
    patientId = await createPatient(t, await tokenOf(t, patient));
    doctorToken = await tokenOf(t, await registeredPractitioner(t));
    for (let from = 0; from < OBSERVATIONS; from += 100) {
      const res = await fhir<Bundle>(t, doctorToken, 'POST', '', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: Array.from({ length: 100 }, (_, k) => ({
          fullUrl: `urn:uuid:${randomUUID()}`,
          // Dates not in write order, so that `date` and `_lastUpdated` orders differ.
          resource: observation(patientId, '8867-4', day(((from + k) * 7) % OBSERVATIONS), from + k),
          request: { method: 'POST', url: 'Observation' },
        })),
      });
      expectStatus(res, 200);
      for (const e of res.body.entry ?? []) ids.add(e.response!.location!.split('/')[1]!);
    }
    assert.equal(ids.size, OBSERVATIONS);
  });
  after(async () => {
    await t.close();
  });

  it('pages through _count=50 by _lastUpdated: each Observation once, ≤ page + slack decryptions a page', async () => {
    const seen: string[] = [];
    let next: string | undefined = `Observation?patient=${patientId}&_count=${PAGE}`;
    let pages = 0;
    while (next !== undefined) {
      const before = decryptions();
      const res: FhirAnswer<Bundle> = await fhir<Bundle>(t, doctorToken, 'GET', next);
      expectStatus(res, 200);
      const spent = decryptions() - before;
      assert.ok(spent <= PAGE + SLACK, `page ${pages} decrypted ${spent} resources`);
      assert.equal(res.body.total, ids.size);
      pages++;
      for (const e of res.body.entry ?? []) seen.push(e.resource!.id!);
      if (pages === 2) {
        // A write while paging: it sorts after the cursor, so it shows up on a later page.
        const late = await fhir<{ id: string }>(
          t,
          doctorToken,
          'POST',
          'Observation',
          observation(patientId, '8867-4', '2019-06-01'),
        );
        expectStatus(late, 201);
        ids.add(late.body.id);
      }
      const link = res.body.link?.find((l) => l.relation === 'next')?.url;
      next = link === undefined ? undefined : link.slice(link.indexOf('/fhir/R4/') + '/fhir/R4/'.length);
    }
    assert.equal(seen.length, new Set(seen).size, 'an Observation was returned twice');
    assert.deepEqual(new Set(seen), ids);
    assert.equal(pages, Math.ceil(ids.size / PAGE));
  });

  it('pages by -date in clinical-date order, each Observation once', async () => {
    const before = decryptions();
    const { resources, pages } = await allPages(
      t,
      doctorToken,
      `Observation?patient=${patientId}&_count=${PAGE}&_sort=-date`,
    );
    assert.ok(decryptions() - before <= pages * (PAGE + SLACK), 'too many decryptions');
    const got = resources.map((r) => r.id!);
    assert.equal(got.length, ids.size);
    assert.deepEqual(new Set(got), ids);
    const dates = resources.map((r) => (r as unknown as { effectiveDateTime: string }).effectiveDateTime);
    assert.deepEqual(dates, [...dates].sort().reverse());
  });

  it('narrows a date condition in the index', async () => {
    const before = decryptions();
    const res = await fhir<Bundle>(
      t,
      doctorToken,
      'GET',
      `Observation?patient=${patientId}&date=ge2020-01-01&date=lt2020-01-11&_count=${PAGE}`,
    );
    expectStatus(res, 200);
    assert.equal(res.body.entry?.length, 10);
    assert.equal(res.body.total, 10);
    assert.ok(decryptions() - before <= 10 + SLACK, `decrypted ${decryptions() - before}`);
  });

  it('pages $everything the same way', async () => {
    const before = decryptions();
    const { resources, pages } = await allPages(
      t,
      doctorToken,
      `Patient/${patientId}/$everything?_count=${PAGE}`,
    );
    assert.ok(decryptions() - before <= pages * (PAGE + SLACK), 'too many decryptions');
    const keys = resources.map((r) => `${r.resourceType}/${r.id}`);
    assert.equal(keys.length, new Set(keys).size);
    assert.equal(keys.length, ids.size + 1); // the Observations and the Patient
  });

  it('asks the patient nothing it cannot decrypt: a _summary=count search decrypts nothing', async () => {
    const before = decryptions();
    const res = await fhir<Bundle>(t, doctorToken, 'GET', `Observation?patient=${patientId}&_summary=count`);
    expectStatus(res, 200);
    assert.equal(res.body.total, ids.size);
    assert.equal(decryptions(), before);
  });
});
