// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * Break-glass key reconstruction (issue 12 §2, "a forged release share") with the real escrow
 * crypto: a requesting node opens the released shares and reconstructs the escrow key from
 * `threshold` of them, checked against the commitment, so a forged share (well sealed to the
 * requesting organization, but not a share of the key) is skipped while enough good shares exist;
 * with only forged ones the access stays without keys (EMERGENCY_SHARES_INVALID).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { newEmergencyId } from '../../src/client/index.js';
import { generateEncryptionKeyPair } from '../../src/crypto/index.js';
import {
  EmergencyKeyStore,
  KeyReconstruction,
  type EmergencyAccessRecord,
} from '../../src/node/emergency/index.js';
import { createEscrow, deriveRecordKey, openEscrowShare, sealReleasedShare } from '../../src/vault/index.js';
import { createWallet, deriveRecordKeySeed } from '../../src/wallet/index.js';

describe('security: break-glass key reconstruction with forged release shares', () => {
  test('a forged share is skipped when enough good ones exist; only forged ones give EMERGENCY_SHARES_INVALID', async () => {
    const patient = createWallet('patient').wallet;
    const seed = deriveRecordKeySeed(patient);
    const trustees = ['did:key:z6MkTrusteeA', 'did:key:z6MkTrusteeB', 'did:key:z6MkTrusteeC'].map((org) => ({
      org,
      keys: generateEncryptionKeyPair(),
    }));
    const requester = { org: 'did:key:z6MkRequester', keys: generateEncryptionKeyPair() };
    const { trustees: sealed, escrow } = await createEscrow({
      patient: patient.did,
      recordKeySeed: seed,
      classes: ['general'],
      epoch: 0,
      trustees: trustees.map((t) => ({ org: t.org, publicKey: t.keys.publicKey })),
      threshold: 2,
    });
    const id = newEmergencyId();
    const binding = { access: id, requester: requester.org, commitment: escrow.commitment };
    /** Trustee i's release of `share`, sealed to the requesting organization as a trustee node does. */
    const releaseOf = async (i: number, share: Uint8Array) => ({
      org: trustees[i]!.org,
      node: trustees[i]!.org,
      at: 0,
      share: await sealReleasedShare({ ...binding, requesterPublicKey: requester.keys.publicKey, share }),
    });
    const release = async (i: number) =>
      releaseOf(
        i,
        await openEscrowShare({
          sealed: sealed[i]!.share,
          secretKey: trustees[i]!.keys.secretKey,
          patient: patient.did,
          trustee: trustees[i]!.org,
          commitment: escrow.commitment,
        }),
      );
    // A forged release: a well-sealed share that is not a share of the escrow key.
    const forged = async (i: number) => releaseOf(i, new Uint8Array(randomBytes(33)));
    const accessWith = (releases: EmergencyAccessRecord['releases']): EmergencyAccessRecord => ({
      id,
      patient: patient.did,
      requester: 'did:key:z6MkDoctor',
      org: requester.org,
      reason: 'ETREAT',
      start: 0,
      end: Date.now() + 60_000,
      policyVersion: 1,
      classes: ['general'],
      threshold: 2,
      trustees: sealed,
      escrow,
      releases,
    });
    const reconstructionWith = (store: EmergencyKeyStore) =>
      new KeyReconstruction(
        {
          orgDid: requester.org,
          orgEncryptionSecretKey: requester.keys.secretKey,
          state: { get: () => undefined, range: () => [] },
        },
        store,
      );

    const good = new EmergencyKeyStore();
    const mixed = accessWith([await forged(0), await release(1), await release(2)]);
    assert.deepEqual(await reconstructionWith(good).reconstruct(mixed, Date.now()), { state: 'ready' });
    assert.deepEqual(
      good.keysOf(patient.did).get('general|0'),
      deriveRecordKey(seed, patient.did, 'general', 0),
    );

    const bad = new EmergencyKeyStore();
    const onlyForged = accessWith([await forged(0), await forged(1), await release(2)]);
    const status = await reconstructionWith(bad).reconstruct(onlyForged, Date.now());
    assert.equal(status.state, 'invalid');
    assert.equal(status.state === 'invalid' ? status.code : '', 'EMERGENCY_SHARES_INVALID');
    assert.equal(bad.keysOf(patient.did).size, 0);
    good.clear();
  });
});
