/**
 * The write path after a crash: a node killed between a write's vault commit and its index
 * commit leaves vault versions the index does not know. At the next start the ledger decides —
 * a version whose anchor committed is indexed (readable, searchable, and the record takes its next
 * version), one whose anchor never committed is deleted from the vault (the id is free again).
 * The crash states are made with the node's own stores on real SQLite files, then the node is
 * closed and opened again on the same folder.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import { buildHttpServer } from '../../src/node/http/server.js';
import { RoamNode, type InitResult } from '../../src/node/index.js';
import { RECORD_KEY_LENGTH } from '../../src/vault/index.js';
import { loadWallet } from '../../src/wallet/index.js';
import { initTestNetwork, TEST_PASSPHRASE, useChain } from '../http/fixture.js';
import {
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  observation,
  registeredPatient,
  tokenOf,
  type FhirTestNode,
} from './fixture.js';

describe('FHIR API: recovery of the write path at start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'roam-fhir-recovery-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  /** The node on `dataDir` with its HTTP app, in the shape the FHIR fixture's helpers take. */
  async function open(init: InitResult): Promise<FhirTestNode> {
    const node = await RoamNode.open({ dataDir, blockLimits: { timeoutMs: 5 } });
    useChain(node.ledger.chainId);
    const app = buildHttpServer(node);
    await app.ready();
    const admin = await loadWallet(init.adminWalletPath, TEST_PASSPHRASE);
    return {
      node,
      init,
      admin,
      app,
      dataDir,
      async close() {
        await app.close();
        await node.close();
      },
    };
  }

  it('indexes the versions whose anchor committed and deletes the others', async () => {
    const init = await initTestNetwork(dataDir);
    let t = await open(init);
    const patient = await registeredPatient(t.node);
    await grantOrg(t, patient);
    let token = await tokenOf(t, patient);
    const patientId = await createPatient(t, token);
    const anchoredOnly = await fhir<{ id: string }>(
      t,
      token,
      'POST',
      'Observation',
      observation(patientId, '8867-4', '2024-05-01'),
    );
    expectStatus(anchoredOnly, 201);
    const updated = await fhir<{ id: string }>(
      t,
      token,
      'POST',
      'Observation',
      observation(patientId, '9279-1', '2024-05-02'),
    );
    expectStatus(updated, 201);

    // Killed after the anchor committed, before the index commit: vault and ledger hold version 1,
    // and the vault's pending row of it (which only the index commit clears) is still there.
    t.node.fhir.index.deleteResource(anchoredOnly.body.id);
    t.node.fhir.vault.store.db
      .prepare('INSERT INTO pending_versions (record_id, version) VALUES (?, 1)')
      .run(anchoredOnly.body.id);
    // Killed before the anchors were submitted: vault versions no anchor names (a new record,
    // and version 2 of a record the index knows at version 1).
    const vault = t.node.fhir.vault;
    const unanchored = (recordId: string, version: number) =>
      vault.writeRecordVersion({
        recordId,
        version,
        patient: patient.did,
        resourceType: 'Observation',
        class: 'general',
        epoch: 0,
        resource: { ...observation(patientId, '8310-5', '2024-05-03'), id: recordId },
        kek: randomBytes(RECORD_KEY_LENGTH),
        custodian: t.node.orgDid,
        author: patient.did,
      });
    unanchored('never-anchored', 1);
    unanchored(updated.body.id, 2);
    await t.close();

    t = await open(init);
    try {
      token = await tokenOf(t, patient);
      const read = await fhir<{ meta: { versionId: string }; code: unknown }>(
        t,
        token,
        'GET',
        `Observation/${anchoredOnly.body.id}`,
      );
      expectStatus(read, 200);
      assert.equal(read.body.meta.versionId, '1');
      const found = await fhir<Bundle>(
        t,
        token,
        'GET',
        `Observation?code=http://loinc.org|8867-4&patient=Patient/${patientId}`,
      );
      expectStatus(found, 200);
      assert.deepEqual(
        (found.body.entry ?? []).map((e) => e.resource?.id),
        [anchoredOnly.body.id],
        'the rolled-forward version is searchable',
      );
      const next = await fhir<{ meta: { versionId: string } }>(
        t,
        token,
        'PUT',
        `Observation/${anchoredOnly.body.id}`,
        {
          ...observation(patientId, '8867-4', '2024-05-04'),
          id: anchoredOnly.body.id,
        },
      );
      expectStatus(next, 200);
      assert.equal(next.body.meta.versionId, '2');

      assert.equal(t.node.fhir.vault.store.listVersions('never-anchored').length, 0);
      assert.deepEqual(
        t.node.fhir.vault.store.listVersions(updated.body.id).map((v) => v.version),
        [1],
      );
      const reused = await fhir<{ meta: { versionId: string } }>(
        t,
        token,
        'PUT',
        'Observation/never-anchored',
        {
          ...observation(patientId, '8310-5', '2024-05-05'),
          id: 'never-anchored',
        },
      );
      expectStatus(reused, 201);
      const second = await fhir<{ meta: { versionId: string } }>(
        t,
        token,
        'PUT',
        `Observation/${updated.body.id}`,
        {
          ...observation(patientId, '9279-1', '2024-05-06'),
          id: updated.body.id,
        },
      );
      expectStatus(second, 200);
      assert.equal(second.body.meta.versionId, '2');
    } finally {
      await t.close();
    }
  });
});
