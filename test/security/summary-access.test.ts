/**
 * `Patient/<id>/$summary` tells a caller without access nothing: not whether the patient exists.
 * A practitioner of the node's organization without a grant asks for the summary of a patient the
 * node keeps and of an id no patient has: the status and the OperationOutcome are identical but
 * for the grant code the ledger shows every member (and the same as `$everything` gives for the
 * existing patient). A patient asking for someone else's summary is refused identically whether
 * that someone exists or not. (Before, an id of nobody was a 404 and so told ids apart.)
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Wallet } from '../../src/wallet/index.js';
import {
  createPatient,
  fhir,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  underPassingWriteGrant,
  type FhirTestNode,
} from '../fhir-api/fixture.js';

describe('security: $summary of a patient the caller may not read', () => {
  let t: FhirTestNode;
  let patient: Wallet;
  let patientId: string;

  before(async () => {
    t = await openFhirNode();
    patient = await registeredPatient(t.node);
    const token = await tokenOf(t, patient);
    patientId = await underPassingWriteGrant(t, patient, () => createPatient(t, token, 'Hidden'));
  });
  after(async () => {
    await t.close();
  });

  it('a practitioner without a grant gets the same answer for an existing and a non-existing patient', async () => {
    // The refusal names the state of the patient's grants to the organization, which the ledger
    // shows every member anyway (docs/threat-model.md: "a 403 that depends only on the grant"):
    // here the existing patient revoked theirs, and an id of nobody has none. Apart from that
    // code the answers are the same — the records kept here do not show.
    const doctorToken = await tokenOf(t, await registeredPractitioner(t));
    const existing = await fhir(t, doctorToken, 'GET', `Patient/${patientId}/$summary`);
    const missing = await fhir(t, doctorToken, 'GET', `Patient/${randomUUID()}/$summary`);
    const posted = await fhir(t, doctorToken, 'POST', `Patient/${randomUUID()}/$summary`, {
      resourceType: 'Parameters',
    });
    const everything = await fhir(t, doctorToken, 'GET', `Patient/${patientId}/$everything`);
    assert.equal(existing.status, 403);
    assert.deepEqual([everything.status, everything.body], [existing.status, existing.body]);
    const grantCodeOf = (body: unknown): string =>
      JSON.stringify(body).replace(/(GRANT_REVOKED|NO_GRANT)/, 'CODE');
    assert.match(JSON.stringify(existing.body), /GRANT_REVOKED/);
    assert.match(JSON.stringify(missing.body), /NO_GRANT/);
    for (const other of [missing, posted]) {
      assert.equal(other.status, existing.status);
      assert.equal(grantCodeOf(other.body), grantCodeOf(existing.body));
    }
  });

  it('another patient gets the same answer for an existing and a non-existing patient', async () => {
    const otherToken = await tokenOf(t, await registeredPatient(t.node));
    const existing = await fhir(t, otherToken, 'GET', `Patient/${patientId}/$summary`);
    const missing = await fhir(t, otherToken, 'GET', `Patient/${randomUUID()}/$summary`);
    assert.equal(existing.status, 403);
    assert.deepEqual([missing.status, missing.body], [existing.status, existing.body]);
  });

  it('$everything too: another patient gets the same answer for an existing and a non-existing patient id', async () => {
    // The existence check used to come before the access decision in $everything (404 vs 403).
    const otherToken = await tokenOf(t, await registeredPatient(t.node));
    const existing = await fhir(t, otherToken, 'GET', `Patient/${patientId}/$everything`);
    const missing = await fhir(t, otherToken, 'GET', `Patient/${randomUUID()}/$everything`);
    assert.equal(existing.status, 403);
    assert.deepEqual([missing.status, missing.body], [existing.status, existing.body]);
  });
});
