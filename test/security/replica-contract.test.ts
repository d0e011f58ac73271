// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * Attacks on the replica designation (`records.replica`) and on the replica's right to continue
 * a record another custodian keeps: nobody but the patient names a replica, a replica needs a
 * live write grant and an active membership, and its right ends with either.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { replicaInEffect } from '../../src/contracts/index.js';
import { anchorOf, grantTo, lastGrantId, replicaWorld, suspendOrg } from '../../src/contracts/testing-replica.js';
import { expectCode, expectOk, makeWallet, registerPatient } from '../../src/contracts/testing.js';
import { ResultCode } from '../../src/ledger/codes.js';
import { StateKey } from '../../src/ledger/keys.js';

describe('replica designation: attacks', () => {
  test('another party cannot name a replica for the patient (an org node, its admin, another patient)', () => {
    const w = replicaWorld();
    const other = registerPatient(w.ledger, makeWallet());
    for (const signer of [w.b.node, w.b.admin, w.physicianB]) {
      expectCode(w.ledger.submit(signer, 'records.replica', { replica: w.b.org.did }), ResultCode.NOT_PATIENT);
    }
    // Another patient names one for itself only: the victim's state is untouched.
    grantTo({ ...w, patient: other }, w.b, 'write');
    expectOk(w.ledger.submit(other, 'records.replica', { replica: w.b.org.did }));
    assert.equal(w.ledger.get(StateKey.replica(w.patient.did)), undefined);
    assert.equal(replicaInEffect(w.ledger, w.patient.did, w.ledger.time), undefined);
  });

  test('an organization without a write grant is refused; a read grant is not enough', () => {
    const w = replicaWorld({ replicaGrant: 'read' });
    expectCode(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }), ResultCode.REPLICA_NO_WRITE_GRANT);
  });

  test('a suspended organization is refused, and a named one stops being the replica once suspended', () => {
    const w = replicaWorld();
    expectOk(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }));
    suspendOrg(w, w.b, [w.a, w.c]);
    assert.equal(replicaInEffect(w.ledger, w.patient.did, w.ledger.time), undefined);
    expectOk(w.ledger.submit(w.a.node, 'records.anchor', anchorOf(w, w.physicianA, 1)));
    expectCode(w.ledger.submit(w.b.node, 'records.anchor', anchorOf(w, w.physicianB, 2)), ResultCode.NOT_NODE);
    expectCode(w.ledger.submit(w.patient, 'records.replica', { replica: w.c.org.did }), ResultCode.REPLICA_NO_WRITE_GRANT);
  });

  test('a replica whose write grant was revoked no longer continues the custodian’s records', () => {
    const w = replicaWorld();
    expectOk(w.ledger.submit(w.a.node, 'records.anchor', anchorOf(w, w.physicianA, 1)));
    expectOk(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }));
    expectOk(w.ledger.submit(w.patient, 'consent.revoke', { grantId: lastGrantId() }));
    expectCode(w.ledger.submit(w.b.node, 'records.anchor', anchorOf(w, w.physicianB, 2)), ResultCode.NOT_CUSTODIAN);
  });

  test('the replica cannot take another patient’s record of the same custodian', () => {
    const w = replicaWorld();
    const other = registerPatient(w.ledger, makeWallet());
    grantTo({ ...w, patient: other }, w.a, 'write');
    const foreign = { ...anchorOf(w, w.physicianA, 1), recordId: 'record-other', patient: other.did };
    expectOk(w.ledger.submit(w.a.node, 'records.anchor', foreign));
    expectOk(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }));
    expectCode(
      w.ledger.submit(w.b.node, 'records.anchor', { ...foreign, version: 2, author: w.physicianB.did }),
      ResultCode.NOT_CUSTODIAN,
    );
  });
});
