/**
 * Every audit entry reaches the ledger once. Before, an `audit.batch` that committed while its
 * rows stayed in the outbox — the node killed before deleting them, or a commit the shipper
 * stopped waiting for — was shipped again in a new batch at the next tick (the first at the next
 * start), and the patient's trail showed the access twice. Now the signed batch is remembered as
 * in flight before it is submitted, and settled by submitting that same envelope again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditTrail, type AuditEvent, type AuditLedger } from '../../src/node/fhir/audit.js';
import { FhirIndexStore } from '../../src/store/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import { openFhirNode, registeredPatient, waitForAudit, type FhirTestNode } from '../fhir-api/fixture.js';

describe('security: an audit entry is recorded on the ledger once', () => {
  let t: FhirTestNode;
  let ana: Wallet;
  const dir = mkdtempSync(join(tmpdir(), 'roam-audit-once-'));
  before(async () => {
    t = await openFhirNode();
    ana = await registeredPatient(t.node);
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('does not ship again a batch that committed while the shipper no longer waited for it', async () => {
    // A trail of its own (its own outbox file), so that the node's shipper does not take the rows.
    const outbox = FhirIndexStore.open(join(dir, 'outbox.sqlite'));
    let lateAnswers = 1;
    const ledger: AuditLedger = {
      did: t.node.did,
      chainId: t.node.ledger.chainId,
      secretKey: t.node.config.keys.node.secretKey,
      submit: (envelopes) => t.node.submit(envelopes),
      // The first commit is answered too late: the batch committed, the shipper gave up waiting.
      async waitForCommit(id, ms) {
        const committed = await t.node.waitForCommit(id, ms);
        if (lateAnswers-- > 0) throw new Error(`transaction ${id} not committed within ${ms} ms`);
        return committed;
      },
      isPatient: () => true,
    };
    const trail = new AuditTrail(outbox, ledger);
    const read: AuditEvent = {
      actor: ana.did,
      patient: ana.did,
      action: 'read',
      outcome: 'success',
      purpose: 'treatment',
    };
    try {
      trail.record([read]);
      await trail.flush().catch(() => undefined);
      const [first] = await waitForAudit(t, ana.did, (entries) => entries.length >= 1);
      // The next ticks.
      await trail.flush();
      await trail.flush();
      assert.equal(outbox.auditBacklog(), 0, 'the outbox is empty once the batch is known to have committed');
      const entries = await waitForAudit(t, ana.did, () => true);
      assert.deepEqual(
        entries.map((e) => e.id),
        [first!.id],
        'the access is on the ledger once',
      );
    } finally {
      await trail.close();
      outbox.close();
    }
  });
});
