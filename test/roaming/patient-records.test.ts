// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test", "before", "after"], "package": "node:test" }] }] */
/**
 * The patient's whole record from any node (issue 12 §3): a patient whose records the eu hospital
 * keeps signs in at the us node, whose organization holds no grant of theirs, and with a patient
 * proof gets every record eu keeps through the us node, as ciphertexts the wallet opens; records
 * the us node keeps itself are merged in; the eu custodian audits the read as the patient's via
 * the us node; with eu down the answer names it as incomplete. Without the proof the answer is
 * the us node's own records, as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditRecord } from '../../src/contracts/index.js';
import { RECORDS_GAP_CODES } from '../../src/wire/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import {
  expectStatus,
  fhir,
  grantOrg,
  observation,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  waitForAudit,
} from '../fhir-api/fixture.js';
import { createTravellerPatient, openNetwork, type RegionNode, type TestNetwork } from './fixture.js';
import { keysOf, openWithWallet, proofFor, vaultRecords } from './whole-record-fixture.js';

describe("the patient's whole record from another node", () => {
  let net: TestNetwork;
  let eu: RegionNode;
  let us: RegionNode;
  let ana: Wallet;
  let ben: Wallet;
  /** `Type/id` of Ana's records, all kept by eu. */
  let anaAtEu: string[] = [];
  let benAtEu: string[] = [];
  let benAtUs: string[] = [];

  /** Writes a Patient and Observations of `patient` at `t` as `token`; returns their `Type/id`s. */
  const writeRecords = async (
    t: RegionNode,
    token: string,
    patient: Wallet,
    patientId?: string,
  ): Promise<string[]> => {
    const id = patientId ?? (await createTravellerPatient(t, token, patient.did));
    const written = patientId === undefined ? [`Patient/${id}`] : [];
    for (const [code, date] of [
      ['8867-4', '2026-01-10'],
      ['29463-7', '2026-01-11'],
    ] as const) {
      const obs = await fhir<{ id: string }>(t, token, 'POST', 'Observation', observation(id, code, date));
      expectStatus(obs, 201);
      written.push(`Observation/${obs.body.id}`);
    }
    return written;
  };

  before(async () => {
    net = await openNetwork([
      { name: 'EU Hospital', region: 'eu' },
      { name: 'US Clinic', region: 'us' },
    ]);
    [eu, us] = net.nodes as [RegionNode, RegionNode];
    ana = await registeredPatient(eu.node);
    ben = await registeredPatient(eu.node);
    const drEu = await registeredPractitioner(eu);
    const drUs = await registeredPractitioner(us);
    // Ana grants only eu: the us organization holds nothing of hers.
    await grantOrg(eu, ana);
    await grantOrg(eu, ben);
    await grantOrg(us, ben);
    await net.settle();
    const tokEu = await tokenOf(eu, drEu);
    anaAtEu = await writeRecords(eu, tokEu, ana);
    benAtEu = await writeRecords(eu, tokEu, ben);
    const benPatientId = benAtEu[0]!.slice('Patient/'.length);
    benAtUs = await writeRecords(us, await tokenOf(us, drUs), ben, benPatientId);
    await net.settle();
  });

  after(async () => {
    await net?.close();
  });

  test('without a proof the us node answers its own records only, as before (old clients)', async () => {
    const plain = await vaultRecords(us, await tokenOf(us, ana));
    expectStatus(plain, 200);
    assert.deepEqual(plain.body.records, []);
    assert.equal(plain.body.incomplete, undefined, 'no proof, no whole-record answer');
  });

  test('with a proof the us node answers every record eu keeps; the wallet opens them all', async () => {
    const whole = await vaultRecords(us, await tokenOf(us, ana), proofFor(ana, us));
    expectStatus(whole, 200);
    assert.deepEqual(whole.body.incomplete, []);
    const records = whole.body.records ?? [];
    assert.ok(records.every((r) => r.custodian === eu.node.orgDid));
    const opened = await openWithWallet(ana, records);
    assert.deepEqual(keysOf(opened), [...anaAtEu].sort());
    const weight = opened.find((r) => JSON.stringify(r).includes('29463-7'));
    assert.equal(weight?.['effectiveDateTime'], '2026-01-11');

    // The eu custodian recorded the read as Ana's own, through the us node.
    const entries = await waitForAudit(eu, ana.did, (all: AuditRecord[]) =>
      all.some((e) => e.actor === ana.did && e.via === us.node.did && e.outcome === 'success'),
    );
    const read = entries.find((e) => e.actor === ana.did && e.via === us.node.did)!;
    assert.equal(read.recordedBy, eu.node.did);
    assert.equal(read.action, 'search');
  });

  test("records the asked node keeps are merged with the other custodians' (each once), and ?type filters both", async () => {
    const whole = await vaultRecords(us, await tokenOf(us, ben), proofFor(ben, us));
    expectStatus(whole, 200);
    const records = whole.body.records ?? [];
    assert.equal(new Set(records.map((r) => r.recordId)).size, records.length);
    assert.deepEqual(keysOf(await openWithWallet(ben, records)), [...benAtEu, ...benAtUs].sort());

    const token = await tokenOf(us, ben);
    const res = await us.app.inject({
      method: 'GET',
      url: '/vault/records?type=Observation',
      headers: { authorization: `Bearer ${token}`, 'x-roam-patient-proof': proofFor(ben, us) },
    });
    assert.equal(res.statusCode, 200);
    const observations = res.json<{ records: Array<{ resourceType: string; custodian: string }> }>().records;
    assert.equal(observations.length, 4);
    assert.ok(observations.every((r) => r.resourceType === 'Observation'));
    assert.deepEqual(
      [...new Set(observations.map((r) => r.custodian))].sort(),
      [eu.node.orgDid, us.node.orgDid].sort(),
    );
  });

  test('with eu down the answer is what us holds, and names eu as unreachable', async () => {
    await eu.stopHttp();
    const ben2 = await vaultRecords(us, await tokenOf(us, ben), proofFor(ben, us));
    expectStatus(ben2, 200);
    assert.deepEqual(ben2.body.incomplete, [
      { custodian: eu.node.orgDid, code: RECORDS_GAP_CODES.CUSTODIAN_UNREACHABLE },
    ]);
    assert.deepEqual(keysOf(await openWithWallet(ben, ben2.body.records ?? [])), [...benAtUs].sort());
  });
});
