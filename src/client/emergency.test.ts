import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createContractRegistry } from '../contracts/index.js';
import { generateEncryptionKeyPair, toBase64Url } from '../crypto/index.js';
import { createWallet, deriveRecordKeySeed } from '../wallet/index.js';
import type { EnabledEmergencyPolicySummary } from '../wire/index.js';
import {
  buildEmergencyEnable,
  buildEscrowRefresh,
  consentRotateTx,
  emergencyAccessTx,
  emergencyDisableTx,
  emergencyFlagTx,
  selectTrustees,
  type TrusteeCandidate,
} from './emergency.js';
import { ClientErrorCode } from './errors.js';

const { wallet: patient } = createWallet('patient');
const recordKeySeed = deriveRecordKeySeed(patient);
const registry = createContractRegistry();

function orgs(count: number, status: TrusteeCandidate['status'] = 'active'): TrusteeCandidate[] {
  return Array.from({ length: count }, (_, i) => ({
    did: createWallet('node').wallet.did,
    name: `Org ${i}`,
    encryptionKey: toBase64Url(generateEncryptionKeyPair().publicKey),
    status,
  }));
}

/** Parses like the ledger would: throws INVALID_PAYLOAD on a payload the contract refuses. */
function parses(type: string, payload: unknown): void {
  registry.get(type as never)?.parse(JSON.parse(JSON.stringify(payload)));
}

describe('selectTrustees', () => {
  it('defaults to every active member, at most seven, in ledger order', () => {
    const members = [...orgs(2, 'suspended'), ...orgs(9)];
    assert.deepEqual(selectTrustees(members), members.slice(2, 9));
  });

  it('takes DIDs or names; refuses an unknown, inactive or repeated one', () => {
    const [a, b] = orgs(2);
    const [suspended] = orgs(1, 'suspended');
    const all = [a!, b!, suspended!];
    assert.deepEqual(selectTrustees(all, [b!.did, 'Org 0']), [b, a]);
    for (const wanted of [['Nowhere'], [suspended!.did], [a!.did, 'Org 0']]) {
      assert.throws(() => selectTrustees(all, wanted), { code: ClientErrorCode.INVALID_ARGUMENT });
    }
  });
});

describe('builders', () => {
  it('buildEmergencyEnable: general only and a strict majority by default; the contract takes it', async () => {
    const trustees = orgs(3);
    const tx = await buildEmergencyEnable({ patient: patient.did, recordKeySeed, trustees, epoch: 2 });
    assert.equal(tx.type, 'emergency.enable');
    assert.deepEqual([tx.payload.classes, tx.payload.threshold, tx.payload.escrow.epoch], [['general'], 2, 2]);
    assert.deepEqual(tx.payload.trustees.map((t) => t.org), trustees.map((t) => t.did));
    parses(tx.type, tx.payload);
  });

  it('buildEscrowRefresh: nothing when not enabled or already at the epoch; else the same classes and active trustees', async () => {
    const trustees = orgs(3);
    const policy: EnabledEmergencyPolicySummary = {
      patient: patient.did,
      status: 'enabled',
      version: 1,
      classes: ['general', 'sensitive'],
      threshold: 3,
      trustees: trustees.map((t) => t.did),
      escrow: { commitment: 'a'.repeat(64), epoch: 0 },
      updatedAt: 0,
    };
    const base = { orgs: trustees, patient: patient.did, recordKeySeed };
    assert.equal(await buildEscrowRefresh({ ...base, policy: null, epoch: 1 }), undefined);
    assert.equal(await buildEscrowRefresh({ ...base, policy, epoch: 0 }), undefined);
    const disabled = { patient: patient.did, status: 'disabled' as const, version: 2, updatedAt: 0 };
    assert.equal(await buildEscrowRefresh({ ...base, policy: disabled, epoch: 1 }), undefined);
    const oneSuspended = [{ ...trustees[0]!, status: 'suspended' as const }, ...trustees.slice(1)];
    const tx = await buildEscrowRefresh({ ...base, orgs: oneSuspended, policy, epoch: 1 });
    assert.ok(tx);
    assert.deepEqual(tx.payload.classes, ['general', 'sensitive']);
    assert.deepEqual(tx.payload.trustees.map((t) => t.org), trustees.slice(1).map((t) => t.did));
    assert.equal(tx.payload.threshold, 2, 'lowered to the trustees that remain');
    assert.equal(tx.payload.escrow.epoch, 1);
  });

  it('the other builders give payloads the contracts take; access ids are fresh', () => {
    const a = emergencyAccessTx({ patient: patient.did, reason: 'BTG', durationMs: 60_000 });
    const b = emergencyAccessTx({ patient: patient.did, reason: 'BTG', durationMs: 60_000 });
    assert.notEqual(a.payload.id, b.payload.id);
    for (const tx of [a, emergencyDisableTx(), emergencyFlagTx({ access: a.payload.id }), consentRotateTx()]) {
      parses(tx.type, tx.payload);
    }
  });
});
