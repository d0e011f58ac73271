// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * Record keys in consent grants, through the real CLI and node: a grant carries the patient's
 * record key of each class in scope for epochs 0..current (current = the patient's revoked
 * grants), sealed to the grantee organization; revoking a grant rekeys the other active grants
 * with the new epoch's keys. The sealed keys are read back from the ledger's transactions and
 * opened with the organization's X25519 secret from the node's key file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encryptionKeyPairFromSeed, fromBase64Url } from '../../src/crypto/index.js';
import type { SensitivityClass } from '../../src/ledger/index.js';
import { deriveRecordKey, openRecordKey, parseSealedRecordKey } from '../../src/vault/index.js';
import { deriveRecordKeySeed, loadWallet } from '../../src/wallet/index.js';
import { PASSPHRASE, roam, roamJson, startCli, tempDir, type RunningCli } from './harness.js';

interface GrantOutput {
  grantId: string;
  keyCount: number;
  epoch: number;
  txId: string;
}

interface RevokeOutput {
  grantId: string;
  epoch: number;
  rekeyed: Array<{ grantId: string; grantee: string; classes: string[]; txId: string }>;
  failed: unknown[];
}

interface ListOutput {
  grants: Array<{ id: string; keyCount: number; state: string }>;
}

describe('roam consent: record keys sealed in grants, rekeyed on revocation', () => {
  const { dir, cleanup } = tempDir();
  const data = join(dir, 'node');
  const patientWallet = join(dir, 'patient.wallet.json');
  let node: RunningCli | undefined;
  let orgDid = '';
  let patientDid = '';
  let orgSecret: Uint8Array = new Uint8Array();
  let recordKeySeed: Uint8Array = new Uint8Array();
  let first: GrantOutput | undefined;
  let second: GrantOutput | undefined;

  const grant = (classes: string) =>
    roamJson<GrantOutput>([
      'consent',
      'grant',
      '--wallet',
      patientWallet,
      '--to',
      orgDid,
      '--scope',
      'all',
      '--classes',
      classes,
      '--node',
      node!.url,
    ]);

  const keyCounts = async (): Promise<Map<string, number>> => {
    const listed = await roamJson<ListOutput>([
      'consent',
      'list',
      '--wallet',
      patientWallet,
      '--node',
      node!.url,
    ]);
    return new Map(listed.grants.map((g) => [g.id, g.keyCount]));
  };

  /** The sealed keys in a committed transaction's payload, read with `roam ledger tx` as the patient who signed it. */
  const txKeys = async (txId: string): Promise<unknown[]> => {
    const tx = await roamJson<{ code: string; tx: { payload: { keys?: unknown[] } } }>([
      'ledger',
      'tx',
      txId,
      '--node',
      node!.url,
      '--wallet',
      patientWallet,
    ]);
    assert.equal(tx.code, 'OK');
    return tx.tx.payload.keys ?? [];
  };

  /** Checks each sealed key opens, with the org's secret, to the patient's key of its class and epoch. */
  const assertKeysOpen = async (
    keys: readonly unknown[],
    expected: ReadonlyArray<[SensitivityClass, number]>,
  ) => {
    const refs = keys.map((k) => parseSealedRecordKey(k));
    assert.deepEqual(
      refs.map((r) => [r.class, r.epoch]),
      expected,
    );
    for (const sealed of refs) {
      const context = { patient: patientDid, grantee: orgDid, class: sealed.class, epoch: sealed.epoch };
      const kek = await openRecordKey(orgSecret, sealed, context);
      assert.deepEqual(kek, deriveRecordKey(recordKeySeed, patientDid, sealed.class, sealed.epoch));
    }
  };

  before(async () => {
    const init = await roamJson<{ orgDid: string }>([
      'init',
      '--data',
      data,
      '--org',
      'Clinique des Keys',
      '--region',
      'eu',
      '--port',
      '0',
    ]);
    orgDid = init.orgDid;
    const nodeKey = JSON.parse(readFileSync(join(data, 'node.key.json'), 'utf8')) as {
      orgEncryptionSeed: string;
    };
    orgSecret = encryptionKeyPairFromSeed(fromBase64Url(nodeKey.orgEncryptionSeed)).secretKey;
    node = await startCli(['start', '--data', data, '--port', '0']);

    const created = await roamJson<{ did: string }>([
      'wallet',
      'create',
      '--out',
      patientWallet,
      '--role',
      'patient',
    ]);
    patientDid = created.did;
    recordKeySeed = deriveRecordKeySeed(await loadWallet(patientWallet, PASSPHRASE));
    await roamJson(['patient', 'register', '--wallet', patientWallet, '--node', node.url]);
  });

  after(async () => {
    await node?.stop('SIGKILL');
    cleanup();
  });

  it('a grant carries one key per class in scope for epoch 0, sealed to the organization', async () => {
    first = await grant('general,sensitive');
    assert.deepEqual([first.keyCount, first.epoch], [2, 0]);
    assert.equal((await keyCounts()).get(first.grantId), 2);
    await assertKeysOpen(await txKeys(first.txId), [
      ['general', 0],
      ['sensitive', 0],
    ]);
  });

  it('revoking a grant rekeys the other active grants with the new epoch, per class in their scope', async () => {
    second = await grant('sensitive');
    assert.deepEqual([second.keyCount, second.epoch], [1, 0]);
    await assertKeysOpen(await txKeys(second.txId), [['sensitive', 0]]);

    const revoked = await roamJson<RevokeOutput>([
      'consent',
      'revoke',
      '--wallet',
      patientWallet,
      '--grant',
      first!.grantId,
      '--node',
      node!.url,
    ]);
    assert.equal(revoked.epoch, 1);
    assert.deepEqual(revoked.failed, []);
    assert.deepEqual(
      revoked.rekeyed.map((r) => [r.grantId, r.grantee, r.classes]),
      [[second.grantId, orgDid, ['sensitive']]],
    );

    const counts = await keyCounts();
    assert.equal(counts.get(second.grantId), 2);
    // The revoked grant keeps what it had and gets nothing new.
    assert.equal(counts.get(first!.grantId), 2);
    await assertKeysOpen(await txKeys(revoked.rekeyed[0]!.txId), [['sensitive', 1]]);
  });

  it('a grant made after a revocation carries epochs 0..1; list shows key counts', async () => {
    const third = await grant('general');
    assert.deepEqual([third.keyCount, third.epoch], [2, 1]);
    await assertKeysOpen(await txKeys(third.txId), [
      ['general', 0],
      ['general', 1],
    ]);

    const human = await roam(['consent', 'list', '--wallet', patientWallet, '--node', node!.url]);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /^id\s+grantee\s+scope\s+access\s+expires\s+status\s+keys\n/);
    assert.match(human.stdout, new RegExp(`${third.grantId}\\s.*\\sactive\\s+2\\n`));
    assert.match(human.stdout, new RegExp(`${first!.grantId}\\s.*\\srevoked\\s+2\\n`));

    // Revoking the second grant (human output) rekeys the third with epoch 2.
    const revoked = await roam([
      'consent',
      'revoke',
      '--wallet',
      patientWallet,
      '--grant',
      second!.grantId,
      '--node',
      node!.url,
    ]);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.match(revoked.stdout, /new key epoch:\s+2\n/);
    assert.match(
      revoked.stdout,
      new RegExp(`Rekeyed 1 active grant with the epoch 2 keys:\\n  ${third.grantId} `),
    );
    assert.equal((await keyCounts()).get(third.grantId), 3);
  });

  it('a wallet that is not a patient’s cannot grant or revoke', async () => {
    const admin = join(data, 'admin.wallet.json');
    const granted = await roam([
      'consent',
      'grant',
      '--wallet',
      admin,
      '--to',
      orgDid,
      '--scope',
      'all',
      '--node',
      node!.url,
    ]);
    assert.equal(granted.status, 2);
    assert.match(
      granted.stderr,
      /^roam: USAGE: .*admin\.wallet\.json is a admin wallet, not a patient wallet/,
    );
    const revoked = await roam([
      'consent',
      'revoke',
      '--wallet',
      admin,
      '--grant',
      'g-x',
      '--node',
      node!.url,
    ]);
    assert.equal(revoked.status, 2);
  });

  it('granting to an organization that is not a member fails before any transaction', async () => {
    const stranger = await roamJson<{ did: string }>([
      'wallet',
      'create',
      '--out',
      join(dir, 'stranger.wallet.json'),
      '--role',
      'practitioner',
    ]);
    const granted = await roam([
      'consent',
      'grant',
      '--wallet',
      patientWallet,
      '--to',
      stranger.did,
      '--scope',
      'all',
      '--node',
      node!.url,
    ]);
    assert.equal(granted.status, 1);
    assert.match(granted.stderr, /^roam: UNKNOWN_ORG: .* is not a member organization/);
  });
});
