// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * The node key's passphrase through the real CLI (issue #11, finding 7): `roam init` and
 * `roam start` with --node-passphrase-file; a wrong passphrase stops the node with a stable code
 * and no secret in its output; `roam node encrypt-key` protects a key written in clear.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { roam, roamJson, startCli, tempDir } from './harness.js';

const NODE_PASSPHRASE = 'the node key passphrase';
const WRONG_PASSPHRASE = 'a wrong node passphrase';

describe('roam init / start with a node passphrase', () => {
  let dir = '';
  let cleanup = () => undefined as void;
  const file = (name: string) => join(dir, name);
  const keyFile = (data: string) => JSON.parse(readFileSync(join(data, 'node.key.json'), 'utf8')) as { version: number };

  before(() => {
    ({ dir, cleanup } = tempDir('roam-cli-node-key-'));
    // A passphrase file as an editor leaves it: one final newline, which is not part of it.
    writeFileSync(file('node-passphrase.txt'), `${NODE_PASSPHRASE}\n`, { mode: 0o600 });
    writeFileSync(file('wrong.txt'), `${WRONG_PASSPHRASE}\n`, { mode: 0o600 });
  });
  after(() => cleanup());

  it('init writes an encrypted key and start opens it with the same passphrase file', async () => {
    const data = file('encrypted');
    const init = await roamJson<{ nodeDid: string; keyEncrypted: boolean }>([
      'init', '--data', data, '--org', 'Key Clinic', '--region', 'eu', '--node-passphrase-file', file('node-passphrase.txt'),
    ]);
    assert.equal(init.keyEncrypted, true);
    assert.equal(keyFile(data).version, 2);

    const running = await startCli(['start', '--data', data, '--port', '0', '--node-passphrase-file', file('node-passphrase.txt')]);
    try {
      const status = (await (await fetch(`${running.url}/ledger/status`)).json()) as { height: number };
      assert.equal(typeof status.height, 'number');
      assert.doesNotMatch(running.output().stderr, /not encrypted/);
    } finally {
      await running.stop();
    }
  });

  it('a wrong passphrase stops the node with NODE_KEY_BAD_PASSPHRASE, printing no passphrase', async () => {
    const result = await roam(['start', '--data', file('encrypted'), '--port', '0', '--node-passphrase-file', file('wrong.txt')]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^roam: NODE_KEY_BAD_PASSPHRASE: /m);
    assert.doesNotMatch(result.stdout, /listening/);
    for (const secret of [WRONG_PASSPHRASE, NODE_PASSPHRASE]) assert.ok(!(result.stdout + result.stderr).includes(secret));
  });

  it('without a passphrase, start says which option to give', async () => {
    const result = await roam(['start', '--data', file('encrypted'), '--port', '0'], { env: { ROAM_NODE_PASSPHRASE: undefined } });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^roam: NODE_KEY_PASSPHRASE_REQUIRED: .*--node-passphrase-file.*ROAM_NODE_PASSPHRASE/m);
  });

  it('a clear key starts with a warning; node encrypt-key encrypts it, and start reads ROAM_NODE_PASSPHRASE', async () => {
    const data = file('clear');
    const noPassphrase = { env: { ROAM_NODE_PASSPHRASE: undefined } };
    const init = await roam(['init', '--data', data, '--org', 'Clear Clinic', '--region', 'eu'], noPassphrase);
    assert.equal(init.status, 0, init.stderr);
    assert.match(init.stdout, /NOT encrypted/);
    assert.match(init.stdout, /roam node encrypt-key --data /);
    assert.equal(keyFile(data).version, 1);
    const clear = await startCli(['start', '--data', data, '--port', '0'], noPassphrase);
    await clear.stop();
    assert.match(clear.output().stderr, /warning: node\.key\.json is not encrypted; .*roam node encrypt-key/);

    // The file's final newline is not part of the passphrase: the variable without it opens the key.
    const encrypted = await roamJson<{ encrypted: boolean }>(
      ['node', 'encrypt-key', '--data', data, '--node-passphrase-file', file('node-passphrase.txt')],
      noPassphrase,
    );
    assert.equal(encrypted.encrypted, true);
    assert.equal(keyFile(data).version, 2);

    const running = await startCli(['start', '--data', data, '--port', '0'], { env: { ROAM_NODE_PASSPHRASE: NODE_PASSPHRASE } });
    await running.stop();
    const wrong = await roam(['start', '--data', data, '--port', '0'], { env: { ROAM_NODE_PASSPHRASE: WRONG_PASSPHRASE } });
    assert.match(wrong.stderr, /^roam: NODE_KEY_BAD_PASSPHRASE: /m);
  });
});
