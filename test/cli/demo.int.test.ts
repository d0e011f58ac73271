// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/** `roam demo` (npm start): the first run creates and seeds a node through its API; later runs just start it. */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { roam, roamJson, startCli, tempDir } from './harness.js';

interface DemoWelcome {
  readonly url: string;
  readonly firstRun: boolean;
  readonly orgDid: string;
  readonly practitioner: { did: string; wallet: string };
  readonly patients: Array<{
    did: string;
    wallet: string;
    grantId: string;
    access: string;
    classes: string[];
  }>;
  readonly passphraseFile: string | null;
}

describe('roam demo', () => {
  const { dir, cleanup } = tempDir('roam-demo-');
  const data = join(dir, 'data');
  after(cleanup);

  it('seeds a practitioner and three consenting patients on the first run, then just starts', async () => {
    // No ROAM_PASSPHRASE: the demo generates one into the data folder.
    const env = { ROAM_PASSPHRASE: undefined };
    const first = await startCli(['demo', '--data', data, '--port', '0'], { env });
    let welcome: string;
    try {
      await waitFor(() => /Press Ctrl-C to stop/.test(first.output().stdout));
      welcome = first.output().stdout;
    } finally {
      assert.equal((await first.stop('SIGINT')).status, 0, first.output().stderr);
    }
    const passphraseFile = join(data, 'demo-passphrase.txt');
    assert.equal(statSync(passphraseFile).mode & 0o777, 0o600);
    assert.match(welcome, new RegExp(`wallet passphrase: in ${escape(passphraseFile)}`));
    assert.match(welcome, /hospital:\s+Roam Demo Hospital did:key:/);
    assert.equal(
      [...welcome.matchAll(/patient \d:\s+did:key:\S+ \(\S+patient-\d\.wallet\.json\)/g)].length,
      3,
    );
    assert.ok(existsSync(join(data, 'wallets', 'practitioner.wallet.json')));
    assert.equal(
      [...welcome.matchAll(/^ {2}(roam|node \S+) (ledger|consent) /gm)].length,
      3,
      'three example commands',
    );

    // A later run starts without seeding again and prints the same people.
    const second = await startCli(['demo', '--data', data, '--port', '0', '--json'], { env });
    try {
      const json = await waitForJson<DemoWelcome>(() => second.output().stdout);
      assert.equal(json.firstRun, false);
      assert.equal(json.passphraseFile, passphraseFile);
      assert.deepEqual(
        json.patients.map((p) => [p.access, p.classes.join(',')]),
        [
          ['read', 'general'],
          ['write', 'general'],
          ['read', 'general,sensitive'],
        ],
      );
      const status = await roamJson<{ height: number; org: { name: string } }>([
        'ledger',
        'status',
        '--node',
        second.url,
      ]);
      assert.equal(status.org.name, 'Roam Demo Hospital');
      // 1 practitioner + 3 × (register + grant), one commit each.
      assert.equal(status.height, 7);

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
