// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * `roam backup` of a running node while a client writes records in a loop, `roam restore` into a
 * new folder, `roam ledger verify` on it, and the restored node serving every record that was
 * acknowledged before the backup began, identical. Real processes: the node, the CLI commands.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { roam, roamJson, startCli, tempDir, type RunningCli } from './harness.js';

const NODE_PASSPHRASE = 'backup test node passphrase';
const env = { ROAM_NODE_PASSPHRASE: NODE_PASSPHRASE };

interface Manifest {
  height: number;
  headHash: string;
  includesKeys: boolean;
  files: Array<{ path: string; bytes: number; sha256: string }>;
}

/** A FHIR write acknowledged by the node: the resource as the node answered it. */
interface Acknowledged {
  readonly id: string;
  readonly resource: Record<string, unknown>;
}

async function fhir(
  url: string,
  token: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}/fhir/R4/${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('roam backup and roam restore', () => {
  const { dir, cleanup } = tempDir('roam-backup-');
  const data = join(dir, 'node');
  const backupDir = join(dir, 'backup');
  const restoredData = join(dir, 'restored');
  const wallet = join(dir, 'patient.wallet.json');
  let node: RunningCli | undefined;
  let restored: RunningCli | undefined;
  let token = '';
  let patientId = '';

  before(async () => {
    const init = await roamJson<{ orgDid: string }>(
      ['init', '--data', data, '--org', 'Backup General', '--region', 'eu', '--port', '0'],
      { env },
    );
    node = await startCli(['start', '--data', data, '--port', '0'], { env });
    await roamJson(['wallet', 'create', '--out', wallet, '--role', 'patient']);
    await roamJson(['patient', 'register', '--wallet', wallet, '--node', node.url]);
    // The patient lets the node's organization keep their records (write grant, every type).
    const writeGrant = ['--scope', 'all', '--classes', 'general', '--write'];
    await roamJson([
      'consent',
      'grant',
      '--to',
      init.orgDid,
      ...writeGrant,
      '--wallet',
      wallet,
      '--node',
      node.url,
    ]);
    token = (await roamJson<{ access_token: string }>(['token', '--wallet', wallet, '--node', node.url]))
      .access_token;
    const patient = await fhir(node.url, token, 'POST', 'Patient', {
      resourceType: 'Patient',
      name: [{ given: ['Ada'], family: 'Backup' }],
      gender: 'female',
    });
    assert.equal(patient.status, 201, JSON.stringify(patient.json));
    patientId = patient.json['id'] as string;
  });

  after(async () => {
    await restored?.stop('SIGKILL');
    await node?.stop('SIGKILL');
    cleanup();
  });

  it('backs up during writes; the restore verifies and serves every record acknowledged before the backup began', async () => {
    const url = node!.url;
    const acknowledged: Array<Acknowledged & { readonly at: number }> = [];
    let writing = true;
    let written = 0;
    // Two writers, as a ward's integration engine would: each waits for its answer, then writes again.
    const writer = async () => {
      while (writing) {
        const answer = await fhir(url, token, 'POST', 'Observation', {
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
          subject: { reference: `Patient/${patientId}` },
          effectiveDateTime: new Date().toISOString(),
          valueQuantity: { value: 60 + (written++ % 40), unit: 'beats/minute' },
        });
        assert.equal(answer.status, 201, JSON.stringify(answer.json));
        acknowledged.push({ id: answer.json['id'] as string, resource: answer.json, at: Date.now() });
      }
    };
    const writers = [writer(), writer()];
    while (acknowledged.length < 20) await new Promise((resolve) => setTimeout(resolve, 20));

    const backupStarted = Date.now();
    const manifest = await roamJson<Manifest>(
      ['backup', '--data', data, '--out', backupDir, '--include-keys'],
      { env },
    );
    const ackedDuringBackup = acknowledged.filter((a) => a.at > backupStarted).length;
    // Writes go on for a moment after the backup, then stop.
    await new Promise((resolve) => setTimeout(resolve, 300));
    writing = false;
    await Promise.all(writers);
    assert.ok(
      ackedDuringBackup > 0,
      'no write was acknowledged while the backup ran: the test did not back up under load',
    );

    const before = acknowledged.filter((a) => a.at < backupStarted);
    assert.ok(before.length >= 20);
    assert.equal(manifest.includesKeys, true);
    assert.deepEqual(
      manifest.files.map((f) => f.path).sort(),
      [
        'admin.wallet.json',
        'genesis.json',
        'ledger.sqlite',
        'node.json',
        'node.key.json',
        'replica.sqlite',
        'shl.sqlite',
        'vault.sqlite',
      ].sort(),
    );
    // The node key stays as it is at rest: sealed (version 2), no seed in clear.
    const key = JSON.parse(readFileSync(join(backupDir, 'node.key.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(key['version'], 2);
    assert.equal(key['nodeSeed'], undefined);
    assert.equal(statSync(backupDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(backupDir, 'vault.sqlite')).mode & 0o777, 0o600);

    const report = await roamJson<{ height: number; headHash: string }>([
      'restore',
      '--from',
      backupDir,
      '--data',
      restoredData,
    ]);
    assert.equal(report.height, manifest.height);
    const verify = await roamJson<{ ok: boolean; height: number; headHash: string }>([
      'ledger',
      'verify',
      '--data',
      restoredData,
    ]);
    assert.equal(verify.ok, true);
    assert.equal(verify.height, manifest.height);
    assert.equal(verify.headHash, manifest.headHash);

    // The original node stops; the restored one (same keys) serves the state at the backup.
    await node!.stop('SIGTERM');
    node = undefined;
    restored = await startCli(['start', '--data', restoredData, '--port', '0'], { env });
    const restoredToken = (
      await roamJson<{ access_token: string }>(['token', '--wallet', wallet, '--node', restored.url])
    ).access_token;
    for (const { id, resource } of before) {
      const read = await fhir(restored.url, restoredToken, 'GET', `Observation/${id}`);
      assert.equal(read.status, 200, `Observation/${id}: ${JSON.stringify(read.json)}`);
      assert.deepEqual(read.json, resource, `Observation/${id} differs after the restore`);
    }
    const patient = await fhir(restored.url, restoredToken, 'GET', `Patient/${patientId}`);
    assert.equal(patient.status, 200);
  });

  it('refuses a folder that is not empty, and a backup whose files differ from the manifest', async () => {
    const occupied = join(dir, 'occupied');
    mkdirSync(occupied);
    writeFileSync(join(occupied, 'something'), 'kept');
    const refused = await roam(['restore', '--from', backupDir, '--data', occupied]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^roam: RESTORE_TARGET_NOT_EMPTY: /m);
    assert.equal(readFileSync(join(occupied, 'something'), 'utf8'), 'kept');

    const tampered = join(dir, 'tampered');
    cpSync(backupDir, tampered, { recursive: true });
    const ledger = readFileSync(join(tampered, 'ledger.sqlite'));
    const at = ledger.length - 100;
    ledger.writeUInt8(ledger.readUInt8(at) ^ 0xff, at);
    writeFileSync(join(tampered, 'ledger.sqlite'), ledger);
    const corrupt = await roam(['restore', '--from', tampered, '--data', join(dir, 'from-tampered')]);
    assert.equal(corrupt.status, 1);
    assert.match(corrupt.stderr, /^roam: BACKUP_CORRUPT: ledger\.sqlite /m);
  });

  it('refuses a backup whose ledger was edited and its manifest rewritten to match: the chain does not verify', async () => {
    const forged = join(dir, 'forged');
    cpSync(backupDir, forged, { recursive: true });
    const ledgerPath = join(forged, 'ledger.sqlite');
    const db = new Database(ledgerPath);
    try {
      const row = db
        .prepare<[], { key: string; value: string }>(
          `SELECT key, value FROM state WHERE key LIKE 'party/%' AND value LIKE '%"kind":"patient"%' LIMIT 1`,
        )
        .get()!;
      const edited = row.value.replace('"kind":"patient"', '"kind":"practitioner"');
      assert.notEqual(edited, row.value);
      db.prepare('UPDATE state SET value = ? WHERE key = ?').run(edited, row.key);
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
    const manifestPath = join(forged, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    const bytes = readFileSync(ledgerPath);
    const files = manifest.files.map((f) =>
      f.path === 'ledger.sqlite'
        ? { ...f, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
        : f,
    );
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, files }));
    const target = join(dir, 'from-forged');
    const refused = await roam(['restore', '--from', forged, '--data', target]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^roam: BACKUP_INVALID: the ledger copy does not verify at height \d+: /m);
    assert.throws(() => statSync(target), /ENOENT/);
  });
});
