/**
 * `POST /fhir/R4/<type>/<id>/$erase`: the patient erases a record by crypto-shredding. Afterwards
 * reads answer 410, searches and $everything omit it, the ledger's record entry is `erased`, the
 * data folder holds none of its ciphertext, and the chain still verifies offline.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Bundle, Observation, OperationOutcome } from '@medplum/fhirtypes';
import { applyGenesis, createContractRegistry, type RecordEntry } from '../../src/contracts/index.js';
import { StateKey, verifyChain } from '../../src/ledger/index.js';
import { DataFiles } from '../../src/node/index.js';
import { vaultPath } from '../../src/node/fhir/index.js';
import { LedgerStore } from '../../src/store/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import {
  assertOutcome,
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  observation,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  waitForAudit,
  type FhirTestNode,
} from './fixture.js';

describe('FHIR API: $erase', () => {
  let t: FhirTestNode;
  let patient: Wallet;
  let patientToken: string;
  let doctorToken: string;
  let otherToken: string;
  let patientId: string;
  let erasedId: string;
  let keptId: string;

  before(async () => {
    t = await openFhirNode();
    patient = await registeredPatient(t.node);
    const doctor = await registeredPractitioner(t);
    const other = await registeredPatient(t.node);
    await grantOrg(t, patient, { access: 'write' });
    patientToken = await tokenOf(t, patient);
    doctorToken = await tokenOf(t, doctor);
    otherToken = await tokenOf(t, other);
    patientId = await createPatient(t, patientToken);
    const created = await fhir<Observation>(
      t,
      patientToken,
      'POST',
      'Observation',
      observation(patientId, '8867-4', '2024-03-01T08:00:00Z', 61),
    );
    expectStatus(created, 201);
    erasedId = created.body.id!;
    const updated = await fhir<Observation>(t, patientToken, 'PUT', `Observation/${erasedId}`, {
      ...created.body,
      valueQuantity: { value: 62, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    expectStatus(updated, 200);
    const kept = await fhir<Observation>(
      t,
      patientToken,
      'POST',
      'Observation',
      observation(patientId, '8867-4', '2024-03-02T08:00:00Z', 64),
    );
    expectStatus(kept, 201);
    keptId = kept.body.id!;
  });
  after(async () => {
    await t.close();
  });

  it('only the patient the record belongs to may erase it', async () => {
    assertOutcome(
      await fhir(t, doctorToken, 'POST', `Observation/${erasedId}/$erase`),
      403,
      /NOT_OWN_RECORD/,
    );
    assertOutcome(await fhir(t, otherToken, 'POST', `Observation/${erasedId}/$erase`), 403, /NOT_OWN_RECORD/);
    assertOutcome(await fhir(t, undefined, 'POST', `Observation/${erasedId}/$erase`), 401);
    assertOutcome(await fhir(t, patientToken, 'POST', `Condition/${erasedId}/$erase`), 404);
    assertOutcome(await fhir(t, patientToken, 'POST', `Observation/no-such-record/$erase`), 404);
    expectStatus(await fhir(t, patientToken, 'GET', `Observation/${erasedId}`), 200);
  });

  it('crypto-shreds the record: 410 afterwards, omitted from searches, erased on the ledger, no ciphertext left', async () => {
    const vault = t.node.fhir.vault;
    const versions = vault.store.listVersions(erasedId);
    assert.equal(versions.length, 2);
    const hashes = versions.map((v) => v.contentHash);
    const blobs = versions.map((v) => vault.readCiphertext(erasedId, v.version).blob);

    const res = await fhir<OperationOutcome>(t, patientToken, 'POST', `Observation/${erasedId}/$erase`);
    expectStatus(res, 200);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.match(JSON.stringify(res.body.issue), /erased/);

    assertOutcome(await fhir(t, patientToken, 'GET', `Observation/${erasedId}`), 410);
    assertOutcome(await fhir(t, patientToken, 'GET', `Observation/${erasedId}/_history/1`), 410);
    assertOutcome(await fhir(t, patientToken, 'GET', `Observation/${erasedId}/_history`), 410);
    assertOutcome(await fhir(t, patientToken, 'POST', `Observation/${erasedId}/$erase`), 410);
    const search = await fhir<Bundle>(t, patientToken, 'GET', `Observation?patient=Patient/${patientId}`);
    expectStatus(search, 200);
    assert.deepEqual(
      (search.body.entry ?? []).map((e) => e.resource?.id),
      [keptId],
    );
    const byId = await fhir<Bundle>(t, patientToken, 'GET', `Observation?_id=${erasedId}`);
    assert.equal(byId.body.total, 0);
    const everything = await fhir<Bundle>(t, patientToken, 'GET', `Patient/${patientId}/$everything`);
    expectStatus(everything, 200);
    const ids = (everything.body.entry ?? []).map((e) => e.resource?.id);
    assert.ok(!ids.includes(erasedId));
    assert.ok(ids.includes(keptId));
    // An update cannot bring it back.
    const revived = await fhir(t, patientToken, 'PUT', `Observation/${erasedId}`, {
      ...observation(patientId, '8867-4', '2024-03-01T08:00:00Z', 63),
      id: erasedId,
    });
    assertOutcome(revived, 410);

    // The ledger marks it erased (only the pointer and the hash remain).
    const entry = t.node.ledger.getState<RecordEntry>(StateKey.record(erasedId));
    assert.equal(entry?.status, 'erased');
    assert.equal(t.node.ledger.getState<RecordEntry>(StateKey.record(keptId))?.status, 'active');

    // No ciphertext or wrapped key of it in vault.sqlite, and no bytes of it in the data folder.
    const db = new Database(vaultPath(t.dataDir), { readonly: true, fileMustExist: true });
    try {
      for (const hash of hashes) {
        const row = db.prepare('SELECT COUNT(*) AS n FROM blobs WHERE hash = ?').get(hash) as { n: number };
        assert.equal(row.n, 0, `blob ${hash} is still stored`);
      }
      const left = db
        .prepare('SELECT COUNT(*) AS n FROM record_versions WHERE record_id = ?')
        .get(erasedId) as {
        n: number;
      };
      assert.equal(left.n, 0);
      const tomb = db.prepare('SELECT versions FROM erasures WHERE record_id = ?').get(erasedId) as
        { versions: number } | undefined;
      assert.equal(tomb?.versions, 2);
    } finally {
      db.close();
    }
    const files = [vaultPath(t.dataDir), `${vaultPath(t.dataDir)}-wal`].filter((f) => existsSync(f));
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const blob of blobs) {
        const probe = Buffer.from(blob.subarray(blob.length >> 1, (blob.length >> 1) + 32));
        assert.equal(bytes.indexOf(probe), -1, `ciphertext of ${erasedId} found in ${file}`);
      }
    }

    await waitForAudit(t, patient.did, (entries) =>
      entries.some((e) => e.action === 'erase' && e.recordId === erasedId && e.outcome === 'success'),
    );
  });

  it('the chain still verifies offline, the records.erase transaction included', async () => {
    await t.node.fhir.audit.flush();
    // A consistent copy: the live node may commit an audit batch while the chain is replayed.
    const copy = `${DataFiles.store(t.dataDir)}.verify-copy`;
    t.node.store.db.exec(`VACUUM INTO '${copy}'`);
    const store = LedgerStore.open(copy, { readonly: true });
    try {
      const report = await verifyChain(store, { registry: createContractRegistry(), applyGenesis });
      assert.equal(report.ok, true, JSON.stringify(report));
      const height = store.head()?.height ?? 0;
      const erasures: Array<{ type: string; signer: string; payload: unknown; code: string }> = [];
      for (let h = 1; h <= height; h++) {
        for (const tx of store.getBlockTxs(h)) {
          const parsed = JSON.parse(tx.envelope) as {
            tx: { type: string; signer: string; payload: unknown };
          };
          if (parsed.tx.type === 'records.erase') erasures.push({ ...parsed.tx, code: tx.code });
        }
      }
      assert.equal(erasures.length, 1);
      assert.equal(erasures[0]?.signer, t.node.did);
      assert.deepEqual(erasures[0]?.payload, { recordId: erasedId });
      assert.equal(erasures[0]?.code, 'OK');
    } finally {
      store.close();
      rmSync(copy, { force: true });
    }
  });
});
