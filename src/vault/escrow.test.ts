import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MAX_EMERGENCY_TRUSTEES, sealedShareSchema } from '../contracts/emergency.js';
import {
  concatBytes,
  fromBase64Url,
  generateEncryptionKeyPair,
  sha256Hex,
  toBase64Url,
  utf8ToBytes,
  type EncryptionKeyPair,
} from '../crypto/index.js';
import { createWallet, deriveRecordKeySeed } from '../wallet/index.js';
import {
  createEscrow,
  defaultEmergencyThreshold,
  escrowCommitment,
  MAX_ESCROW_TRUSTEES,
  openEscrowedKeys,
  openEscrowShare,
  openReleasedShare,
  reconstructEscrowKey,
  sealReleasedShare,
  type Escrow,
} from './escrow.js';
import { EscrowErrorCode, VaultErrorCode } from './errors.js';
import { deriveRecordKey } from './keys.js';

const { wallet: patient } = createWallet('patient');
const seed = deriveRecordKeySeed(patient);
const ACCESS = 'access-0001';

interface Trustee {
  readonly org: string;
  readonly keys: EncryptionKeyPair;
}

function trustees(count: number): Trustee[] {
  return Array.from({ length: count }, (_, i) => ({ org: `did:key:org${i}`, keys: generateEncryptionKeyPair() }));
}

async function escrowFor(orgs: readonly Trustee[], threshold: number, epoch = 0): Promise<Escrow> {
  return createEscrow({
    patient: patient.did,
    recordKeySeed: seed,
    classes: ['general', 'sensitive'],
    epoch,
    trustees: orgs.map((t) => ({ org: t.org, publicKey: t.keys.publicKey })),
    threshold,
  });
}

/** What the trustees of `escrow` release to `requester`, opened by the requester. */
async function releasedShares(escrow: Escrow, orgs: readonly Trustee[], requester: Trustee): Promise<Uint8Array[]> {
  const { commitment } = escrow.escrow;
  const opened: Uint8Array[] = [];
  for (const trustee of orgs) {
    const share = await openEscrowShare({
      sealed: escrow.trustees.find((t) => t.org === trustee.org)?.share,
      secretKey: trustee.keys.secretKey,
      patient: patient.did,
      trustee: trustee.org,
      commitment,
    });
    const sealed = await sealReleasedShare({
      share,
      requesterPublicKey: requester.keys.publicKey,
      access: ACCESS,
      requester: requester.org,
      commitment,
    });
    assert.ok(sealedShareSchema.safeParse(sealed).success, 'a released share fits the contract schema');
    opened.push(
      await openReleasedShare({ sealed, secretKey: requester.keys.secretKey, access: ACCESS, requester: requester.org, commitment }),
    );
  }
  return opened;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => (error as { code?: string }).code === code);
}

describe('emergency escrow', () => {
  it('round trip 3-of-5: two trustees down, the requester opens every escrowed key', async () => {
    const orgs = trustees(5);
    const [requester] = trustees(1);
    const escrow = await escrowFor(orgs, 3, 2);
    for (const { share } of escrow.trustees) assert.ok(sealedShareSchema.safeParse(share).success);
    const shares = await releasedShares(escrow, orgs.slice(2), requester!);
    const key = await reconstructEscrowKey({ shares, threshold: 3, commitment: escrow.escrow.commitment, patient: patient.did });
    assert.equal(escrowCommitment(patient.did, key), escrow.escrow.commitment);
    const opened = await openEscrowedKeys({ escrowKey: key, keys: escrow.escrow.keys, patient: patient.did, commitment: escrow.escrow.commitment });
    assert.equal(opened.length, 6);
    for (const entry of opened) {
      assert.deepEqual(entry.key, deriveRecordKey(seed, patient.did, entry.class, entry.epoch));
    }
    assert.deepEqual(
      opened.map((e) => `${e.class}/${e.epoch}`),
      ['general/0', 'general/1', 'general/2', 'sensitive/0', 'sensitive/1', 'sensitive/2'],
    );
  });

  it('commitment is SHA-256 of the domain string, the patient and E', () => {
    const key = new Uint8Array(32).fill(7);
    const expected = sha256Hex(concatBytes(utf8ToBytes(`roam-escrow-v1\n${patient.did}\n`), key));
    assert.equal(escrowCommitment(patient.did, key), expected);
    assert.notEqual(escrowCommitment('did:key:other', key), expected);
  });

  it('1-of-1 (a one-organization network): the single share opens the escrow', async () => {
    const orgs = trustees(1);
    const escrow = await escrowFor(orgs, 1);
    const shares = await releasedShares(escrow, orgs, orgs[0]!);
    const key = await reconstructEscrowKey({ shares, threshold: 1, commitment: escrow.escrow.commitment, patient: patient.did });
    const opened = await openEscrowedKeys({ escrowKey: key, keys: escrow.escrow.keys, patient: patient.did, commitment: escrow.escrow.commitment });
    assert.equal(opened.length, 2);
  });

  it('a forged share among k+1 is skipped; only forged ones give EMERGENCY_SHARES_INVALID', async () => {
    const orgs = trustees(3);
    const [requester] = trustees(1);
    const escrow = await escrowFor(orgs, 2);
    const good = await releasedShares(escrow, orgs, requester!);
    const forged = new Uint8Array(33).fill(9);
    forged[32] = good[0]![32]!; // the same x coordinate as a real share
    const withForged = [forged, good[1]!, good[2]!];
    const input = { threshold: 2, commitment: escrow.escrow.commitment, patient: patient.did };
    const key = await reconstructEscrowKey({ ...input, shares: withForged });
    assert.equal(escrowCommitment(patient.did, key), escrow.escrow.commitment);
    const tampered = good.map((share) => {
      const copy = share.slice();
      copy[0] = copy[0]! ^ 1;
      return copy;
    });
    await rejectsWith(reconstructEscrowKey({ ...input, shares: tampered }), EscrowErrorCode.SHARES_INVALID);
    await rejectsWith(reconstructEscrowKey({ ...input, shares: [forged, forged.slice(0, 20)] }), EscrowErrorCode.SHARES_INVALID);
  });

  it('too few shares give EMERGENCY_SHARES_INSUFFICIENT', async () => {
    const orgs = trustees(3);
    const escrow = await escrowFor(orgs, 2);
    const good = await releasedShares(escrow, orgs.slice(0, 1), orgs[0]!);
    await rejectsWith(
      reconstructEscrowKey({ shares: good, threshold: 2, commitment: escrow.escrow.commitment, patient: patient.did }),
      EscrowErrorCode.SHARES_INSUFFICIENT,
    );
  });

  it('a share opens only for its trustee, patient and commitment; a release only for its requester and access', async () => {
    const orgs = trustees(2);
    const escrow = await escrowFor(orgs, 2);
    const { commitment } = escrow.escrow;
    const base = { sealed: escrow.trustees[0]!.share, patient: patient.did, trustee: orgs[0]!.org, commitment };
    const share = await openEscrowShare({ ...base, secretKey: orgs[0]!.keys.secretKey });
    await rejectsWith(openEscrowShare({ ...base, secretKey: orgs[1]!.keys.secretKey }), EscrowErrorCode.SHARE_OPEN_FAILED);
    await rejectsWith(openEscrowShare({ ...base, secretKey: orgs[0]!.keys.secretKey, trustee: orgs[1]!.org }), EscrowErrorCode.SHARE_OPEN_FAILED);
    await rejectsWith(openEscrowShare({ ...base, secretKey: orgs[0]!.keys.secretKey, patient: 'did:key:other' }), EscrowErrorCode.SHARE_OPEN_FAILED);
    await rejectsWith(openEscrowShare({ ...base, secretKey: orgs[0]!.keys.secretKey, commitment: '0'.repeat(64) }), EscrowErrorCode.SHARE_OPEN_FAILED);
    await rejectsWith(openEscrowShare({ ...base, secretKey: orgs[0]!.keys.secretKey, sealed: { ...base.sealed, ct: toBase64Url(new Uint8Array(49)) } }), EscrowErrorCode.SHARE_OPEN_FAILED);
    await rejectsWith(openEscrowShare({ ...base, secretKey: orgs[0]!.keys.secretKey, sealed: 'junk' }), EscrowErrorCode.SHARE_OPEN_FAILED);

    const [requester, other] = trustees(2);
    const release = { access: ACCESS, requester: requester!.org, commitment };
    const sealed = await sealReleasedShare({ ...release, share, requesterPublicKey: requester!.keys.publicKey });
    assert.deepEqual(await openReleasedShare({ ...release, sealed, secretKey: requester!.keys.secretKey }), share);
    await rejectsWith(openReleasedShare({ ...release, sealed, secretKey: other!.keys.secretKey }), EscrowErrorCode.SHARE_OPEN_FAILED);
    await rejectsWith(openReleasedShare({ ...release, sealed, secretKey: requester!.keys.secretKey, access: 'access-0002' }), EscrowErrorCode.SHARE_OPEN_FAILED);
    await rejectsWith(openReleasedShare({ ...release, sealed, secretKey: requester!.keys.secretKey, requester: other!.org }), EscrowErrorCode.SHARE_OPEN_FAILED);
  });

  it('the escrowed keys open only under E for that patient and commitment', async () => {
    const orgs = trustees(1);
    const escrow = await escrowFor(orgs, 1);
    const shares = await releasedShares(escrow, orgs, orgs[0]!);
    const { commitment, keys } = escrow.escrow;
    const key = await reconstructEscrowKey({ shares, threshold: 1, commitment, patient: patient.did });
    const input = { escrowKey: key, keys, patient: patient.did, commitment };
    await rejectsWith(openEscrowedKeys({ ...input, escrowKey: new Uint8Array(32) }), EscrowErrorCode.KEYS_OPEN_FAILED);
    await rejectsWith(openEscrowedKeys({ ...input, patient: 'did:key:other' }), EscrowErrorCode.KEYS_OPEN_FAILED);
    await rejectsWith(openEscrowedKeys({ ...input, commitment: '0'.repeat(64) }), EscrowErrorCode.KEYS_OPEN_FAILED);
    const ct = fromBase64Url(keys.ct);
    ct[0] = ct[0]! ^ 1;
    await rejectsWith(openEscrowedKeys({ ...input, keys: { ...keys, ct: toBase64Url(ct) } }), EscrowErrorCode.KEYS_OPEN_FAILED);
  });

  it('each escrow has a fresh E: two escrows of the same keys differ in commitment and ciphertext', async () => {
    const orgs = trustees(1);
    const [a, b] = [await escrowFor(orgs, 1), await escrowFor(orgs, 1)];
    assert.notEqual(a.escrow.commitment, b.escrow.commitment);
    assert.notEqual(a.escrow.keys.ct, b.escrow.keys.ct);
  });

  it('refuses bad arguments with VAULT_INVALID_ARGUMENT', async () => {
    const orgs = trustees(2);
    const bad = [
      { threshold: 3 },
      { threshold: 0 },
      { classes: [] },
      { classes: ['general', 'general'] },
      { trustees: [] },
      { trustees: [orgs[0], orgs[0]].map((t) => ({ org: t!.org, publicKey: t!.keys.publicKey })) },
      { trustees: trustees(8).map((t) => ({ org: t.org, publicKey: t.keys.publicKey })) },
    ];
    for (const override of bad) {
      await rejectsWith(
        createEscrow({
          patient: patient.did,
          recordKeySeed: seed,
          classes: ['general'],
          epoch: 0,
          trustees: orgs.map((t) => ({ org: t.org, publicKey: t.keys.publicKey })),
          threshold: 1,
          ...(override as object),
        }),
        VaultErrorCode.INVALID_ARGUMENT,
      );
    }
  });

  it('default threshold: a strict majority; at most as many trustees as the contract takes', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(defaultEmergencyThreshold), [1, 2, 2, 3, 3, 4, 4]);
    assert.equal(MAX_ESCROW_TRUSTEES, MAX_EMERGENCY_TRUSTEES);
  });

  it('stays portable: no node: imports (the web app bundles it)', () => {
    const source = readFileSync(new URL('./escrow.ts', import.meta.url), 'utf8');
    assert.doesNotMatch(source, /from 'node:/);
  });
});
