// node:test's describe/it return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createTestNetwork,
  expectOk,
  registerPatient,
  type TestLedger,
  type TestWallet,
} from '../../contracts/testing.js';
import { generateEncryptionKeyPair, randomBytes } from '../../crypto/index.js';
import { deriveRecordKey, sealGrantKeys } from '../../vault/index.js';
import { GrantKeyRing } from './grant-keys.js';

/** A ledger in memory with `patients` patients, each granting the organization `orgDid` its keys. */
async function grantedNetwork(patients: number): Promise<{
  ledger: TestLedger;
  orgDid: string;
  orgSecretKey: Uint8Array;
  wallets: TestWallet[];
  seed: Uint8Array;
  seal: (patient: TestWallet, epochs: readonly number[]) => Promise<Array<Record<string, unknown>>>;
}> {
  const { ledger, orgs } = createTestNetwork({ orgs: 1 });
  const orgDid = orgs[0]!.org.did;
  // The ledger keeps sealed keys opaque: sealing to this pair is what a patient's client does.
  const orgKeys = generateEncryptionKeyPair();
  const seed = randomBytes(32);
  const seal = async (patient: TestWallet, epochs: readonly number[]) =>
    // Plain objects, as a transaction payload carries them.
    (
      await sealGrantKeys({
        recordKeySeed: seed,
        patient: patient.did,
        grantee: orgDid,
        granteePublicKey: orgKeys.publicKey,
        keys: epochs.map((epoch) => ({ class: 'general' as const, epoch })),
      })
    ).map((key) => ({ ...key }));
  const wallets: TestWallet[] = [];
  for (let i = 0; i < patients; i++) {
    const patient = registerPatient(ledger);
    expectOk(
      ledger.submit(patient, 'consent.grant', {
        grantId: `grant-000${i}`,
        grantee: orgDid,
        scope: { resourceTypes: ['*'], classes: ['general'] },
        purpose: 'treatment',
        access: 'read',
        expiresAt: null,
        keys: await seal(patient, [0]),
      }),
    );
    wallets.push(patient);
  }
  return { ledger, orgDid, orgSecretKey: orgKeys.secretKey, wallets, seed, seal };
}

describe('GrantKeyRing: opened grant keys, bounded and never stale', () => {
  it('keeps at most maxOpenedGrants grants open; an evicted one is opened again, the same key', async () => {
    const { ledger, orgDid, orgSecretKey, wallets, seed } = await grantedNetwork(5);
    const ring = new GrantKeyRing(
      { orgDid, orgEncryptionSecretKey: orgSecretKey, state: ledger },
      { maxOpenedGrants: 2 },
    );
    for (const patient of wallets) {
      const keys = await ring.keysOf(patient.did);
      assert.deepEqual(keys.get('general|0'), deriveRecordKey(seed, patient.did, 'general', 0));
      assert.ok(ring.openedGrants <= 2, `the bound holds (${ring.openedGrants} open)`);
    }
    // The first patient's grant was evicted long ago: opened again, and right.
    const again = await ring.keysOf(wallets[0]!.did);
    assert.deepEqual(again.get('general|0'), deriveRecordKey(seed, wallets[0]!.did, 'general', 0));
    assert.equal(ring.openedGrants, 2);
  });

  it('serves no key of a revoked grant, whether its keys are still open or were evicted', async () => {
    const { ledger, orgDid, orgSecretKey, wallets } = await grantedNetwork(3);
    const ring = new GrantKeyRing(
      { orgDid, orgEncryptionSecretKey: orgSecretKey, state: ledger },
      { maxOpenedGrants: 2 },
    );
    const [revoked, other, third] = wallets as [TestWallet, TestWallet, TestWallet];
    assert.equal((await ring.keysOf(revoked.did)).size, 1);
    expectOk(ledger.submit(revoked, 'consent.revoke', { grantId: 'grant-0000' }));
    assert.equal((await ring.keysOf(revoked.did)).size, 0, 'revoked while its keys were open');
    await ring.keysOf(other.did);
    await ring.keysOf(third.did);
    assert.equal((await ring.keysOf(revoked.did)).size, 0, 'revoked, evicted, asked again');
  });

  it('a rekeyed grant (a rotation adds the next epoch) gives its new keys, not the ones opened before', async () => {
    const { ledger, orgDid, orgSecretKey, wallets, seed, seal } = await grantedNetwork(1);
    const ring = new GrantKeyRing({ orgDid, orgEncryptionSecretKey: orgSecretKey, state: ledger });
    const patient = wallets[0]!;
    assert.deepEqual([...(await ring.keysOf(patient.did)).keys()], ['general|0']);
    expectOk(
      ledger.submit(patient, 'consent.rekey', { grantId: 'grant-0000', keys: await seal(patient, [1]) }),
    );
    const keys = await ring.keysOf(patient.did);
    assert.deepEqual([...keys.keys()].sort(), ['general|0', 'general|1']);
    assert.deepEqual(keys.get('general|1'), deriveRecordKey(seed, patient.did, 'general', 1));
    assert.equal(GrantKeyRing.highestEpoch(keys, 'general'), 1);
  });
});
