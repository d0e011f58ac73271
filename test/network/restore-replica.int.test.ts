// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * Restore of a custodian whose patient named a replica (real nats-server cluster, real node
 * processes, the real CLI): the patient kept by `eu` names `us` its replica; records are written
 * to eu in a loop (eu ships each version to us); `roam backup` of the running eu during the load;
 * more writes after it, all replicated; eu stopped, `roam restore` into an empty folder, eu
 * started from it. One record is also created and updated 3 times after the backup. us is down
 * when eu restarts: eu's first refill pass finds no one to ask (`unreachable`, listed by `roam
 * replica status`); us comes back and eu's refill, retrying with backoff, takes the versions
 * written after the backup back from us without a restart (signed refill requests, each version
 * checked against its anchor on eu's ledger — an older version against the anchor in its
 * `records.anchor` transaction): every write acknowledged before and after the backup reads back
 * identical, every version of the updated record too (vread), a search finds every one, the
 * missing-ciphertext metric and the replica outbox return to 0, /readyz drops its warning, and
 * `roam ledger verify` passes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { NetworkFiles } from '../../src/network/network.js';
import { nodePassphraseEnv } from '../../src/network/node-passphrase.js';
import { roamJson, writeGrantArgs } from '../cli/harness.js';
import { fhir, heldCopies, observation, patientKeptBy, restoreInPlace, tokenFor, writeLoop } from './records-support.js';
import { eventually, startTestNetwork, type TestNetwork } from './support.js';

const REGIONS = ['eu', 'us'] as const;
/** The CLI's backup, restore and verify re-execute the chain: more than the harness's 30 s on a busy machine. */
const CLI_TIMEOUT_MS = 180_000;

/** The value of an unlabelled gauge in a node's /metrics text. */
async function gaugeOf(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
}

describe('roam restore of a custodian whose patient named a replica', { timeout: 600_000 }, () => {
  let net: TestNetwork;
  before(async () => {
    net = await startTestNetwork(REGIONS);
  });
  after(async () => {
    await net?.close();
  });

  it('takes back from the replica every version written after the backup: all writes read back identical and are found again', async (t) => {
    const eu = net.file.nodes.find((n) => n.region === 'eu')!;
    const us = net.file.nodes.find((n) => n.region === 'us')!;
    const env = nodePassphraseEnv(net.dir);
    const patient = await patientKeptBy({ dir: net.dir, url: eu.url, orgDid: eu.orgDid });
    await roamJson([...writeGrantArgs(us.orgDid), '--wallet', patient.wallet, '--node', eu.url]);
    await roamJson(['replica', 'set', '--org', us.orgDid, '--wallet', patient.wallet, '--node', eu.url]);
    let token = patient.token;

    const loop = writeLoop({ url: () => eu.url, token: () => token, patientId: patient.patientId, clients: 2 });
    t.after(() => loop.stop()); // a failed assertion must not leave the writers looping
    while (loop.acknowledged.size < 15) await sleep(50);
    const backupDir = join(net.dir, 'eu-backup');
    const backupStarted = Date.now();
    const manifest = await roamJson<{ height: number }>(['backup', '--data', eu.dataDir, '--out', backupDir, '--include-keys'], { env, timeoutMs: CLI_TIMEOUT_MS });
    const afterBackup = loop.acknowledged.size;
    while (loop.acknowledged.size < afterBackup + 10) await sleep(50);
    await loop.stop();
    // One record with versions 1–4, all written after the backup: each must come back, not only the latest.
    const versions: Array<Record<string, unknown>> = [];
    const created = await fhir(eu.url, token, 'POST', 'Observation', observation(patient.patientId, 9_000));
    assert.equal(created.status, 201);
    versions.push(created.body);
    const trackedId = created.body['id'] as string;
    for (const status of ['amended', 'corrected', 'entered-in-error']) {
      const updated = await fhir(eu.url, token, 'PUT', `Observation/${trackedId}`, { ...created.body, status });
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      versions.push(updated.body);
    }
    const acknowledged = [...loop.acknowledged.values()];
    const later = acknowledged.filter((a) => a.at > backupStarted);
    assert.ok(later.length >= 10);
    // Replicated: us holds every version acknowledged (eu shipped them) before eu goes down.
    const recordIdOf = (key: string) => key.split('/')[1]!;
    await eventually(
      () => Promise.resolve(new Set(heldCopies(us.dataDir).map((r) => `${r.record_id}/${r.version}`))),
      (held) => acknowledged.every((a) => held.has(`${recordIdOf(a.key)}/${a.key.split('/')[3]!}`)) && [1, 2, 3, 4].every((v) => held.has(`${trackedId}/${v}`)),
    );
    await net.kill('eu', 'SIGTERM');
    // The replica is down when eu restarts: the refill must fill the gap later, without a restart.
    await net.kill('us', 'SIGTERM');

    const restored = await restoreInPlace({ net, region: 'eu', dataDir: eu.dataDir, backupDir, timeoutMs: CLI_TIMEOUT_MS });
    assert.equal(restored.height, manifest.height);
    const unanswered = await eventually(
      () => roamJson<{ missing: number; gaps: Array<{ recordId: string; version: number; replica: string | null; outcome: string | null }> }>(['replica', 'status', '--data', eu.dataDir, '--json']),
      (status) => status.missing > 0 && status.gaps.every((gap) => gap.outcome === 'unreachable'),
      60_000,
    );
    assert.ok(unanswered.gaps.every((gap) => gap.replica === us.orgDid));
    assert.deepEqual(unanswered.gaps.filter((gap) => gap.recordId === trackedId).map((gap) => gap.version), [1, 2, 3, 4]);
    assert.ok((await gaugeOf(eu.url, 'roam_vault_missing_ciphertexts')) > 0);
    await net.restart('us');
    const caughtUp = await eventually(
      () => Promise.all(REGIONS.map((r) => net.status(r))),
      ([e, u]) => e!.height === u!.height && e!.headHash === u!.headHash,
    );
    assert.ok(caughtUp[0]!.height > manifest.height, 'the network went on after the backup');

    // The gap clears by itself: the refill from us, then the shipper's outbox (its rows of the
    // versions written after the backup wait for their ciphertexts, then us acknowledges them).
    await eventually(() => gaugeOf(eu.url, 'roam_vault_missing_ciphertexts'), (missing) => missing === 0, 120_000);
    await eventually(() => gaugeOf(eu.url, 'roam_replica_outbox_depth'), (depth) => depth === 0, 120_000);
    // The vault restored really lacked versions, and the replica gave every one back (the node's log, counts only).
    const log = readFileSync(NetworkFiles.nodeLog(net.dir, 'eu'), 'utf8');
    const lacked = Number(/warning: (\d+) anchored version\(s\)/.exec(log)?.[1] ?? 0);
    const refilled = [...log.matchAll(/ciphertext refill: (\d+) version\(s\) stored/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    assert.ok(lacked > 0, 'the restored vault lacked no version: the test did not write after the backup');
    assert.equal(refilled, lacked);
    t.diagnostic(`the restored node lacked ${lacked} version(s); the replica gave back ${refilled}`);
    const ready = await fetch(`${eu.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });

    token = await tokenFor(patient.wallet, eu.url);
    const wrong: string[] = [];
    for (const { key, resource } of acknowledged) {
      const read = await fhir(eu.url, token, 'GET', key);
      if (read.status !== 200 || !isDeepStrictEqual(read.body, resource)) wrong.push(`${key}: ${read.status}`);
    }
    assert.deepEqual(wrong, [], 'acknowledged writes lost or changed after the restore');
    for (const [i, resource] of versions.entries()) {
      const read = await fhir(eu.url, token, 'GET', `Observation/${trackedId}/_history/${i + 1}`);
      assert.equal(read.status, 200, `version ${i + 1} of the updated record: ${read.status}`);
      assert.deepEqual(read.body, resource);
    }
    const found = new Set<string>();
    for (let page: string | undefined = `Observation?patient=Patient/${patient.patientId}&_count=100`; page !== undefined; ) {
      const search = await fhir(eu.url, token, 'GET', page);
      assert.equal(search.status, 200);
      for (const entry of (search.body['entry'] as Array<{ resource: { id: string } }> | undefined) ?? []) found.add(entry.resource.id);
      const next = (search.body['link'] as Array<{ relation: string; url: string }> | undefined)?.find((l) => l.relation === 'next')?.url;
      page = next === undefined ? undefined : next.slice(next.indexOf('/fhir/R4/') + '/fhir/R4/'.length);
    }
    const notFound = acknowledged.map((a) => recordIdOf(a.key)).filter((id) => !found.has(id));
    assert.deepEqual(notFound, [], 'acknowledged records a search no longer finds');
    t.diagnostic(`${acknowledged.length} acknowledged (${later.length} after the backup began): all read back and found`);

    await net.kill('eu', 'SIGTERM');
    const verify = await roamJson<{ ok: boolean; height: number }>(['ledger', 'verify', '--data', eu.dataDir], { timeoutMs: CLI_TIMEOUT_MS });
    assert.equal(verify.ok, true);
  });
});
