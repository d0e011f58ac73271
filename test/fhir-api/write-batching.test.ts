/**
 * Group commit of the write path: creates in flight together share their anchor transaction and
 * the WAL syncs of their durable commits (made on the thread pool, src/store/wal-sync.ts), a
 * transaction Bundle is anchored by one `records.anchor` transaction with several anchors (and
 * `verifyChain` re-executes it), and when a shared anchor transaction is refused each request
 * gets its own answer: the one whose anchor the ledger refuses is rolled back, the others commit.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Observation } from '@medplum/fhirtypes';
import { applyGenesis, createContractRegistry, type RecordEntry } from '../../src/contracts/index.js';
import type { FhirError } from '../../src/fhir/index.js';
import { StateKey, createTx, signTx, verifyChain, type SignedTx } from '../../src/ledger/index.js';
import { EncryptedFhirRepository, vaultPath } from '../../src/node/fhir/index.js';
import { LedgerStore } from '../../src/store/index.js';
import { walSyncOf, type WalSync } from '../../src/store/wal-sync.js';
import type { Wallet } from '../../src/wallet/index.js';
import {
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  nodePort,
  observation,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  type FhirTestNode,
} from './fixture.js';

/** The transaction that anchors the latest version of `id`. */
function anchorTx(t: FhirTestNode, id: string): string {
  const record = t.node.ledger.getState<RecordEntry>(StateKey.record(id));
  assert.ok(record !== undefined, `record ${id} is anchored`);
  return record.latest.txId;
}

describe('FHIR API: writes in flight together share their ledger transaction', () => {
  let t: FhirTestNode;
  let patient: Wallet;
  let doctorToken: string;
  let patientId: string;

  before(async () => {
    t = await openFhirNode();
    patient = await registeredPatient(t.node);
    await grantOrg(t, patient, { access: 'write' });
    const doctor = await registeredPractitioner(t);
    doctorToken = await tokenOf(t, doctor);
    patientId = await createPatient(t, await tokenOf(t, patient));
  });
  after(async () => {
    await t.close();
  });

  it('concurrent creates all succeed, anchored by fewer transactions than creates', async () => {
    // One create first: the token is verified and the patient's keys opened, so that the next
    // ones go through the same steps together.
    expectStatus(
      await fhir(t, doctorToken, 'POST', 'Observation', observation(patientId, '8867-4', '2024-02-01')),
      201,
    );
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        fhir<Observation>(
          t,
          doctorToken,
          'POST',
          'Observation',
          observation(patientId, '8867-4', `2024-03-${String(i + 1).padStart(2, '0')}`),
        ),
      ),
    );
    for (const answer of answers) expectStatus(answer, 201);
    const txs = new Set(answers.map((a) => anchorTx(t, a.body.id!)));
    assert.ok(txs.size < answers.length, `${answers.length} creates anchored by ${txs.size} transactions`);
    for (const answer of answers) {
      const read = await fhir<Observation>(t, doctorToken, 'GET', `Observation/${answer.body.id!}`);
      expectStatus(read, 200);
      assert.equal(read.body.effectiveDateTime, answer.body.effectiveDateTime);
    }
  });

  it('a transaction Bundle is anchored by one transaction, which the chain verification re-executes', async () => {
    const entries = Array.from({ length: 30 }, (_, i) => ({
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: observation(patientId, '8310-5', `2024-04-${String(i + 1).padStart(2, '0')}`),
      request: { method: 'POST', url: 'Observation' },
    }));
    const res = await fhir<Bundle>(t, doctorToken, 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: entries,
    });
    expectStatus(res, 200);
    const ids = (res.body.entry ?? []).map((e) => (e.resource as Observation).id!);
    assert.equal(ids.length, 30);
    assert.equal(new Set(ids.map((id) => anchorTx(t, id))).size, 1);
    const tx = t.node.ledger.getTx(anchorTx(t, ids[0]!));
    const payload = (JSON.parse(tx!.envelope) as SignedTx<{ anchors?: unknown[] }>).tx.payload;
    assert.equal(payload.anchors?.length, 30);
    // Verified on a consistent copy: the live node may commit an audit batch meanwhile.
    const dir = mkdtempSync(join(tmpdir(), 'roam-verify-'));
    try {
      const copy = join(dir, 'ledger.sqlite');
      t.node.store.db.exec(`VACUUM INTO '${copy}'`);
      const store = LedgerStore.open(copy);
      try {
        const report = await verifyChain(store, { registry: createContractRegistry(), applyGenesis });
        assert.equal(report.ok, true, JSON.stringify(report));
      } finally {
        store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('FHIR API: a refused shared anchor transaction answers each request alone', () => {
  let t: FhirTestNode;
  let patientId: string;
  let principal: { did: string; kind: 'patient'; roles: never[]; org: null };

  before(async () => {
    t = await openFhirNode();
    const patient = await registeredPatient(t.node);
    await grantOrg(t, patient);
    patientId = await createPatient(t, await tokenOf(t, patient));
    principal = { did: patient.did, kind: 'patient', roles: [], org: null };
  });
  after(async () => {
    await t.close();
  });

  it('rolls back only the request whose anchor the ledger refuses', async () => {
    const node = t.node;
    const doomed = randomUUID();
    const submitted: number[] = [];
    // Every anchor of `doomed` goes to the ledger with a version it refuses (VERSION_CONFLICT).
    const spoil = (envelope: unknown): unknown => {
      const { tx } = envelope as SignedTx<Record<string, unknown>>;
      const anchors = (tx.payload['anchors'] as Record<string, unknown>[] | undefined) ?? [tx.payload];
      submitted.push(anchors.length);
      if (!anchors.some((a) => a['recordId'] === doomed)) return envelope;
      const spoilt = anchors.map((a) => (a['recordId'] === doomed ? { ...a, version: 7 } : a));
      const payload =
        spoilt.length === 1 && tx.payload['anchors'] === undefined ? spoilt[0] : { anchors: spoilt };
      return signTx(createTx({ chainId: tx.chainId, type: tx.type, signer: tx.signer, payload }), node.config.keys.node.secretKey);
    };
    const port = nodePort(t, { submit: (envelopes) => node.submit(envelopes.map(spoil)) });
    const repo = new EncryptedFhirRepository(port, node.fhir.vault, node.fhir.index, node.fhir.audit);
    const ctx = { principal, purpose: 'treatment' };
    // A first write opens the patient's record keys, so that the next ones run in step.
    await repo.create(observation(patientId, '8867-4', '2024-05-01') as never, ctx);
    submitted.length = 0;
    const ids = [randomUUID(), doomed, randomUUID()];
    const results = await Promise.allSettled(
      ids.map((id, i) =>
        repo.create(observation(patientId, '8867-4', `2024-05-0${i + 1}`) as never, ctx, { id }),
      ),
    );
    // One shared transaction of three anchors, refused; then one transaction per request.
    assert.deepEqual(submitted, [3, 1, 1, 1]);
    assert.equal(results[0]!.status, 'fulfilled');
    assert.equal(results[2]!.status, 'fulfilled');
    const refused = results[1]!;
    assert.ok(refused.status === 'rejected', 'the doomed create is refused');
    const error = refused.reason as FhirError;
    assert.equal(error.status, 409);
    assert.match(error.message, /VERSION_CONFLICT/);
    assert.equal(node.fhir.index.getResource(doomed), undefined);
    assert.equal(node.fhir.vault.store.listVersions(doomed).length, 0);
    assert.equal(node.ledger.getState(StateKey.record(doomed)), undefined);
    for (const id of [ids[0]!, ids[2]!]) {
      assert.equal(node.fhir.index.getResource(id)?.version, 1);
      assert.notEqual(node.ledger.getState(StateKey.record(id)), undefined);
    }
  });
});

describe('FHIR API: a write is answered after its commits are synced, off the main thread', () => {
  let t: FhirTestNode;
  let token: string;
  let patientId: string;
  let walSync: WalSync;
  let patientDid: string;

  before(async () => {
    t = await openFhirNode();
    const patient = await registeredPatient(t.node);
    await grantOrg(t, patient);
    patientDid = patient.did;
    token = await tokenOf(t, patient);
    patientId = await createPatient(t, token);
    walSync = walSyncOf(vaultPath(t.dataDir))!;
  });
  after(async () => {
    await t.close();
  });

  it('a create submits its anchor after its vault sync, and answers after its index sync', async () => {
    const node = t.node;
    let syncedAtSubmit: number | undefined;
    const port = nodePort(t, {
      submit: (envelopes) => {
        syncedAtSubmit ??= walSync.completed;
        return node.submit(envelopes);
      },
      cutBlock: () => node.cutBlock(),
    });
    const repo = new EncryptedFhirRepository(port, node.fhir.vault, node.fhir.index, node.fhir.audit);
    const ctx = { principal: { did: patientDid, kind: 'patient' as const, roles: [], org: null }, purpose: 'treatment' };
    for (let i = 0; i < 3; i++) {
      syncedAtSubmit = undefined;
      const before = walSync.completed;
      await repo.create(observation(patientId, '8867-4', `2024-02-0${i + 1}`) as never, ctx);
      // Read in the same turn as the answer: a sync still running could not have completed.
      const atAnswer = walSync.completed;
      assert.ok(syncedAtSubmit !== undefined && syncedAtSubmit > before, 'the vault versions were synced before the anchor went to the ledger');
      assert.ok(atAnswer > syncedAtSubmit, 'the index commit was synced before the answer');
    }
  });

  it('creates in flight together share their syncs (group commit)', async () => {
    const creates = 24;
    const before = walSync.completed;
    const answers = await Promise.all(
      Array.from({ length: creates }, (_, i) =>
        fhir<Observation>(t, token, 'POST', 'Observation', observation(patientId, '8310-5', `2024-03-${String(i + 1).padStart(2, '0')}`)),
      ),
    );
    for (const answer of answers) expectStatus(answer, 201);
    const syncs = walSync.completed - before;
    assert.ok(syncs >= 2 && syncs < creates, `${creates} creates made durable by ${syncs} WAL syncs`);
  });
});
