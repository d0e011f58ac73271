/**
 * The audit outbox survives a restart: entries left in `fhir_audit_outbox` when the node stopped
 * are shipped as `audit.batch` when it starts again, and deleted once committed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AuditEntry, AuditRecord } from '../../src/contracts/index.js';
import { StateKey } from '../../src/ledger/index.js';
import { vaultPath } from '../../src/node/fhir/index.js';
import { initNetwork, RoamNode } from '../../src/node/index.js';
import { FhirIndexStore } from '../../src/store/index.js';
import { useChain } from '../http/fixture.js';
import { registeredPatient } from './fixture.js';

describe('FHIR API: audit outbox', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'roam-fhir-audit-'));
  after(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('ships entries left in the outbox at the next start', async () => {
    await initNetwork({
      dataDir,
      orgName: 'Clinic of Test',
      region: 'eu-west',
      adminPassphrase: 'test passphrase 1234',
      host: '127.0.0.1',
      port: 0,
      publicUrl: 'https://clinic.test:8080',
      walletKdf: { N: 32768, r: 8, p: 1 },
    });
    let node = await RoamNode.open({ dataDir, blockLimits: { timeoutMs: 5 } });
    useChain(node.ledger.chainId);
    const patient = await registeredPatient(node);
    await node.close();

    // Left behind by a node that stopped before shipping.
    const entry: AuditEntry = {
      id: randomUUID(),
      actor: patient.did,
      patient: patient.did,
      action: 'read',
      resourceType: 'Observation',
      outcome: 'success',
      purpose: 'treatment',
      at: Date.now(),
    };
    const index = FhirIndexStore.open(vaultPath(dataDir));
    index.appendAudit([JSON.stringify(entry)]);
    index.close();

    node = await RoamNode.open({ dataDir, blockLimits: { timeoutMs: 5 } });
    try {
      const until = Date.now() + 10_000;
      let found: AuditRecord | undefined;
      while (found === undefined && Date.now() < until) {
        found = node.ledger
          .rangeState<AuditRecord>(StateKey.auditPrefix(patient.did))
          .map(([, v]) => v)
          .find((e) => e.id === entry.id);
        if (found === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(found, 'the leftover entry reached the ledger');
      assert.equal(found.recordedBy, node.did);
      await node.fhir.audit.flush();
      assert.equal(node.fhir.index.auditBacklog(), 0);
    } finally {
      await node.close();
    }
  });
});
