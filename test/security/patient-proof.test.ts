// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test", "before", "after"], "package": "node:test" }] }] */
/**
 * Patient proofs (issue 12 §3): the records a patient's proof unlocks at other custodians go to
 * nobody but the node the patient asked, for that patient, once, now, under the patient's
 * current key. Each abuse is refused with a stable PATIENT_PROOF_* code (or PATIENT_ONLY), both
 * by the node the patient asks (`GET /vault/records`) and by a custodian asked directly with a
 * signed node request (a node bypassing its own checks); each refusal is audited once and
 * answers no record. Before, `/vault/records` ignored the header and the custodian had no such
 * endpoint: these tests failed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signPatientProof } from '../../src/client/patient-proof.js';
import { generateSigningKeyPair, toBase64Url } from '../../src/crypto/index.js';
import { withRotatedSigningKey, type Wallet } from '../../src/wallet/index.js';
import { envelope } from '../http/fixture.js';
import {
  commit,
  expectStatus,
  fhir,
  grantOrg,
  observation,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
} from '../fhir-api/fixture.js';
import {
  createTravellerPatient,
  openNetwork,
  type RegionNode,
  type TestNetwork,
} from '../roaming/fixture.js';
import { askCustodian, deniedEntriesOf, proofFor, vaultRecords } from '../roaming/whole-record-fixture.js';

describe('patient proofs are refused unless made by the patient, for this node, now, once', () => {
  let net: TestNetwork;
  let eu: RegionNode;
  let us: RegionNode;
  let drEu: Wallet;
  let drUs: Wallet;
  let tokEu: string;

  /** A patient whose Patient and one Observation the eu hospital keeps. */
  const patientKeptInEu = async (): Promise<Wallet> => {
    const patient = await registeredPatient(eu.node);
    await grantOrg(eu, patient);
    await net.settle();
    const id = await createTravellerPatient(eu, tokEu, patient.did);
    expectStatus(await fhir(eu, tokEu, 'POST', 'Observation', observation(id, '8867-4', '2026-02-01')), 201);
    await net.settle();
    return patient;
  };

  /** A refusal: the status and code, and no record in the answer. */
  const refused = (
    res: { status: number; body: { error?: { code: string }; records?: unknown } },
    status: number,
    code: string,
  ): void => {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.error?.code, code);
    assert.equal(res.body.records, undefined, 'nothing answered');
  };

  before(async () => {
    net = await openNetwork([
      { name: 'EU Hospital', region: 'eu' },
      { name: 'US Clinic', region: 'us' },
    ]);
    [eu, us] = net.nodes as [RegionNode, RegionNode];
    drEu = await registeredPractitioner(eu);
    drUs = await registeredPractitioner(us);
    await net.settle();
    tokEu = await tokenOf(eu, drEu);
  });

  after(async () => {
    await net?.close();
  });

  test("a proof of another patient: refused at the node asked and at the custodian, in that patient's trail", async () => {
    const victim = await patientKeptInEu();
    const caller = await registeredPatient(us.node);
    const stolen = proofFor(victim, us);
    refused(await vaultRecords(us, await tokenOf(us, caller), stolen), 403, 'PATIENT_PROOF_WRONG_PATIENT');
    assert.equal((await deniedEntriesOf(us, victim.did, caller.did)).length, 1, 'audited once');

    // The us node forwarding the victim's proof for another patient gets nothing either.
    refused(
      await askCustodian(us, eu, { patient: caller.did, proof: proofFor(victim, us) }),
      403,
      'PATIENT_PROOF_WRONG_PATIENT',
    );
    assert.equal((await deniedEntriesOf(eu, caller.did, us.node.did)).length, 1, 'audited once');
  });

  test('a proof made for another node: refused at the node asked, and at the custodian it was made for', async () => {
    const patient = await patientKeptInEu();
    const forEu = proofFor(patient, eu);
    refused(await vaultRecords(us, await tokenOf(us, patient), forEu), 403, 'PATIENT_PROOF_WRONG_NODE');
    assert.equal((await deniedEntriesOf(us, patient.did, patient.did)).length, 1);
    // The us node, having seen a proof for eu, cannot spend it at eu.
    refused(
      await askCustodian(us, eu, { patient: patient.did, proof: forEu }),
      403,
      'PATIENT_PROOF_WRONG_NODE',
    );
    assert.equal((await deniedEntriesOf(eu, patient.did, us.node.did)).length, 1);
  });

  test('an expired (or future) proof is stale', async () => {
    const patient = await patientKeptInEu();
    const token = await tokenOf(us, patient);
    refused(
      await vaultRecords(us, token, proofFor(patient, us, { time: Date.now() - 61_000 })),
      403,
      'PATIENT_PROOF_STALE',
    );
    refused(
      await vaultRecords(us, token, proofFor(patient, us, { time: Date.now() + 61_000 })),
      403,
      'PATIENT_PROOF_STALE',
    );
    assert.equal((await deniedEntriesOf(us, patient.did, patient.did)).length, 2, 'each attempt once');
    refused(
      await askCustodian(us, eu, {
        patient: patient.did,
        proof: proofFor(patient, us, { time: Date.now() - 61_000 }),
      }),
      403,
      'PATIENT_PROOF_STALE',
    );
    assert.equal((await deniedEntriesOf(eu, patient.did, us.node.did)).length, 1);
  });

  test('a replayed proof: refused at the node asked, and at the custodian', async () => {
    const patient = await patientKeptInEu();
    const token = await tokenOf(us, patient);
    const proof = proofFor(patient, us);
    const first = await vaultRecords(us, token, proof);
    expectStatus(first, 200);
    assert.equal(first.body.records?.length, 2, 'the first use answers the eu records');
    refused(await vaultRecords(us, token, proof), 403, 'PATIENT_PROOF_REPLAYED');
    assert.equal((await deniedEntriesOf(us, patient.did, patient.did)).length, 1);
    // The custodian spent the nonce when the us node forwarded it: the us node sending it again
    // (a fresh node request around the same proof) is refused there too.
    refused(await askCustodian(us, eu, { patient: patient.did, proof }), 403, 'PATIENT_PROOF_REPLAYED');
    assert.equal((await deniedEntriesOf(eu, patient.did, us.node.did)).length, 1);
  });

  test('a proof signed by a rotated-out key is invalid; the new key signs valid ones', async () => {
    const patient = await patientKeptInEu();
    const next = generateSigningKeyPair();
    await commit(
      eu.node,
      envelope(patient, 'identity.key.rotate', { newSigningKey: toBase64Url(next.publicKey) }),
    );
    await net.settle();
    const rotated = withRotatedSigningKey(patient, next);
    const token = await tokenOf(us, rotated);
    refused(await vaultRecords(us, token, proofFor(patient, us)), 403, 'PATIENT_PROOF_INVALID');
    assert.equal((await deniedEntriesOf(us, patient.did, patient.did)).length, 1);
    refused(
      await askCustodian(us, eu, { patient: patient.did, proof: proofFor(patient, us) }),
      403,
      'PATIENT_PROOF_INVALID',
    );
    assert.equal((await deniedEntriesOf(eu, patient.did, us.node.did)).length, 1);

    const current = await vaultRecords(us, token, proofFor(rotated, us));
    expectStatus(current, 200);
    assert.equal(current.body.records?.length, 2);
  });

  test("a practitioner's token with a patient's proof: PATIENT_ONLY, in the patient's trail", async () => {
    const patient = await patientKeptInEu();
    refused(await vaultRecords(us, await tokenOf(us, drUs), proofFor(patient, us)), 403, 'PATIENT_ONLY');
    const entries = await deniedEntriesOf(us, patient.did, drUs.did);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.recordedBy, us.node.did);
  });

  test('a node forging a proof (its own key, or no signature) gets nothing from the custodian', async () => {
    const patient = await patientKeptInEu();
    const forger = { did: patient.did, signing: { secretKey: us.node.config.keys.node.secretKey } };
    const forged = signPatientProof(forger, { node: us.node.did });
    refused(
      await askCustodian(us, eu, { patient: patient.did, proof: forged }),
      403,
      'PATIENT_PROOF_INVALID',
    );
    refused(
      await askCustodian(us, eu, { patient: patient.did, proof: 'not-a-proof' }),
      403,
      'PATIENT_PROOF_INVALID',
    );
    const entries = await deniedEntriesOf(eu, patient.did, us.node.did);
    assert.equal(entries.length, 2, 'each forgery once');
    assert.ok(entries.every((e) => e.via === us.node.did && e.recordedBy === eu.node.did));
    // The patient's real proof still works: the forgeries spent nothing.
    const real = await askCustodian(us, eu, { patient: patient.did, proof: proofFor(patient, us) });
    assert.equal(real.status, 200, JSON.stringify(real.body));
    assert.equal(real.body.records?.length, 2);
  });
});
