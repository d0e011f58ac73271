// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test", "before", "after"], "package": "node:test" }] }] */
/**
 * The replica custodian in one process (three founder organizations, real SQLite, real HTTP on
 * 127.0.0.1): the patient of `eu` names `us` its replica; eu's versions are shipped to us and
 * checked there against us's ledger; when eu's HTTP server stops, an `ap` practitioner's
 * `$everything`, search and read are answered by us in eu's name, and the Bundle says so; an
 * erasure removes us's copy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import type { Wallet } from '../../src/wallet/index.js';
import { commit } from '../auth/fixture.js';
import { envelope } from '../http/fixture.js';
import { expectStatus, fhir, grantOrg, observation, registeredPatient, registeredPractitioner, tokenOf } from '../fhir-api/fixture.js';
import { createTravellerPatient, openNetwork, type RegionNode, type TestNetwork } from './fixture.js';
import { proofFor, vaultRecords } from './whole-record-fixture.js';

interface Entry {
  readonly resource: { resourceType: string; id?: string } & Record<string, unknown>;
  readonly search?: { mode?: string };
}

function matchIds(bundle: Bundle): string[] {
  return ((bundle.entry ?? []) as Entry[])
    .filter((e) => e.search?.mode !== 'outcome')
    .map((e) => `${e.resource.resourceType}/${e.resource.id ?? ''}`)
    .sort();
}

function outcomeTexts(bundle: Bundle): string[] {
  return ((bundle.entry ?? []) as Entry[])
    .filter((e) => e.search?.mode === 'outcome')
    .flatMap((e) => (e.resource as unknown as OperationOutcome).issue.map((i) => i.details?.text ?? ''));
}

/** Waits until `check` holds (polling), or fails naming `what`. */
async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('replica custodian (in process)', () => {
  let net: TestNetwork;
  let eu: RegionNode;
  let us: RegionNode;
  let ap: RegionNode;
  let patient: Wallet;
  let tokAp: string;
  let tokUs: string;
  let patientId: string;
  const obs: string[] = [];

  before(async () => {
    net = await openNetwork([
      { name: 'EU Hospital', region: 'eu' },
      { name: 'US Clinic', region: 'us' },
      { name: 'AP Lab', region: 'ap' },
    ]);
    [eu, us, ap] = net.nodes as [RegionNode, RegionNode, RegionNode];
    patient = await registeredPatient(eu.node);
    const drEu = await registeredPractitioner(eu);
    const drAp = await registeredPractitioner(ap);
    const drUs = await registeredPractitioner(us);
    await grantOrg(eu, patient);
    await grantOrg(us, patient);
    await grantOrg(ap, patient, { access: 'read' });
    await net.settle();
    const tokEu = await tokenOf(eu, drEu);
    tokAp = await tokenOf(ap, drAp);
    tokUs = await tokenOf(us, drUs);
    patientId = await createTravellerPatient(eu, tokEu, patient.did);
    const first = await fhir<{ id: string }>(eu, tokEu, 'POST', 'Observation', observation(patientId, '8867-4', '2026-01-10'));
    expectStatus(first, 201);
    obs.push(first.body.id);
    // Named after the first records: the custodian ships what it kept before, too.
    await commit(eu.node, envelope(patient, 'records.replica', { replica: us.node.orgDid }));
    const second = await fhir<{ id: string }>(eu, tokEu, 'POST', 'Observation', observation(patientId, '29463-7', '2026-01-11'));
    expectStatus(second, 201);
    obs.push(second.body.id);
    await net.settle();
    await until('the replica to hold the three records', () => us.node.replica.store.count() === 3);
    await until('eu to have shipped everything', () => eu.node.replica.backlog === 0);
  });

  after(async () => {
    await net?.close();
  });

  test('the replica holds every version, eu keeps nothing of it in its own index, us none in its own', () => {
    for (const id of [patientId, ...obs]) {
      assert.equal(us.node.replica.store.get(id)?.custodian, eu.node.orgDid);
      assert.equal(us.node.fhir.index.getResource(id), undefined);
    }
    assert.equal(eu.node.replica.store.count(), 0);
  });

  test('with eu down, ap reads $everything, a search and a read through the replica, and is told so', async () => {
    const before = await fhir<Bundle>(ap, tokAp, 'GET', `Patient/${patientId}/$everything`);
    expectStatus(before, 200);
    const expected = matchIds(before.body);
    assert.equal(expected.length, 3);
    await eu.stopHttp();
    const everything = await fhir<Bundle>(ap, tokAp, 'GET', `Patient/${patientId}/$everything`);
    expectStatus(everything, 200);
    assert.deepEqual(matchIds(everything.body), expected);
    assert.ok(
      outcomeTexts(everything.body).some((t) => /did not answer/.test(t) && /replica/.test(t) && t.includes(us.node.orgDid)),
      JSON.stringify(outcomeTexts(everything.body)),
    );
    const search = await fhir<Bundle>(ap, tokAp, 'GET', `Observation?patient=Patient/${patientId}&code=http://loinc.org|29463-7`);
    expectStatus(search, 200);
    assert.deepEqual(matchIds(search.body), [`Observation/${obs[1]}`]);
    const read = await fhir<{ id: string }>(ap, tokAp, 'GET', `Observation/${obs[0]}`);
    expectStatus(read, 200);
    assert.equal(read.body.id, obs[0]);
  });

  test('with eu down, the patient’s whole record through ap comes complete from the replica', async () => {
    const tokPatient = await tokenOf(ap, patient);
    const answer = await vaultRecords(ap, tokPatient, proofFor(patient, ap));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body.incomplete, []);
    assert.deepEqual((answer.body.records ?? []).map((r) => r.recordId).sort(), [patientId, ...obs].sort());
    assert.ok((answer.body.records ?? []).every((r) => r.custodian === eu.node.orgDid));
  });

  test('with eu down, the replica continues eu’s record: the ledger keeps eu as custodian, names us as writer', async () => {
    const id = obs[1]!;
    const updated = await fhir<{ id: string; meta?: { versionId?: string } }>(us, tokUs, 'PUT', `Observation/${id}`, {
      ...observation(patientId, '29463-7', '2026-01-11', 72),
      id,
    });
    expectStatus(updated, 200);
    assert.equal(updated.body.meta?.versionId, '2');
    await net.settle();
    const anchor = us.node.ledger.getState<{ custodian: string; latest: { version: number; writer?: string } }>(`record/${id}`);
    assert.equal(anchor?.custodian, eu.node.orgDid);
    assert.deepEqual([anchor?.latest.version, anchor?.latest.writer], [2, us.node.orgDid]);
    // Still down: ap reads the new version through the replica (its held copy follows its own write).
    await until('the replica’s held copy to follow its write', () => us.node.replica.store.get(id)?.version === 2);
    const read = await fhir<{ valueQuantity?: { value?: number }; meta?: { versionId?: string } }>(ap, tokAp, 'GET', `Observation/${id}`);
    expectStatus(read, 200);
    assert.deepEqual([read.body.meta?.versionId, read.body.valueQuantity?.value], ['2', 72]);
    // Queued for eu until it answers.
    await until('the shipment to eu to be queued', () => us.node.replica.backlog > 0);
  });

  test('an erasure on the ledger removes the replica’s copy', async () => {
    // The replica keeps every version: the erasure removes all of this record's, and only those.
    const held = us.node.replica.store.count();
    const erased = us.node.replica.store.versionsOf(obs[0]!).length;
    assert.ok(erased > 0);
    await commit(us.node, envelope(patient, 'records.erase', { recordId: obs[0]! }));
    await net.settle();
    await until('the replica to drop the erased record', () => us.node.replica.store.get(obs[0]!) === undefined);
    assert.deepEqual(us.node.replica.store.versionsOf(obs[0]!), []);
    assert.equal(us.node.replica.store.count(), held - erased);
  });
});
