/**
 * No anchor points at nothing. A transaction Bundle of more versions than one `records.anchor`
 * holds (250) is anchored in several ledger transactions; before, when the ledger refused one of
 * them, the node discarded every version of the Bundle from its vault while the anchors of the
 * transactions that had committed stayed on the ledger, naming ciphertexts nobody holds (and the
 * records could take no next version: the ledger expected version 2, the node wrote 1 again).
 * Now the versions whose anchors committed are kept and indexed, and the answer says so.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RecordEntry } from '../../src/contracts/index.js';
import { FhirError, planBundle } from '../../src/fhir/index.js';
import { StateKey, createTx, signTx, type SignedTx } from '../../src/ledger/index.js';
import { ANCHORS_PER_TX } from '../../src/node/fhir/anchoring.js';
import { EncryptedFhirRepository } from '../../src/node/fhir/index.js';
import type { FhirRequestContext } from '../../src/node/fhir/request.js';
import {
  createPatient,
  grantOrg,
  nodePort,
  observation,
  openFhirNode,
  registeredPatient,
  tokenOf,
  type FhirTestNode,
} from '../fhir-api/fixture.js';

describe('security: a Bundle whose anchors partly commit leaves no anchor pointing at nothing', () => {
  let t: FhirTestNode;
  let ctx: FhirRequestContext;
  let patientId = '';
  before(async () => {
    t = await openFhirNode();
    const patient = await registeredPatient(t.node);
    await grantOrg(t, patient);
    patientId = await createPatient(t, await tokenOf(t, patient));
    ctx = { principal: { did: patient.did, kind: 'patient', roles: [], org: null }, purpose: 'treatment' };
  });
  after(() => t.close());

  it('keeps and indexes the versions whose anchors committed, and discards only the others', async () => {
    const node = t.node;
    const ids = Array.from({ length: ANCHORS_PER_TX + 5 }, () => randomUUID());
    const doomed = ids.at(-1)!;
    // The ledger refuses the transaction that holds `doomed` (its version is spoilt: VERSION_CONFLICT).
    const spoil = (envelope: unknown): unknown => {
      const { tx } = envelope as SignedTx<Record<string, unknown>>;
      const anchors = (tx.payload['anchors'] as Record<string, unknown>[] | undefined) ?? [tx.payload];
      if (!anchors.some((a) => a['recordId'] === doomed)) return envelope;
      const payload = { anchors: anchors.map((a) => (a['recordId'] === doomed ? { ...a, version: 7 } : a)) };
      return signTx(
        createTx({ chainId: tx.chainId, type: tx.type, signer: tx.signer, payload }),
        node.config.keys.node.secretKey,
      );
    };
    const port = nodePort(t, { submit: (envelopes) => node.submit(envelopes.map(spoil)) });
    const repo = new EncryptedFhirRepository(port, node.fhir.vault, node.fhir.index, node.fhir.audit);
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: ids.map((id, i) => ({
        resource: { ...observation(patientId, '8867-4', '2024-05-01', i), id },
        request: { method: 'PUT', url: `Observation/${id}` },
      })),
    };
    const plan = planBundle(bundle, { newId: repo.newId, importMode: 'strict' });
    await assert.rejects(repo.execute(plan, ctx), (error: unknown) => {
      assert.ok(error instanceof FhirError);
      assert.equal(error.status, 409);
      assert.match(error.message, /VERSION_CONFLICT/);
      assert.match(error.message, new RegExp(`${ANCHORS_PER_TX} of the request's ${ids.length} versions`));
      return true;
    });

    let anchored = 0;
    for (const id of ids) {
      const anchor = node.ledger.getState<RecordEntry>(StateKey.record(id));
      const versions = node.fhir.vault.store.listVersions(id);
      if (anchor === undefined) {
        assert.equal(versions.length, 0, `${id}: a vault version without its anchor`);
        assert.equal(node.fhir.index.getResource(id), undefined);
        continue;
      }
      anchored++;
      assert.equal(
        versions.at(-1)?.contentHash,
        anchor.latest.contentHash,
        `${id}: the anchor points at nothing`,
      );
      assert.equal(node.fhir.index.getResource(id)?.version, 1, `${id}: anchored but not served`);
    }
    assert.equal(anchored, ANCHORS_PER_TX);
    assert.equal(node.ledger.getState(StateKey.record(doomed)), undefined);
  });
});
