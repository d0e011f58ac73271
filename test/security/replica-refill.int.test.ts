// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test", "before", "after"], "package": "node:test" }] }] */
/**
 * Attacks on the refill of a restored custodian (real nodes and HTTP on 127.0.0.1, one chain):
 * eu keeps the patient's records, us is the patient's replica, ap holds the patient's write grant.
 * eu "restored from a backup" lacks the ciphertexts of versions written after it (their vault and
 * index rows are removed, as a restored vault never had them). Then:
 * - ap, not the custodian (though it holds a write grant), asks us for a version: the answer is
 *   exactly the one of a version that does not exist, and the refusal is audited for the patient;
 * - us holds altered bytes: eu refuses them (hash check), stores nothing, and the gap stays;
 * - a hostile server where us listens answers another record's ciphertext: refused, nothing stored;
 * - us holds the true version: eu stores it, reads it identical, finds it by search, the gap clears;
 * - a record updated twice after the backup: every version comes back, each vread identical;
 * - us answers version 1's bytes as version 2 and version 2's as version 3: both refused (the hash
 *   check, against the latest anchor in state and an older one in its anchoring transaction);
 * - ap asks us for an old version: the answer of a version that does not exist;
 * - the patient erases the record: us deletes every version it holds.
 * The test drives the refill's passes itself (no planned passes), to see each pass's counts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { signNodeRequest } from '../../src/node/roaming/index.js';
import { REPLICA_REFILL_PATH } from '../../src/node/replica/refill-wire.js';
import type { ShippedVersion } from '../../src/node/replica/wire.js';
import { heldCopyOf, shippedOf } from '../../src/node/replica/receiver.js';
import { replicaPath } from '../../src/node/replica/node-replica.js';
import { RefillLog } from '../../src/store/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import { commit } from '../auth/fixture.js';
import { roam } from '../cli/harness.js';
import { envelope } from '../http/fixture.js';
import { expectStatus, fhir, grantOrg, observation, registeredPatient, registeredPractitioner, tokenOf, waitForAudit } from '../fhir-api/fixture.js';
import { createTravellerPatient, openNetwork, type RegionNode, type TestNetwork } from '../roaming/fixture.js';

/** What a vault restored from a backup taken before `id` was written lacks: its versions (vault) and its index rows. */
function loseAsByRestore(holder: RegionNode, id: string): void {
  const db = holder.node.fhir.vault.store.db;
  const hashes = db.prepare<[string], { hash: string }>('SELECT content_hash AS hash FROM record_versions WHERE record_id = ?').all(id);
  db.transaction(() => {
    db.prepare('DELETE FROM record_versions WHERE record_id = ?').run(id);
    db.prepare('DELETE FROM pending_versions WHERE record_id = ?').run(id);
    for (const { hash } of hashes) db.prepare('DELETE FROM blobs WHERE hash = ?').run(hash);
  })();
  holder.node.fhir.index.deleteResource(id);
  holder.node.fhir.findMissingCiphertexts();
}

/** The replica's held copy of `id` as the version it would answer. */
function heldVersion(replica: RegionNode, id: string): ShippedVersion {
  const held = replica.node.replica.store.get(id);
  assert.ok(held, `the replica holds no copy of ${id}`);
  return shippedOf(held);
}

async function askRefill(from: RegionNode, to: RegionNode, versions: ReadonlyArray<{ id: string; version: number }>) {
  const payload = JSON.stringify({ versions });
  const headers = signNodeRequest({
    method: 'POST',
    path: REPLICA_REFILL_PATH,
    body: payload,
    node: from.node.did,
    secretKey: from.node.config.keys.node.secretKey,
    audience: to.node.did,
  });
  const res = await to.app.inject({ method: 'POST', url: REPLICA_REFILL_PATH, headers: { ...headers, 'content-type': 'application/json' }, payload });
  return { status: res.statusCode, body: res.json<{ results?: Array<{ id: string; version: number; status: string; record?: unknown }> }>() };
}

describe('refill of a restored custodian from the replica: attacks', () => {
  let net: TestNetwork;
  let eu: RegionNode;
  let us: RegionNode;
  let ap: RegionNode;
  let patient: Wallet;
  let tokEu = '';
  const created = new Map<string, Record<string, unknown>>();
  let obsId = '';
  let otherObsId = '';
  let patientId = '';
  let historyId = '';
  const history: Array<Record<string, unknown>> = [];

  /** Waits until us holds exactly `versions` of `id` and eu has nothing left to ship. */
  async function replicaHolds(id: string, versions: readonly number[]): Promise<void> {
    await net.settle();
    const until = Date.now() + 15_000;
    while (eu.node.replica.backlog > 0 || us.node.replica.store.versionsOf(id).join() !== versions.join()) {
      assert.ok(Date.now() < until, `eu did not ship versions ${versions.join()} to us in time`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Every version of the history record reads back identical at eu (vread), and the current one too. */
  async function readsBackEveryVersion(): Promise<void> {
    for (const [i, resource] of history.entries()) {
      const read = await fhir(eu, tokEu, 'GET', `Observation/${historyId}/_history/${i + 1}`);
      expectStatus(read, 200);
      assert.deepEqual(read.body, resource);
    }
    const current = await fhir(eu, tokEu, 'GET', `Observation/${historyId}`);
    expectStatus(current, 200);
    assert.deepEqual(current.body, history.at(-1));
  }

  before(async () => {
    net = await openNetwork([
      { name: 'EU Hospital', region: 'eu' },
      { name: 'US Clinic', region: 'us' },
      { name: 'AP Lab', region: 'ap' },
    ]);
    [eu, us, ap] = net.nodes as [RegionNode, RegionNode, RegionNode];
    eu.node.replica.refill.stopPlanning();
    patient = await registeredPatient(eu.node);
    for (const holder of [eu, us, ap]) await grantOrg(holder, patient);
    await commit(eu.node, envelope(patient, 'records.replica', { replica: us.node.orgDid }));
    await net.settle();
    tokEu = await tokenOf(eu, await registeredPractitioner(eu));
    patientId = await createTravellerPatient(eu, tokEu, patient.did);
    for (const date of ['2026-01-10', '2026-01-12']) {
      const answer = await fhir<Record<string, unknown> & { id: string }>(eu, tokEu, 'POST', 'Observation', observation(patientId, '8867-4', date));
      expectStatus(answer, 201);
      created.set(answer.body.id, answer.body);
    }
    [obsId, otherObsId] = [...created.keys()] as [string, string];
    await net.settle();
    const until = Date.now() + 15_000;
    while (eu.node.replica.backlog > 0 || [obsId, otherObsId].some((id) => us.node.replica.store.get(id) === undefined)) {
      assert.ok(Date.now() < until, 'eu did not ship its versions to us in time');
      await new Promise((r) => setTimeout(r, 20));
    }
    loseAsByRestore(eu, obsId);
    loseAsByRestore(eu, otherObsId);
    assert.equal(eu.node.fhir.missingCiphertexts.missingVersions, 2);
  });

  after(async () => {
    await net?.close();
  });

  test('an organization that is not the custodian (though it holds a write grant) gets the answer of an unknown version, audited', async () => {
    const unknownId = '00000000-0000-4000-8000-000000000000';
    const asked = await askRefill(ap, us, [{ id: obsId, version: 1 }]);
    const unknown = await askRefill(ap, us, [{ id: unknownId, version: 1 }]);
    assert.equal(asked.status, 200, JSON.stringify(asked.body));
    assert.equal(unknown.status, asked.status);
    assert.deepEqual(asked.body, { results: [{ id: obsId, version: 1, status: 'absent' }] });
    assert.deepEqual(unknown.body, { results: [{ id: unknownId, version: 1, status: 'absent' }] });
    // The custodian itself gets what us holds: the refusal above is about who asks, not what is held.
    const custodian = await askRefill(eu, us, [{ id: obsId, version: 1 }]);
    assert.equal(custodian.body.results?.[0]?.status, 'found');
    await waitForAudit(us, patient.did, (entries) =>
      entries.some((e) => e.actor === ap.node.did && e.outcome === 'denied' && e.recordId === obsId),
    );
  });

  test('the replica answers bytes that do not hash to the anchor: refused, nothing stored, the gap stays', async () => {
    const genuine = us.node.replica.store.get(obsId);
    assert.ok(genuine);
    const version = heldVersion(us, obsId);
    const bytes = Buffer.from(version.ciphertext, 'base64url');
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    us.node.replica.store.erase(obsId);
    us.node.replica.store.put(heldCopyOf({ ...version, ciphertext: bytes.toString('base64url') }, new Uint8Array(bytes), genuine.anchorTx));
    try {
      const pass = await eu.node.replica.refill.pass();
      assert.equal(pass.stored, 1, 'the other record, held intact, is taken back');
      assert.equal(pass.refused, 1);
      assert.equal(eu.node.fhir.vault.store.getVersion(obsId, 1), undefined);
      assert.equal(eu.node.fhir.missingCiphertexts.missingVersions, 1);
      const read = await fhir(eu, tokEu, 'GET', `Observation/${obsId}`);
      assert.equal(read.status, 503);
    } finally {
      us.node.replica.store.erase(obsId);
      us.node.replica.store.put(genuine);
    }
  });

  test('the true version is taken back: read identical, found by search, the gap and the /readyz warning gone', async () => {
    const pass = await eu.node.replica.refill.pass();
    assert.equal(pass.stored, 1);
    assert.equal(eu.node.fhir.missingCiphertexts.missingVersions, 0);
    for (const [id, resource] of created) {
      const read = await fhir(eu, tokEu, 'GET', `Observation/${id}`);
      expectStatus(read, 200);
      assert.deepEqual(read.body, resource);
    }
    const search = await fhir<{ entry?: Array<{ resource: { id: string } }> }>(eu, tokEu, 'GET', `Observation?patient=Patient/${patientId}`);
    expectStatus(search, 200);
    const found = (search.body.entry ?? []).map((e) => e.resource.id).sort();
    assert.deepEqual(found, [...created.keys()].sort());
    const ready = await eu.app.inject({ method: 'GET', url: '/readyz' });
    assert.deepEqual(ready.json(), { status: 'ready' });
    const metrics = (await eu.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^roam_vault_missing_ciphertexts 0$/m);
    assert.match(metrics, /^roam_replica_outbox_depth 0$/m);
  });

  test('a record updated twice after the backup: every version comes back, each vread identical', async () => {
    const first = await fhir<Record<string, unknown> & { id: string }>(eu, tokEu, 'POST', 'Observation', observation(patientId, '8867-4', '2026-01-14'));
    expectStatus(first, 201);
    historyId = first.body.id;
    history.push(first.body);
    for (const status of ['amended', 'corrected']) {
      const updated = await fhir<Record<string, unknown>>(eu, tokEu, 'PUT', `Observation/${historyId}`, { ...first.body, status });
      expectStatus(updated, 200);
      history.push(updated.body);
    }
    await replicaHolds(historyId, [1, 2, 3]);
    loseAsByRestore(eu, historyId);
    assert.equal(eu.node.fhir.missingCiphertexts.missingVersions, 3);
    const pass = await eu.node.replica.refill.pass();
    assert.deepEqual(pass, { stored: 3, absent: 0, refused: 0, unreachable: 0 });
    assert.equal(eu.node.fhir.missingCiphertexts.missingVersions, 0);
    await readsBackEveryVersion();
  });

  test('the replica answers version 1 as version 2 and version 2 as version 3: both refused by the hash check, the gaps stay', async () => {
    const genuine = [1, 2, 3].map((v) => us.node.replica.store.get(historyId, v));
    const [v1, v2, v3] = genuine;
    assert.ok(v1 && v2 && v3);
    loseAsByRestore(eu, historyId);
    us.node.replica.store.erase(historyId);
    us.node.replica.store.put(v1);
    // Earlier bytes under a later version number, each with that later version's anchoring transaction.
    us.node.replica.store.put({ ...v1, version: 2, anchorTx: v2.anchorTx });
    us.node.replica.store.put({ ...v2, version: 3, anchorTx: v3.anchorTx });
    try {
      const pass = await eu.node.replica.refill.pass();
      assert.deepEqual(pass, { stored: 1, absent: 0, refused: 2, unreachable: 0 });
      assert.deepEqual(eu.node.fhir.missingCiphertexts.missingList().map((m) => m.version), [2, 3]);
      assert.equal(eu.node.fhir.vault.store.getVersion(historyId, 2), undefined);
      assert.equal((await fhir(eu, tokEu, 'GET', `Observation/${historyId}/_history/2`)).status, 503);
      assert.equal((await fhir(eu, tokEu, 'GET', `Observation/${historyId}`)).status, 503);

      // The operator's list: record, version, the patient's replica, the last attempt and its outcome.
      const listed = await roam(['replica', 'status', '--data', eu.dataDir, '--json']);
      assert.equal(listed.status, 0, listed.stderr);
      const status = JSON.parse(listed.stdout) as { missing: number; gaps: Array<Record<string, unknown>> };
      assert.equal(status.missing, 2);
      assert.deepEqual(
        status.gaps.map(({ recordId, version, replica, outcome }) => ({ recordId, version, replica, outcome })),
        [2, 3].map((version) => ({ recordId: historyId, version, replica: us.node.orgDid, outcome: 'REPLICA_HASH_MISMATCH' })),
      );
      assert.ok(status.gaps.every((gap) => typeof gap['lastAttempt'] === 'string'));
      const human = await roam(['replica', 'status', '--data', eu.dataDir]);
      assert.match(human.stdout, /missing versions:\s+2/);
      assert.match(human.stdout, new RegExp(`${historyId}\\s+3\\s+${us.node.orgDid}`));
    } finally {
      us.node.replica.store.erase(historyId);
      for (const held of genuine) if (held !== undefined) us.node.replica.store.put(held);
    }
    const again = await eu.node.replica.refill.pass();
    assert.deepEqual(again, { stored: 2, absent: 0, refused: 0, unreachable: 0 });
    await readsBackEveryVersion();
    assert.deepEqual(RefillLog.read(replicaPath(eu.dataDir))?.gaps, [], 'the list the operator reads is empty again');
  });

  test('an organization that is not the custodian asks for an old version: the answer of one that does not exist', async () => {
    const unknownId = '00000000-0000-4000-8000-000000000001';
    const asked = await askRefill(ap, us, [{ id: historyId, version: 1 }]);
    const unknown = await askRefill(ap, us, [{ id: unknownId, version: 1 }]);
    const unknownVersion = await askRefill(eu, us, [{ id: historyId, version: 9 }]);
    assert.equal(asked.status, 200);
    assert.equal(unknown.status, asked.status);
    assert.deepEqual(asked.body, { results: [{ id: historyId, version: 1, status: 'absent' }] });
    assert.deepEqual(unknown.body, { results: [{ id: unknownId, version: 1, status: 'absent' }] });
    assert.deepEqual(unknownVersion.body, { results: [{ id: historyId, version: 9, status: 'absent' }] });
    const custodian = await askRefill(eu, us, [{ id: historyId, version: 1 }]);
    assert.equal(custodian.body.results?.[0]?.status, 'found');
  });

  test('the patient erases the record: the replica deletes every version it holds', async () => {
    assert.deepEqual(us.node.replica.store.versionsOf(historyId), [1, 2, 3]);
    await commit(eu.node, envelope(patient, 'records.erase', { recordId: historyId }));
    await net.settle();
    const until = Date.now() + 15_000;
    while (us.node.replica.store.versionsOf(historyId).length > 0) {
      assert.ok(Date.now() < until, 'the replica still holds versions of the erased record');
      await new Promise((r) => setTimeout(r, 20));
    }
    const rows = us.node.replica.store.count();
    assert.equal(us.node.replica.store.get(historyId), undefined);
    assert.equal(us.node.replica.store.get(historyId, 1), undefined);
    assert.ok(rows >= 1, 'the other records are still held');
  });

  test('a hostile server where the replica listens answers another record’s ciphertext: refused, nothing stored', async () => {
    const missingBefore = eu.node.fhir.missingCiphertexts.missingVersions;
    loseAsByRestore(eu, otherObsId);
    const other = heldVersion(us, obsId); // a genuine version, of another record than the one asked
    const answers = [
      { id: otherObsId, version: 1, status: 'found', record: other }, // another record id
      { id: otherObsId, version: 1, status: 'found', record: { ...other, id: otherObsId } }, // relabelled: its bytes do not hash to the anchor
    ];
    const port = Number(new URL(us.url).port);
    await us.stopHttp();
    let served = 0;
    const hostile: Server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const answer = answers[Math.min(served++, answers.length - 1)];
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results: [answer] }));
      });
    });
    await new Promise<void>((resolve) => hostile.listen(port, '127.0.0.1', resolve));
    try {
      for (let i = 0; i < answers.length; i++) {
        // A pooled keep-alive connection to the stopped server can still be tried first on a busy
        // machine (reset: unreachable, nothing asked). Only the hostile server's answers count.
        let pass = await eu.node.replica.refill.pass();
        for (let retry = 0; retry < 3 && pass.unreachable === 1 && served === i; retry++) {
          pass = await eu.node.replica.refill.pass();
        }
        assert.deepEqual(pass, { stored: 0, absent: 0, refused: 1, unreachable: 0 }, `answer ${i}`);
      }
      assert.equal(served, answers.length);
      assert.equal(eu.node.fhir.vault.store.getVersion(otherObsId, 1), undefined);
      assert.equal(eu.node.fhir.missingCiphertexts.missingVersions, missingBefore + 1);
      assert.equal(eu.node.fhir.index.getResource(otherObsId), undefined);
    } finally {
      await new Promise<void>((resolve) => hostile.close(() => resolve()));
    }
  });
});
