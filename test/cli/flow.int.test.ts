// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * The CLI end to end, as an operator and a patient use it: init → start → wallets → patient
 * register → practitioner → consent grant / list / revoke → ledger tx --proof → stop → verify.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { roam, roamJson, startCli, tempDir, type RunningCli } from './harness.js';

describe('roam: a node and a patient, end to end', () => {
  const { dir, cleanup } = tempDir();
  const data = join(dir, 'node');
  const patientWallet = join(dir, 'patient.wallet.json');
  let node: RunningCli | undefined;
  let orgDid = '';
  let patientDid = '';
  let registerTxId = '';
  let grantId = '';

  before(async () => {
    const init = await roamJson<{
      orgDid: string;
      nodeDid: string;
      adminDid: string;
      adminWalletPath: string;
    }>(['init', '--data', data, '--org', 'Clinique du Lac', '--region', 'eu', '--port', '0']);
    orgDid = init.orgDid;
    assert.match(init.nodeDid, /^did:key:z6Mk/);
    assert.equal(init.adminWalletPath, join(data, 'admin.wallet.json'));
    node = await startCli(['start', '--data', data, '--port', '0']);
  });

  after(async () => {
    await node?.stop('SIGKILL');
    cleanup();
  });

  it('init prints the DIDs and the admin wallet path for people', async () => {
    const again = await roam(['init', '--data', data, '--org', 'X', '--region', 'eu']);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^roam: NODE_ALREADY_INITIALIZED: .*already holds a node\n$/);
  });

  it('ledger status names the organization', async () => {
    const status = await roamJson<{ org: { did: string; name: string }; height: number }>([
      'ledger',
      'status',
      '--node',
      node!.url,
    ]);
    assert.equal(status.org.did, orgDid);
    assert.equal(status.org.name, 'Clinique du Lac');
    const human = await roam(['ledger', 'status', '--node', node!.url]);
    assert.equal(human.status, 0);
    assert.match(human.stdout, /organization: Clinique du Lac/);
  });

  it('wallet create prints the DID and, once, the 24-word recovery phrase', async () => {
    const created = await roam(['wallet', 'create', '--out', patientWallet, '--role', 'patient']);
    assert.equal(created.status, 0, created.stderr);
    patientDid = /DID:\s+(did:key:\S+)/.exec(created.stdout)![1]!;
    assert.match(created.stdout, /RECOVERY PHRASE/);
    const words = [...created.stdout.matchAll(/\d+\. ([a-z]+)/g)].map((m) => m[1]);
    assert.equal(words.length, 24);
    assert.equal(statSync(patientWallet).mode & 0o777, 0o600);
    // The phrase is not in the file.
    assert.ok(!readFileSync(patientWallet, 'utf8').includes(words.slice(0, 3).join(' ')));

    // Restoring from the phrase on stdin gives the same DID.
    const restored = await roamJson<{ did: string }>(
      ['wallet', 'restore', '--out', join(dir, 'restored.wallet.json')],
      {
        input: words.join(' ') + '\n',
      },
    );
    assert.equal(restored.did, patientDid);

    const shown = await roamJson<{ did: string; role: string; encryptionPublicKey: string }>([
      'wallet',
      'show',
      '--wallet',
      patientWallet,
    ]);
    assert.deepEqual([shown.did, shown.role], [patientDid, 'patient']);
    const header = await roamJson<{ did: string }>(
      ['wallet', 'show', '--public', '--wallet', patientWallet],
      {
        env: { ROAM_PASSPHRASE: undefined },
      },
    );
    assert.equal(header.did, patientDid);

    const again = await roam(['wallet', 'create', '--out', patientWallet, '--role', 'patient']);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^roam: WALLET_EXISTS: /);
  });

  it('patient register puts the patient on the ledger', async () => {
    const registered = await roamJson<{ did: string; txId: string; height: number }>([
      'patient',
      'register',
      '--wallet',
      patientWallet,
      '--node',
      node!.url,
    ]);
    assert.equal(registered.did, patientDid);
    assert.ok(registered.height >= 1);
    registerTxId = registered.txId;

    const twice = await roam(['patient', 'register', '--wallet', patientWallet, '--node', node!.url]);
    assert.equal(twice.status, 1);
    assert.match(twice.stderr, /^roam: ALREADY_REGISTERED: /);
  });

  it('org add-practitioner registers a practitioner from its wallet header', async () => {
    const practitionerWallet = join(dir, 'practitioner.wallet.json');
    const created = await roamJson<{ did: string }>([
      'wallet',
      'create',
      '--out',
      practitionerWallet,
      '--role',
      'practitioner',
    ]);
    const added = await roamJson<{ did: string; roles: string[] }>([
      'org',
      'add-practitioner',
      '--wallet',
      join(data, 'admin.wallet.json'),
      '--practitioner-wallet',
      practitionerWallet,
      '--roles',
      'physician,nurse',
      '--node',
      node!.url,
    ]);
    assert.equal(added.did, created.did);
    assert.deepEqual(added.roles, ['physician', 'nurse']);

    const noKey = await roam([
      'org',
      'add-practitioner',
      '--wallet',
      join(data, 'admin.wallet.json'),
      '--practitioner',
      created.did,
      '--roles',
      'nurse',
      '--node',
      node!.url,
    ]);
    assert.equal(noKey.status, 2);
    assert.match(noKey.stderr, /^roam: USAGE: .*--encryption-key/);
  });

  it('consent grant, list and revoke', async () => {
    const granted = await roamJson<{ grantId: string; access: string; expiresAt: number; scope: unknown }>([
      'consent',
      'grant',
      '--wallet',
      patientWallet,
      '--to',
      orgDid,
      '--scope',
      'Observation,Condition',
      '--classes',
      'general,sensitive',
      '--expires',
      '30d',
      '--node',
      node!.url,
    ]);
    grantId = granted.grantId;
    assert.equal(granted.access, 'read');
    assert.deepEqual(granted.scope, {
      resourceTypes: ['Observation', 'Condition'],
      classes: ['general', 'sensitive'],
    });
    assert.ok(Math.abs(granted.expiresAt - (Date.now() + 30 * 86_400_000)) < 60_000);

    const all = await roam([
      'consent',
      'grant',
      '--wallet',
      patientWallet,
      '--to',
      orgDid,
      '--scope',
      'all',
      '--write',
      '--node',
      node!.url,
    ]);
    assert.equal(all.status, 0, all.stderr);
    assert.match(all.stdout, /grant id:\s+\S+/);

    const listed = await roam(['consent', 'list', '--wallet', patientWallet, '--node', node!.url]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /^id\s+grantee\s+scope\s+access\s+expires\s+status/);
    assert.match(
      listed.stdout,
      new RegExp(
        `${grantId}\\s+Clinique du Lac .*Observation,Condition \\[general,sensitive\\]\\s+read\\s+\\S+ \\(in 29d 23h\\)\\s+active`,
      ),
    );
    assert.match(listed.stdout, /Clinique du Lac .*all \[general\]\s+write\s+never\s+active/);

    const revoked = await roam([
      'consent',
      'revoke',
      '--wallet',
      patientWallet,
      '--grant',
      grantId,
      '--node',
      node!.url,
    ]);
    assert.equal(revoked.status, 0, revoked.stderr);
    const after = await roamJson<{ grants: Array<{ id: string; state: string; granteeName: string }> }>([
      'consent',
      'list',
      '--wallet',
      patientWallet,
      '--node',
      node!.url,
    ]);
    const grant = after.grants.find((g) => g.id === grantId)!;
    assert.deepEqual([grant.state, grant.granteeName], ['revoked', 'Clinique du Lac']);

    const bad = await roam([
      'consent',
      'grant',
      '--wallet',
      patientWallet,
      '--to',
      orgDid,
      '--scope',
      'all',
      '--expires',
      '2001-01-01',
      '--node',
      node!.url,
    ]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^roam: USAGE: --expires "2001-01-01" is in the past\n$/);
  });

  it('ledger tx --proof prints the Merkle path and checks it, online and offline', async () => {
    // A node's ledger is read as a signed-in party: the organization's admin reads it all.
    const asAdmin = ['--wallet', join(data, 'admin.wallet.json')];
    const anonymous = await roam(['ledger', 'tx', registerTxId, '--node', node!.url]);
    assert.equal(anonymous.status, 1);
    assert.match(anonymous.stderr, /^roam: TOKEN_MISSING: /);
    const online = await roam(['ledger', 'tx', registerTxId, '--proof', '--node', node!.url, ...asAdmin]);
    assert.equal(online.status, 0, online.stderr);
    assert.match(online.stdout, /type:\s+identity\.patient\.register/);
    assert.match(online.stdout, /Merkle path \(leaf \d+ of \d+/);
    assert.match(online.stdout, /inclusion proof: valid/);

    const offline = await roamJson<{ proofValid: boolean; proof: { root: string }; height: number }>([
      'ledger',
      'tx',
      registerTxId,
      '--proof',
      '--data',
      data,
    ]);
    assert.equal(offline.proofValid, true);

    const block = await roamJson<{ header: { txRoot: string }; txs: Array<{ id: string }> }>([
      'ledger',
      'block',
      String(offline.height),
      '--node',
      node!.url,
      ...asAdmin,
    ]);
    assert.equal(block.header.txRoot, offline.proof.root);
    assert.ok(block.txs.some((t) => t.id === registerTxId));

    const missing = await roam(['ledger', 'tx', 'ab'.repeat(32), '--node', node!.url, ...asAdmin]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^roam: NOT_FOUND: /);
  });

  it('stops on SIGTERM, and the stopped ledger verifies', async () => {
    const { status } = await node!.stop('SIGTERM');
    assert.equal(status, 0);
    assert.match(node!.output().stdout, /roam node stopped/);
    const verify = await roam(['ledger', 'verify', '--data', data]);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /^ledger verify: OK\n/);
    assert.match(
      verify.stdout,
      /height:\s+\d+\nhead hash:\s+[0-9a-f]{64}\nstate root:\s+[0-9a-f]{64}\ntransactions:\s+\d+/,
    );
  });
});
