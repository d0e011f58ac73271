// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * Restore into a network (real nats-server cluster, real node processes, the real CLI): records
 * are written to the `eu` node in a loop; `roam backup` of the running node during the load; the
 * node stopped; `roam restore` into an empty folder; the node started from it catches up from its
 * peer and the stream from the backup's height. Then `roam ledger verify` passes on it, its head
 * equals the other node's, attestations agree, and every record acknowledged before the backup
 * began reads back identical. The writes acknowledged after the backup are anchored on the ledger
 * but their ciphertexts are not in the restored vault: the node counts them (metric, `/readyz`
 * warning with counts only) and answers a read of one with a coded 503 CIPHERTEXT_MISSING —
 * after the access decision, so another patient still gets the plain refusal — never a 404, a
 * 500 or old content. (This patient named no replica: restore-replica.int.test.ts shows the
 * versions coming back from one.)
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { nodePassphraseEnv } from '../../src/network/node-passphrase.js';
import { roamJson } from '../cli/harness.js';
import { fhir, patientKeptBy, restoreInPlace, tokenFor, writeLoop } from './records-support.js';
import { eventually, startTestNetwork, type TestNetwork } from './support.js';

const REGIONS = ['eu', 'us'] as const;
/** The CLI's backup, restore and verify re-execute the chain: more than the harness's 30 s on a busy machine. */
const CLI_TIMEOUT_MS = 180_000;

describe('roam restore of a network node', { timeout: 600_000 }, () => {
  let net: TestNetwork;
  before(async () => {
    net = await startTestNetwork(REGIONS);
  });
  after(async () => {
    await net?.close();
  });

  it('catches up from the backup height, agrees with the network, serves what was acknowledged before the backup, and reports the ciphertexts it lacks', async (t) => {
    const eu = net.file.nodes.find((n) => n.region === 'eu')!;
    const env = nodePassphraseEnv(net.dir);
    const patient = await patientKeptBy({ dir: net.dir, url: eu.url, orgDid: eu.orgDid });
    let token = patient.token;

    const loop = writeLoop({ url: () => eu.url, token: () => token, patientId: patient.patientId, clients: 2 });
    t.after(() => loop.stop()); // a failed assertion must not leave the writers looping
    while (loop.acknowledged.size < 20) await sleep(50);
    const backupDir = join(net.dir, 'eu-backup');
    const backupStarted = Date.now();
    const manifest = await roamJson<{ height: number }>(['backup', '--data', eu.dataDir, '--out', backupDir, '--include-keys'], { env, timeoutMs: CLI_TIMEOUT_MS });
    // The load goes on after the backup: these writes are on the ledger, not in the backup's vault.
    const afterBackup = loop.acknowledged.size;
    while (loop.acknowledged.size < afterBackup + 10) await sleep(50);
    await loop.stop();
    await net.kill('eu', 'SIGTERM');
    const acknowledged = [...loop.acknowledged.values()];
    const before = acknowledged.filter((a) => a.at < backupStarted);
    const later = acknowledged.filter((a) => a.at > backupStarted);
    assert.ok(before.length >= 20 && later.length >= 10);

    // Restore into an empty folder where the node's data was, and start the node from it.
    const restored = await restoreInPlace({ net, region: 'eu', dataDir: eu.dataDir, backupDir, timeoutMs: CLI_TIMEOUT_MS });
    assert.equal(restored.height, manifest.height);

    const us = await net.status('us');
    assert.ok(us.height > manifest.height, 'the network went on after the backup');
    const caughtUp = await eventually(
      () => Promise.all(REGIONS.map((r) => net.status(r))),
      ([e, u]) => e!.height === u!.height && e!.headHash === u!.headHash,
    );
    assert.ok(caughtUp[0]!.height >= us.height);
    assert.equal(caughtUp[0]!.stateRoot, caughtUp[1]!.stateRoot);
    await eventually(
      () => net.status('eu'),
      (s) => s.network?.peers.length === 1 && s.network.peers.every((p) => p.agreement === 'agrees') && s.network.diverged === false,
    );

    token = await tokenFor(patient.wallet, eu.url);
    const wrong: string[] = [];
    for (const { key, resource } of before) {
      const read = await fhir(eu.url, token, 'GET', key);
      if (read.status !== 200 || !isDeepStrictEqual(read.body, resource)) wrong.push(`${key}: ${read.status}`);
    }
    assert.deepEqual(wrong, [], 'records acknowledged before the backup began, lost or changed');

    // After the backup: identical when the vault copy caught them, else the coded 503.
    const missing: string[] = [];
    for (const { key, resource } of later) {
      const read = await fhir(eu.url, token, 'GET', key);
      if (read.status === 200) {
        assert.deepEqual(read.body, resource, key);
        continue;
      }
      assert.equal(read.status, 503, `${key}: ${JSON.stringify(read.body)}`);
      const issue = (read.body['issue'] as Array<{ code: string; details: { text: string } }>)[0]!;
      assert.equal(issue.code, 'transient');
      assert.match(issue.details.text, /^CIPHERTEXT_MISSING: /);
      missing.push(key);
    }
    t.diagnostic(`${before.length} read back; of ${later.length} acknowledged after the backup began, ${missing.length} have no ciphertext here`);
    assert.ok(missing.length > 0, 'every later write was in the backup: the test did not write after it');
    const current = await fhir(eu.url, token, 'GET', missing[0]!.split('/_history/')[0]!);
    assert.equal(current.status, 503, 'a read of the current version: the same coded 503');

    // The operator is told: a metric of the versions, a /readyz warning (the node stays ready).
    const metrics = await (await fetch(`${eu.url}/metrics`)).text();
    const counted = Number(/^roam_vault_missing_ciphertexts (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(counted >= missing.length, `metric ${counted}, ${missing.length} reads refused`);
    const ready = await fetch(`${eu.url}/readyz`);
    assert.equal(ready.status, 200);
    const readiness = (await ready.json()) as {
      status: string;
      warnings: string[];
      missingCiphertexts: { versions: number; records: number; refill: Record<string, number> };
    };
    assert.equal(readiness.status, 'ready');
    assert.deepEqual(readiness.warnings, ['CIPHERTEXT_MISSING']);
    // The detail counts what is missing and why it stays so (no replica named), never which records.
    assert.equal(readiness.missingCiphertexts.versions, counted);
    assert.deepEqual(readiness.missingCiphertexts.refill, { fromReplica: 0, withoutReplica: readiness.missingCiphertexts.versions, refused: 0 });
    assert.ok(!/did:|Observation/.test(JSON.stringify(readiness)), 'an identifier in /readyz');

    // Another patient learns nothing new: the refusal of any record not theirs, not the 503.
    const stranger = await patientKeptBy({ dir: net.dir, url: eu.url, orgDid: eu.orgDid });
    const refused = await fhir(eu.url, stranger.token, 'GET', missing[0]!);
    assert.equal(refused.status, 403);
    const known = await fhir(eu.url, stranger.token, 'GET', before[0]!.key);
    assert.equal(known.status, 403);
    assert.deepEqual(refused.body, known.body);

    await net.kill('eu', 'SIGTERM');
    const verify = await roamJson<{ ok: boolean; height: number }>(['ledger', 'verify', '--data', eu.dataDir], { timeoutMs: CLI_TIMEOUT_MS });
    assert.equal(verify.ok, true);
    assert.ok(verify.height >= us.height);
  });
});
