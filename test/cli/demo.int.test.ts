// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * `roam demo` (npm start): the first run creates and seeds a node through its API (practitioners,
 * patients with real Synthea charts); later runs just start it.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import { checkIpsDocument } from '../../src/fhir/ips/index.js';
import { roam, roamJson, startCli, tempDir } from './harness.js';

interface DemoWelcome {
  readonly url: string;
  readonly firstRun: boolean;
  readonly orgDid: string;
  readonly practitioner: { did: string; wallet: string };
  readonly emergencyPractitioner: { did: string; wallet: string };
  readonly patients: Array<{
    did: string;
    wallet: string;
    grantId: string;
    access: string;
    classes: string[];
    records: { source: string | null; imported: number };
  }>;
  readonly emergencyPatient: { did: string; wallet: string; records: { imported: number } };
  readonly passphraseFile: string | null;
  readonly seedMs: number;
}

describe('roam demo', () => {
  const { dir, cleanup } = tempDir('roam-demo-');
  const data = join(dir, 'data');
  after(cleanup);

  it('seeds practitioners, three consenting patients and a break-glass patient with real charts, then just starts', async (t) => {
    // No ROAM_PASSPHRASE: the demo generates one into the data folder.
    const env = { ROAM_PASSPHRASE: undefined };
    const first = await startCli(['demo', '--data', data, '--port', '0'], { env });
    let welcome: string;
    try {
      // The first run imports three Synthea patients: on a loaded machine that takes a while.
      await waitFor(() => /Press Ctrl-C to stop/.test(first.output().stdout), 120_000);
      welcome = first.output().stdout;
    } finally {
      assert.equal((await first.stop('SIGINT')).status, 0, first.output().stderr);
    }
    const passphraseFile = join(data, 'demo-passphrase.txt');
    assert.equal(statSync(passphraseFile).mode & 0o777, 0o600);
    assert.match(welcome, new RegExp(`wallet passphrase: in ${escape(passphraseFile)}`));
    assert.match(welcome, /hospital:\s+Roam Demo Hospital did:key:/);
    assert.equal(
      [
        ...welcome.matchAll(
          /patient \d:\s+did:key:\S+ \(\S+patient-\d\.wallet\.json\) grants write \[[^\]]+\], \d+ records \(Synthea /g,
        ),
      ].length,
      3,
    );
    assert.ok(existsSync(join(data, 'wallets', 'practitioner.wallet.json')));
    assert.match(welcome, /emergency:\s+did:key:\S+ \(\S+emergency\.wallet\.json\) may break the glass/);
    assert.match(
      welcome,
      /patient 4:\s+did:key:\S+ \(\S+patient-emergency\.wallet\.json\) no grant, emergency access enabled, \d+ records/,
    );
    const commands = [...welcome.matchAll(/^ {2}(?:roam|node \S+) (\w+ \w+)/gm)].map((m) => m[1]);
    for (const command of [
      'ledger status',
      'record summary',
      'consent list',
      'ledger verify',
      'emergency access',
    ]) {
      assert.ok(commands.includes(command), `the welcome names ${command}: ${commands.join(', ')}`);
    }
    assert.match(welcome, /^ {2}(?:roam|node \S+) audit --wallet /m);

    // A later run starts without seeding again and prints the same people.
    const second = await startCli(['demo', '--data', data, '--port', '0', '--json'], { env });
    try {
      const json = await waitForJson<DemoWelcome>(() => second.output().stdout);
      assert.equal(json.firstRun, false);
      assert.equal(json.passphraseFile, passphraseFile);
      assert.deepEqual(
        json.patients.map((p) => [p.access, p.classes.join(',')]),
        [
          ['write', 'general'],
          ['write', 'general'],
          ['write', 'general,sensitive'],
        ],
      );
      // Real charts, kept small so that the first start stays fast.
      const imported = [...json.patients, json.emergencyPatient].map((p) => p.records.imported);
      assert.ok(
        imported.every((n) => n > 50),
        `records imported: ${imported.join(', ')}`,
      );
      assert.ok(imported.reduce((a, b) => a + b, 0) < 500, `records imported: ${imported.join(', ')}`);
      t.diagnostic(`first run seeded ${imported.join(' + ')} records in ${json.seedMs} ms`);
      const status = await roamJson<{ height: number; org: { name: string } }>([
        'ledger',
        'status',
        '--node',
        second.url,
      ]);
      assert.equal(status.org.name, 'Roam Demo Hospital');
      // 2 practitioners + 3 × (register + grant + records), one commit each, then audit batches.
      assert.ok(status.height >= 11, `height ${status.height}`);

      // The practitioner reads a seeded patient's summary: a real chart, a valid IPS document.
      const summary = await roamJson<Bundle>([
        'record',
        'summary',
        '--wallet',
        json.practitioner.wallet,
        '--patient',
        json.patients[0]!.did,
        '--node',
        second.url,
        '--passphrase-file',
        passphraseFile,
        '--json',
      ]);
      assert.deepEqual(checkIpsDocument(summary).issues, []);
      assert.ok(
        (summary.entry ?? []).some((e) => e.resource?.resourceType === 'Condition'),
        'the summary lists the Synthea problems',
      );

      // The break-glass story the welcome names: no grant, so refused; then the emergency
      // practitioner breaks the glass (the hospital is the 1-of-1 trustee) and reads the summary.
      const asEmergency = [
        '--wallet',
        json.emergencyPractitioner.wallet,
        '--patient',
        json.emergencyPatient.did,
        '--node',
        second.url,
        '--passphrase-file',
        passphraseFile,
      ];
      const refused = await roam(['record', 'summary', ...asEmergency]);
      assert.notEqual(refused.status, 0, 'no grant: no summary before the break-glass');
      const broke = await roam([
        'emergency',
        'access',
        ...asEmergency,
        '--reason',
        'ETREAT',
        '--duration',
        '1h',
      ]);
      assert.equal(broke.status, 0, broke.stderr);
      const emergencySummary = await roamJson<Bundle>(['record', 'summary', ...asEmergency, '--json']);
      assert.deepEqual(checkIpsDocument(emergencySummary).issues, []);
      assert.ok((emergencySummary.entry ?? []).some((e) => e.resource?.resourceType === 'Condition'));

      const listed = await roamJson<{
        grants: Array<{ id: string; grantee: string; access: string; state: string }>;
      }>([
        'consent',
        'list',
        '--wallet',
        json.patients[1]!.wallet,
        '--node',
        second.url,
        '--passphrase-file',
        passphraseFile,
      ]);
      assert.deepEqual(
        listed.grants.map((g) => [g.id, g.grantee, g.access, g.state]),
        [[json.patients[1]!.grantId, json.orgDid, 'write', 'active']],
      );
    } finally {
      assert.equal((await second.stop('SIGTERM')).status, 0, second.output().stderr);
    }
    const verify = await roam(['ledger', 'verify', '--data', data]);
    assert.equal(verify.status, 0, verify.stdout);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitForJson<T>(stdout: () => string): Promise<T> {
  await waitFor(() => stdout().endsWith('\n'));
  return JSON.parse(stdout()) as T;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
