// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * `roam token` through the real CLI process (test/cli/harness.ts) against a node serving HTTP in
 * this process: the printed token passes the node's own check.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TokenResponse } from '../../src/wire/index.js';
import { createNodeAuthService } from '../../src/node/auth/index.js';
import { startHttp, type RunningHttp } from '../../src/node/index.js';
import { saveWallet, type Wallet } from '../../src/wallet/index.js';
import { PASSPHRASE, roam, tempDir } from '../cli/harness.js';
import { newPatient, openTestNode, registeredPatient, type TestNode } from './fixture.js';

const FAST_KDF = { kdfParams: { N: 32768, r: 8, p: 1 } };

describe('roam token', () => {
  const { dir, cleanup } = tempDir('roam-token-');
  const walletPath = join(dir, 'patient.wallet.json');
  const strangerPath = join(dir, 'stranger.wallet.json');
  let t: TestNode;
  let http: RunningHttp;
  let patient: Wallet;

  before(async () => {
    t = await openTestNode();
    http = await startHttp(t.node, { host: '127.0.0.1', port: 0 });
    patient = await registeredPatient(t.node);
    await saveWallet(walletPath, patient, PASSPHRASE, FAST_KDF);
    await saveWallet(strangerPath, newPatient(), PASSPHRASE, FAST_KDF);
  });

  after(async () => {
    await http?.close();
    await t?.close();
    cleanup();
  });

  it('prints only the access token, which the node accepts', async () => {
    const result = await roam(['token', '--wallet', walletPath, '--node', http.url]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '');
    const lines = result.stdout.split('\n');
    assert.equal(lines.length, 2, 'one line and its newline');
    const token = lines[0]!;
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const principal = await createNodeAuthService(t.node).verifyAccessToken(token);
    assert.deepEqual(principal, { did: patient.did, kind: 'patient', roles: [], org: null });
    const me = await fetch(`${http.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status, 200);
  });

  it('--json prints the whole answer', async () => {
    const result = await roam(['token', '--wallet', walletPath, '--node', http.url, '--json']);
    assert.equal(result.status, 0, result.stderr);
    const answer = JSON.parse(result.stdout) as TokenResponse;
    assert.equal(answer.token_type, 'Bearer');
    assert.equal(answer.expires_in, 900);
    assert.equal(answer.did, patient.did);
    assert.equal(answer.kind, 'patient');
    assert.match(answer.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('a wallet whose DID is not on the ledger: UNKNOWN_DID, exit 1', async () => {
    const result = await roam(['token', '--wallet', strangerPath, '--node', http.url]);
    assert.equal(result.status, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^roam: UNKNOWN_DID: /);
  });

  it('--node-did of another node: NODE_MISMATCH, nothing signed', async () => {
    const other = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
    const result = await roam(['token', '--wallet', walletPath, '--node', http.url, '--node-did', other]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^roam: NODE_MISMATCH: the challenge is for node did:key:/);
    const same = await roam(['token', '--wallet', walletPath, '--node', http.url, '--node-did', t.node.did]);
    assert.equal(same.status, 0, same.stderr);
  });

  it('a wrong passphrase and a missing --node are reported, not crashed on', async () => {
    const wrong = await roam(['token', '--wallet', walletPath, '--node', http.url], {
      env: { ROAM_PASSPHRASE: 'not the passphrase at all' },
    });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /^roam: [A-Z_]+: /);
    const usage = await roam(['token', '--wallet', walletPath]);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /^roam: USAGE: .*--node/);
  });
});
