// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResultCode } from '../ledger/codes.js';
import { StateKey } from '../ledger/keys.js';
import { namedReplica, replicaInEffect, type RecordEntry } from './index.js';
import { expectCode, expectOk, registerPractitioner } from './testing.js';
import { anchorOf, grantTo, lastGrantId, replicaWorld, suspendOrg } from './testing-replica.js';

describe('records.replica', () => {
  test('the patient names an organization with a write grant; state replica/<patient> holds it', () => {
    const w = replicaWorld();
    const { txId } = expectOk(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }));
    assert.deepEqual(w.ledger.get(StateKey.replica(w.patient.did)), { org: w.b.org.did, since: w.ledger.time, txId });
    assert.equal(replicaInEffect(w.ledger, w.patient.did, w.ledger.time), w.b.org.did);
  });

  test('null ends the replica; ending none is REPLICA_NOT_SET', () => {
    const w = replicaWorld();
    expectCode(w.ledger.submit(w.patient, 'records.replica', { replica: null }), ResultCode.REPLICA_NOT_SET);
    expectOk(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }));
    expectOk(w.ledger.submit(w.patient, 'records.replica', { replica: null }));
    assert.equal(namedReplica(w.ledger, w.patient.did), undefined);
  });

  test('naming the same organization again is REPLICA_UNCHANGED; naming another replaces it', () => {
    const w = replicaWorld();
    expectOk(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }));
    expectCode(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }), ResultCode.REPLICA_UNCHANGED);
    expectOk(w.ledger.submit(w.patient, 'records.replica', { replica: w.a.org.did }));
    assert.equal(namedReplica(w.ledger, w.patient.did)?.org, w.a.org.did);
  });

  test('REPLICA_NO_WRITE_GRANT: no grant, a read grant, an expired write grant', () => {
    for (const replicaGrant of ['none', 'read'] as const) {
      const w = replicaWorld({ replicaGrant });
      expectCode(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }), ResultCode.REPLICA_NO_WRITE_GRANT);
    }
    const w = replicaWorld({ replicaGrant: 'none' });
    grantTo(w, w.b, 'write', w.ledger.time + 500);
    w.ledger.nextBlock(1000);
    expectCode(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }), ResultCode.REPLICA_NO_WRITE_GRANT);
  });

  test('REPLICA_NOT_MEMBER: an unknown or suspended organization', () => {
    const w = replicaWorld();
    expectCode(w.ledger.submit(w.patient, 'records.replica', { replica: w.physicianB.did }), ResultCode.REPLICA_NOT_MEMBER);
    suspendOrg(w, w.b, [w.a, w.c]);
    expectCode(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }), ResultCode.REPLICA_NOT_MEMBER);
  });

  test('NOT_PATIENT: only the patient signs it', () => {
    const w = replicaWorld();
    expectCode(w.ledger.submit(w.physicianB, 'records.replica', { replica: w.b.org.did }), ResultCode.NOT_PATIENT);
    expectCode(w.ledger.submit(w.b.node, 'records.replica', { replica: w.b.org.did }), ResultCode.NOT_PATIENT);
  });

  test('INVALID_PAYLOAD: a missing field, extra fields, not a DID', () => {
    const w = replicaWorld();
    for (const payload of [{}, { replica: w.b.org.did, patient: w.patient.did }, { replica: 'org-b' }]) {
      expectCode(w.ledger.submitRaw(w.patient, 'records.replica', payload), ResultCode.INVALID_PAYLOAD);
    }
  });

  test('in effect only while the organization is active and its write grant active: checked at use', () => {
    const w = replicaWorld();
    expectOk(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }));
    expectOk(w.ledger.submit(w.patient, 'consent.revoke', { grantId: lastGrantId() }));
    assert.equal(replicaInEffect(w.ledger, w.patient.did, w.ledger.time), undefined);
    assert.equal(namedReplica(w.ledger, w.patient.did)?.org, w.b.org.did);
    grantTo(w, w.b, 'write');
    assert.equal(replicaInEffect(w.ledger, w.patient.did, w.ledger.time), w.b.org.did);
    suspendOrg(w, w.b, [w.a, w.c]);
    assert.equal(replicaInEffect(w.ledger, w.patient.did, w.ledger.time), undefined);
  });
});

describe('records.anchor by the replica', () => {
  test('the replica in effect anchors the next version of a record the custodian keeps; the custodian stays', () => {
    const w = replicaWorld();
    expectOk(w.ledger.submit(w.a.node, 'records.anchor', anchorOf(w, w.physicianA, 1)));
    expectOk(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }));
    expectOk(w.ledger.submit(w.b.node, 'records.anchor', anchorOf(w, w.physicianB, 2)));
    const record = w.ledger.get<RecordEntry>(StateKey.record('record-0001'));
    assert.equal(record?.custodian, w.a.org.did);
    assert.equal(record?.status === 'active' ? record.latest.writer : 'erased', w.b.org.did);
    // The custodian continues after it; its own versions name no writer.
    expectOk(w.ledger.submit(w.a.node, 'records.anchor', anchorOf(w, w.physicianA, 3)));
    const after = w.ledger.get<RecordEntry>(StateKey.record('record-0001'));
    assert.equal(after?.status === 'active' ? after.latest.writer : 'erased', undefined);
  });

  test('NOT_CUSTODIAN: another organization, or the replica once it is no longer in effect', () => {
    const w = replicaWorld();
    expectOk(w.ledger.submit(w.a.node, 'records.anchor', anchorOf(w, w.physicianA, 1)));
    // Named nowhere yet.
    expectCode(w.ledger.submit(w.b.node, 'records.anchor', anchorOf(w, w.physicianB, 2)), ResultCode.NOT_CUSTODIAN);
    expectOk(w.ledger.submit(w.patient, 'records.replica', { replica: w.b.org.did }));
    const physicianC = registerPractitioner(w.ledger, w.c);
    expectCode(w.ledger.submit(w.c.node, 'records.anchor', anchorOf(w, physicianC, 2)), ResultCode.NOT_CUSTODIAN);
    expectOk(w.ledger.submit(w.patient, 'consent.revoke', { grantId: lastGrantId() }));
    expectCode(w.ledger.submit(w.b.node, 'records.anchor', anchorOf(w, w.physicianB, 2)), ResultCode.NOT_CUSTODIAN);
  });
});
