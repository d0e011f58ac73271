// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * A patient's emergency policy through the real CLI and node (a one-organization network, so the
 * escrow is 1-of-1 with the organization as trustee): enable → show → disable → show; a
 * break-glass shows in `roam emergency show` and the patient flags it; `roam consent rotate`
 * moves the epoch and refreshes the escrow. The escrow committed on the ledger is opened with
 * the organization's X25519 secret (from the node's key file) back to the patient's record keys.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RoamClient, signedTx } from '../../src/client/index.js';
import { emergencyAccessTx } from '../../src/client/emergency.js';
import type { EmergencyEnablePayload } from '../../src/contracts/index.js';
import { encryptionKeyPairFromSeed, fromBase64Url } from '../../src/crypto/index.js';
import {
  deriveRecordKey,
  escrowCommitment,
  openEscrowedKeys,
  openEscrowShare,
  reconstructEscrowKey,
} from '../../src/vault/index.js';
import { deriveRecordKeySeed, loadWallet } from '../../src/wallet/index.js';
import type { EmergencyResponse } from '../../src/wire/index.js';
import { PASSPHRASE, roam, roamJson, startCli, tempDir, type RunningCli } from './harness.js';

interface EnableOutput {
  status: string;
  txId: string;
  epoch: number;
  classes: string[];
  threshold: number;
  trustees: Array<{ did: string; name: string }>;
  commitment: string;
}

type ShowOutput = EmergencyResponse & { accesses: Array<EmergencyResponse['accesses'][number] & { active: boolean }> };

interface RotateOutput {
  epoch: number;
  escrow: { status: string; epoch?: number; commitment?: string; txId?: string };
}

describe('roam emergency: the patient decides beforehand, and sees every break-glass', () => {
  const { dir, cleanup } = tempDir();
  const data = join(dir, 'node');
  const patientWallet = join(dir, 'patient.wallet.json');
  const medicWallet = join(dir, 'medic.wallet.json');
  let node: RunningCli | undefined;
  let orgDid = '';
  let patientDid = '';
  let orgSecret: Uint8Array = new Uint8Array();
  let recordKeySeed: Uint8Array = new Uint8Array();

  const cli = (args: readonly string[]) => [...args, '--wallet', patientWallet, '--node', node!.url];
  const show = () => roamJson<ShowOutput>(cli(['emergency', 'show']));

  /** Opens the escrow of a committed `emergency.enable` as the trustee would, back to the record keys. */
  const assertEscrowOpens = async (txId: string, epochs: number) => {
    const tx = await roamJson<{ code: string; tx: { payload: EmergencyEnablePayload } }>(cli(['ledger', 'tx', txId]));
    assert.equal(tx.code, 'OK');
    const { trustees, escrow, threshold } = tx.tx.payload;
    assert.deepEqual(trustees.map((t) => t.org), [orgDid]);
    const share = await openEscrowShare({
      sealed: trustees[0]!.share,
      secretKey: orgSecret,
      patient: patientDid,
      trustee: orgDid,
      commitment: escrow.commitment,
    });
    const key = await reconstructEscrowKey({ shares: [share], threshold, commitment: escrow.commitment, patient: patientDid });
    assert.equal(escrowCommitment(patientDid, key), escrow.commitment);
    const keys = await openEscrowedKeys({ escrowKey: key, keys: escrow.keys, patient: patientDid, commitment: escrow.commitment });
    assert.deepEqual(
      keys.map((k) => [k.class, k.epoch]),
      Array.from({ length: epochs }, (_, epoch) => ['general', epoch]),
    );
    for (const k of keys) assert.deepEqual(k.key, deriveRecordKey(recordKeySeed, patientDid, k.class, k.epoch));
  };

  before(async () => {
    const init = await roamJson<{ orgDid: string }>(['init', '--data', data, '--org', 'Notfall Klinik', '--region', 'eu', '--port', '0']);
    orgDid = init.orgDid;
    const nodeKey = JSON.parse(readFileSync(join(data, 'node.key.json'), 'utf8')) as { orgEncryptionSeed: string };
    orgSecret = encryptionKeyPairFromSeed(fromBase64Url(nodeKey.orgEncryptionSeed)).secretKey;
    node = await startCli(['start', '--data', data, '--port', '0']);
    patientDid = (await roamJson<{ did: string }>(['wallet', 'create', '--out', patientWallet, '--role', 'patient'])).did;
    recordKeySeed = deriveRecordKeySeed(await loadWallet(patientWallet, PASSPHRASE));
    await roamJson(['patient', 'register', '--wallet', patientWallet, '--node', node.url]);
  });

  after(async () => {
    await node?.stop('SIGKILL');
    cleanup();
  });

  it('show before anything: never enabled, no break-glass', async () => {
    const shown = await show();
    assert.deepEqual([shown.policy, shown.accesses], [null, []]);
  });

  it('enable → show: the escrow is 1-of-1 with the organization, and opens to the record keys', async () => {
    const enabled = await roamJson<EnableOutput>(cli(['emergency', 'enable']));
    assert.deepEqual([enabled.status, enabled.epoch, enabled.threshold, enabled.classes], ['enabled', 0, 1, ['general']]);
    assert.deepEqual(enabled.trustees, [{ did: orgDid, name: 'Notfall Klinik' }]);
    await assertEscrowOpens(enabled.txId, 1);
    const shown = await show();
    assert.equal(shown.policy?.status, 'enabled');
    assert.equal(shown.policy.status === 'enabled' && shown.policy.escrow.commitment, enabled.commitment);
    const human = await roam(cli(['emergency', 'show']));
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /^Emergency access: enabled\n/);
    assert.match(human.stdout, /trustees:\s+Notfall Klinik\n/);
    assert.match(human.stdout, /threshold:\s+1 of 1\n/);
  });

  it('disable → show: disabled, the escrow gone; a second disable is refused', async () => {
    const disabled = await roamJson<{ status: string }>(cli(['emergency', 'disable']));
    assert.equal(disabled.status, 'disabled');
    const shown = await show();
    assert.equal(shown.policy?.status, 'disabled');
    assert.equal(shown.policy.version, 2);
    assert.equal('escrow' in shown.policy, false);
    const again = await roam(cli(['emergency', 'disable']));
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^roam: EMERGENCY_DISABLED: /);
  });

  it('a break-glass shows (who, organization, region, when, why) and the patient flags it', async () => {
    await roamJson(cli(['emergency', 'enable']));
    const medicDid = (await roamJson<{ did: string }>(['wallet', 'create', '--out', medicWallet, '--role', 'practitioner'])).did;
    await roamJson([
      'org', 'add-practitioner', '--wallet', join(data, 'admin.wallet.json'), '--practitioner-wallet', medicWallet,
      '--roles', 'emergency', '--node', node!.url,
    ]);
    const medic = await loadWallet(medicWallet, PASSPHRASE);
    const client = new RoamClient(node!.url);
    const { chainId } = await client.status();
    const tx = emergencyAccessTx({ patient: patientDid, reason: 'ETREAT', durationMs: 3_600_000 });
    const committed = await client.submit(signedTx(medic, tx.type, tx.payload, { chainId }), { wait: 'commit' });
    assert.equal(committed.code, 'OK');

    const [access] = (await show()).accesses;
    assert.ok(access);
    assert.deepEqual(
      [access.id, access.requester, access.org, access.orgName, access.region, access.reason, access.active, access.flagged],
      [tx.payload.id, medicDid, orgDid, 'Notfall Klinik', 'eu', 'ETREAT', true, undefined],
    );
    assert.equal(access.end - access.start, 3_600_000);
    const human = await roam(cli(['emergency', 'show']));
    assert.match(human.stdout, new RegExp(`${tx.payload.id}\\s.*Notfall Klinik\\s+eu\\s.*\\(active\\)\\s+ETREAT\\s+0/1\\s+no\\n`));

    const flagged = await roamJson<{ flagged: boolean }>(cli(['emergency', 'flag', tx.payload.id]));
    assert.equal(flagged.flagged, true);
    assert.equal((await show()).accesses[0]?.flagged?.by, patientDid);
  });

  it('consent rotate: the epoch moves up and the escrow is refreshed with the new keys', async () => {
    const before = await show();
    assert.ok(before.policy?.status === 'enabled');
    const rotated = await roamJson<RotateOutput>(cli(['consent', 'rotate']));
    assert.equal(rotated.epoch, 1);
    assert.equal(rotated.escrow.status, 'refreshed');
    assert.equal(rotated.escrow.epoch, 1);
    assert.notEqual(rotated.escrow.commitment, before.policy.escrow.commitment);
    const after = await show();
    assert.ok(after.policy?.status === 'enabled');
    assert.deepEqual([after.policy.escrow.epoch, after.policy.escrow.commitment], [1, rotated.escrow.commitment]);
    await assertEscrowOpens(rotated.escrow.txId!, 2);
  });
});
