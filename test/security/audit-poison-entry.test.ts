/**
 * One audit entry the ledger refuses must not hold up a node's trail for good. The audit contract
 * refuses a whole `audit.batch` when one entry names an actor the node cannot speak for
 * (FOREIGN_ACTOR); before, the shipper kept that batch at the head of its outbox and offered it
 * again at every tick, so no later access was ever recorded on the ledger.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditRecord } from '../../src/contracts/index.js';
import type { AuditEvent } from '../../src/node/fhir/audit.js';
import type { Wallet } from '../../src/wallet/index.js';
import { openFhirNode, registeredPatient, waitForAudit, type FhirTestNode } from '../fhir-api/fixture.js';

describe('security: a refused audit entry is set aside, the others reach the ledger', () => {
  let t: FhirTestNode;
  let ana: Wallet;
  let ben: Wallet;
  before(async () => {
    t = await openFhirNode();
    ana = await registeredPatient(t.node);
    ben = await registeredPatient(t.node);
  });
  after(() => t.close());

  it('ships the entries before and after a FOREIGN_ACTOR entry, and keeps that one for the operator', async () => {
    const read = (actor: string, patient: string): AuditEvent => ({
      actor,
      patient,
      action: 'read',
      outcome: 'success',
      resourceType: 'Observation',
      purpose: 'treatment',
    });
    const trail = t.node.fhir.audit;
    // Ben's successful read of Ana's record: no node may record that in Ana's trail.
    trail.record([read(ana.did, ana.did), read(ben.did, ana.did), read(ben.did, ben.did)]);
    await trail.flush();

    const anas = await waitForAudit(t, ana.did, (entries) => entries.length >= 1);
    assert.deepEqual(
      anas.map((e: AuditRecord) => e.actor),
      [ana.did],
      "Ana's own read is on the ledger, Ben's is not",
    );
    await waitForAudit(t, ben.did, (entries) => entries.some((e) => e.actor === ben.did));
    assert.equal(t.node.fhir.index.auditBacklog(), 0, 'nothing is left to hold up the outbox');
    const refused = t.node.fhir.index.refusedAudit();
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.code, 'FOREIGN_ACTOR');
    const entry = JSON.parse(refused[0]!.entry) as AuditRecord;
    assert.equal(entry.actor, ben.did);
    assert.equal(entry.patient, ana.did);
    assert.equal(trail.setAside, 1);

    // The trail goes on: a later entry is shipped as usual.
    trail.record([read(ana.did, ana.did)]);
    await trail.flush();
    await waitForAudit(t, ana.did, (entries) => entries.length === 2);
  });
});
