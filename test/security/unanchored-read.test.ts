/**
 * A version is served only once its anchor committed: while an update waits for its anchor's
 * block, reads and searches answer the version the index names (the anchored one), never the
 * newer ciphertext the vault already holds — that version may still be refused by the ledger
 * and deleted again. (Before, a read decrypted the vault's latest version, anchored or not.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Observation } from '@medplum/fhirtypes';
import type { CommittedTx } from '../../src/ledger/index.js';
import { EncryptedFhirRepository } from '../../src/node/fhir/index.js';
import {
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  nodePort,
  observation,
  openFhirNode,
  registeredPatient,
  tokenOf,
  type FhirTestNode,
} from '../fhir-api/fixture.js';

describe('a record version waiting for its anchor is not served', () => {
  let t: FhirTestNode;
  before(async () => {
    t = await openFhirNode();
  });
  after(async () => {
    await t.close();
  });

  it('reads and searches answer the anchored version until the new one commits', async () => {
    const patient = await registeredPatient(t.node);
    await grantOrg(t, patient);
    const token = await tokenOf(t, patient);
    const patientId = await createPatient(t, token);
    const created = await fhir<Observation>(t, token, 'POST', 'Observation', observation(patientId, '8867-4', '2024-03-01', 61));
    expectStatus(created, 201);
    const id = created.body.id!;

    // An update whose anchor commits only when the test lets it.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const node = t.node;
    const port = nodePort(t, {
      waitForCommit: async (txId: string, ms: number): Promise<CommittedTx> => {
        await held;
        return node.waitForCommit(txId, ms);
      },
    });
    const repo = new EncryptedFhirRepository(port, node.fhir.vault, node.fhir.index, node.fhir.audit);
    const principal = { did: patient.did, kind: 'patient' as const, roles: [], org: null };
    const updating = repo.update(
      'Observation',
      id,
      { ...observation(patientId, '8867-4', '2024-03-01', 99), id } as never,
      {},
      { principal, purpose: 'treatment' },
    );
    // The new version's ciphertext is in the vault, its anchor not committed.
    for (let i = 0; i < 200 && node.fhir.vault.store.listVersions(id).length < 2; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(node.fhir.vault.store.listVersions(id).length, 2, 'the update reached the vault');

    const read = await fhir<Observation>(t, token, 'GET', `Observation/${id}`);
    expectStatus(read, 200);
    assert.equal(read.body.meta?.versionId, '1');
    assert.equal(read.body.valueQuantity?.value, 61);
    const search = await fhir<Bundle<Observation>>(t, token, 'GET', `Observation?patient=${patientId}`);
    expectStatus(search, 200);
    const found = search.body.entry?.map((e) => e.resource).find((r) => r?.id === id);
    assert.equal(found?.meta?.versionId, '1');
    assert.equal(found?.valueQuantity?.value, 61);

    release();
    await updating;
    const after = await fhir<Observation>(t, token, 'GET', `Observation/${id}`);
    assert.equal(after.body.meta?.versionId, '2');
    assert.equal(after.body.valueQuantity?.value, 99);
  });
});
