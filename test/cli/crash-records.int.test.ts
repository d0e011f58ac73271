// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * Durability of records: a `roam start` process killed (-9) at a random moment of a stream of
 * FHIR creates, updates, transaction Bundles and `_import`s, ROUNDS times (seeded; the seed is
 * printed, CRASH_SEED replays it). After each restart every write answered 201/200 reads back
 * identical (versionId and content, by vread); a transaction Bundle is there whole or not at all.
 * After the last round, with the node stopped, its own SQLite files agree: every vault version
 * of its records is anchored, every anchor of its records names a ciphertext the vault holds, the
 * index is at the anchored version, no audit id is on the ledger twice, and `roam ledger verify`
 * passes. The node runs with its vault checkpoints (taken on a worker thread) polling every few
 * milliseconds and restarting the WAL every 64 frames, so that kills land in the middle of them.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { signIn } from '../../src/client/auth.js';
import type { RecordEntry } from '../../src/contracts/index.js';
import { DataFiles } from '../../src/node/config.js';
import { vaultPath } from '../../src/node/fhir/index.js';
import { FhirIndexStore, LedgerStore } from '../../src/store/index.js';
import { POLL_MS_ENV_VAR, RESTART_FRAMES_ENV_VAR } from '../../src/store/wal-checkpointer.js';
import { Vault } from '../../src/vault/index.js';
import { loadWallet } from '../../src/wallet/index.js';
import { PASSPHRASE, roam, roamJson, startCli, tempDir, writeGrantArgs, type RunningCli } from './harness.js';

const ROUNDS = Number(process.env['CRASH_ROUNDS'] ?? 10);
/** Concurrent clients per kind of write. */
const CLIENTS = 2;
/** The kill: a random moment in this window (ms) after the round's first acknowledged write. */
const KILL_WINDOW_MS: readonly [number, number] = [50, 900];
/** Entries of an `_import`: more than one `records.anchor` transaction holds (250). */
const IMPORT_ENTRIES = 260;
/** Earlier acknowledged versions read back again after each restart. */
const SAMPLE = 64;
/** Vault checkpoints all the time: a kill lands in one (or between a checkpoint's steps). */
const CHECKPOINTING = { env: { [POLL_MS_ENV_VAR]: '5', [RESTART_FRAMES_ENV_VAR]: '64' } };

/** A small seeded generator (mulberry32): the same seed, the same kill moments and choices. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Resource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string };
  [key: string]: unknown;
}

/** A write the node answered 201/200: the resource exactly as it answered. */
type Acknowledged = Resource & { id: string; meta: { versionId: string } };

function observation(patientId: string, n: number): Resource {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: '2024-06-01T10:00:00Z',
    valueQuantity: { value: n, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

function transaction(resources: readonly Resource[], type = 'transaction'): Resource {
  return {
    resourceType: 'Bundle',
    type,
    entry: resources.map((resource) => ({
      resource,
      request: { method: 'POST', url: resource.resourceType },
    })),
  };
}

describe('roam start: records across kill -9', () => {
  const { dir, cleanup } = tempDir('roam-crash-records-');
  after(cleanup);

  it(`keeps every acknowledged write and nothing half-written, over ${ROUNDS} kills`, async (t) => {
    const seed = Number(process.env['CRASH_SEED'] ?? Date.now() % 2 ** 31);
    t.diagnostic(`seed ${seed} (CRASH_SEED=${seed} replays it)`);
    console.log(`crash-records seed: ${seed}`);
    const random = seeded(seed);

    const data = join(dir, 'node');
    const walletFile = join(dir, 'patient.wallet.json');
    const init = await roamJson<{ orgDid: string }>([
      'init',
      '--data',
      data,
      '--org',
      'Crash Records Clinic',
      '--region',
      'eu',
      '--port',
      '0',
    ]);
    let node: RunningCli = await startCli(['start', '--data', data, '--port', '0'], CHECKPOINTING);
    await roamJson(['wallet', 'create', '--out', walletFile, '--role', 'patient']);
    const withNode = (args: string[]) => [...args, '--wallet', walletFile, '--node', node.url];
    await roamJson(withNode(['patient', 'register']));
    await roamJson(withNode(writeGrantArgs(init.orgDid)));
    const wallet = await loadWallet(walletFile, PASSPHRASE);

    let token = '';
    const call = async (
      method: string,
      path: string,
      body?: unknown,
    ): Promise<{ status: number; body: Resource }> => {
      const response = await fetch(`${node.url}/fhir/R4${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const answer = { status: response.status, body: (await response.json()) as Resource };
      if (answer.status !== 429 || method !== 'GET') return answer;
      // Over the node's rate limit: a read is asked again once allowed (writes are not: each is new).
      await sleep(Number(response.headers.get('retry-after') ?? '1') * 1000);
      return call(method, path, body);
    };
    const signInNow = async () => {
      token = (await signIn({ baseUrl: node.url }, wallet)).access_token;
    };
    await signInNow();
    const created = await call('POST', '/Patient', { resourceType: 'Patient', name: [{ family: 'Crash' }] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const patientId = created.body.id!;

    /** Every acknowledged version, by `Type/id/_history/vid`. */
    const acknowledged = new Map<string, Acknowledged>();
    /** The ids of each acknowledged transaction Bundle (all there, or none). */
    const bundles: string[][] = [];
    /** Makes each written value distinct. */
    let counter = 0;
    /** Resolves at the first acknowledged write of the round (the stream is then flowing). */
    let flowing: () => void = () => undefined;
    const acknowledge = (resource: Resource) => {
      flowing();
      const r = resource as Acknowledged;
      acknowledged.set(`${r.resourceType}/${r.id}/_history/${r.meta.versionId}`, r);
    };

    // A failed assertion must not leave the node running (the runner would wait for it).
    t.after(() => node.stop('SIGKILL'));
    /** Bytes the worker's checkpoints added to the vault database file while the writes ran. */
    let checkpointed = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      let running = true;
      const latest: Acknowledged[] = [...acknowledged.values()].filter(
        (r) => r.resourceType === 'Observation',
      );
      const guard = async (work: () => Promise<void>) => {
        while (running) {
          try {
            await work();
          } catch {
            return; // the node is gone: nothing more is answered
          }
        }
      };
      const creates = async () => {
        const res = await call('POST', '/Observation', observation(patientId, counter++));
        if (res.status === 201) {
          acknowledge(res.body);
          latest.push(res.body as Acknowledged);
        }
      };
      const updates = async () => {
        const target = latest[Math.floor(random() * latest.length)];
        if (target === undefined) return creates();
        const next = { ...observation(patientId, counter++), id: target.id };
        const res = await call('PUT', `/Observation/${target.id}`, next);
        if (res.status === 200) {
          acknowledge(res.body);
          latest.push(res.body as Acknowledged);
        }
      };
      const transactions = async () => {
        const size = 2 + Math.floor(random() * 4);
        const body = transaction(Array.from({ length: size }, () => observation(patientId, counter++)));
        const res = await call('POST', '', body);
        if (res.status !== 200) return;
        const entries =
          (res.body['entry'] as { resource?: Resource; response?: { status?: string } }[]) ?? [];
        const ids: string[] = [];
        for (const e of entries) {
          assert.match(e.response?.status ?? '', /^201/);
          acknowledge(e.resource!);
          ids.push(`Observation/${e.resource!.id}/_history/1`);
        }
        bundles.push(ids);
      };
      const imports = async () => {
        const body = transaction(
          Array.from({ length: IMPORT_ENTRIES }, () => observation(patientId, counter++)),
        );
        const res = await fetch(`${node.url}/fhir/R4?_import=true`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
          body: JSON.stringify(body),
        });
        const answer = (await res.json()) as Resource;
        if (res.status !== 200) return;
        for (const e of (answer['entry'] as { resource?: Resource }[]) ?? [])
          if (e.resource) acknowledge(e.resource);
      };
      const clients = [
        ...Array.from({ length: CLIENTS }, () => guard(creates)),
        ...Array.from({ length: CLIENTS }, () => guard(updates)),
        ...Array.from({ length: CLIENTS }, () => guard(transactions)),
        guard(imports),
      ];
      const before = acknowledged.size;
      const databaseBefore = statSync(vaultPath(data)).size;
      await Promise.race([
        new Promise<void>((resolve) => (flowing = resolve)),
        sleep(20_000, undefined, { ref: false }),
      ]);
      const [low, high] = KILL_WINDOW_MS;
      await sleep(low + Math.floor(random() * (high - low)));
      checkpointed += statSync(vaultPath(data)).size - databaseBefore;
      node.child.kill('SIGKILL');
      const { signal } = await node.exited;
      running = false;
      await Promise.all(clients);
      assert.equal(signal, 'SIGKILL');

      node = await startCli(['start', '--data', data, '--port', '0'], CHECKPOINTING);
      await signInNow();
      const wrong: string[] = [];
      // The versions acknowledged in this round, and a sample of the earlier ones (every one was
      // read back after the restart that followed it; reading all again each round would only
      // meet the node's rate limit).
      const all = [...acknowledged.keys()];
      const earlier = all.slice(0, before);
      const keys = [
        ...all.slice(before),
        ...Array.from(
          { length: Math.min(SAMPLE, earlier.length) },
          () => earlier[Math.floor(random() * earlier.length)]!,
        ),
      ];
      for (let i = 0; i < keys.length; i += 16) {
        await Promise.all(
          keys.slice(i, i + 16).map(async (key) => {
            const res = await call('GET', `/${key}`);
            if (res.status !== 200) wrong.push(`${key}: ${res.status}`);
            else if (!isDeepStrictEqual(res.body, acknowledged.get(key)))
              wrong.push(
                `${key}: differs: ${JSON.stringify(res.body)} vs ${JSON.stringify(acknowledged.get(key))}`,
              );
          }),
        );
      }
      assert.deepEqual(wrong, [], `round ${round}: acknowledged writes lost or changed`);
      assert.ok(acknowledged.size > before, `round ${round}: no write was acknowledged before the kill`);
      t.diagnostic(
        `round ${round}: ${acknowledged.size - before} new versions and a sample of the earlier read back (${acknowledged.size} acknowledged)`,
      );
    }
    assert.ok(checkpointed > 0, 'the worker checkpointed the vault while the writes ran');
    await signInNow();
    await node.stop('SIGTERM');

    // The node's own files, with the node stopped.
    const ledger = LedgerStore.open(DataFiles.store(data), { readonly: true });
    const vault = Vault.open(vaultPath(data));
    const index = FhirIndexStore.open(vaultPath(data));
    try {
      const anchors = new Map(
        ledger
          .rangeState('record/')
          .map(([, value]) => JSON.parse(value) as RecordEntry)
          .filter((r) => r.custodian === init.orgDid && r.status === 'active')
          .map((r) => [r.id, r]),
      );
      const problems: string[] = [];
      for (const [id, anchor] of anchors) {
        const versions = vault.store.listVersions(id);
        if (versions.length !== anchor.versions)
          problems.push(`${id}: ${versions.length} vault versions, ${anchor.versions} anchored`);
        const top = versions.at(-1);
        if (
          top?.contentHash !== anchor.latest.contentHash ||
          vault.store.getBlob(top.contentHash) === undefined
        )
          problems.push(`${id}: the anchor names no ciphertext of the vault`);
        if (index.getResource(id)?.version !== anchor.versions)
          problems.push(`${id}: index not at the anchored version`);
      }
      const vaultOnly = index.unindexedVersions(init.orgDid).filter((v) => !anchors.has(v.recordId));
      for (const v of vaultOnly) problems.push(`${v.recordId}/${v.version}: in the vault, never anchored`);
      for (const key of acknowledged.keys()) {
        const id = key.split('/')[1]!;
        if (!anchors.has(id)) problems.push(`${key}: acknowledged, not anchored`);
      }
      for (const ids of bundles) {
        const there = ids.filter((k) => anchors.has(k.split('/')[1]!)).length;
        if (there !== 0 && there !== ids.length)
          problems.push(`a transaction is there in part (${there}/${ids.length})`);
      }
      assert.deepEqual(problems, []);

      const auditIds = ledger
        .rangeState('audit/')
        .map(([, value]) => (JSON.parse(value) as { id: string }).id);
      assert.ok(auditIds.length > 0, 'no audit entry reached the ledger');
      assert.equal(new Set(auditIds).size, auditIds.length, 'an audit entry is on the ledger twice');
      assert.equal(index.auditBacklog(), 0, 'audit entries left unshipped after a clean stop');
    } finally {
      index.close();
      vault.close();
      ledger.close();
    }

    const verify = await roam(['ledger', 'verify', '--data', data, '--json']);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.equal((JSON.parse(verify.stdout) as { ok: boolean }).ok, true);
  });
});
