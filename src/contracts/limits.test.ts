import assert from 'node:assert/strict';
import { it } from 'node:test';
import { canonicalJson, utf8ToBytes } from '../crypto/index.js';
import { createTx } from '../ledger/tx.js';
import { TX_TYPES, type TxType } from '../ledger/types.js';
import {
  createContractRegistry,
  MAX_ANCHORS_PER_TX,
  MAX_AUDIT_BATCH,
  MAX_EMERGENCY_DURATION_MS,
  MAX_EMERGENCY_TRUSTEES,
  MAX_ESCROW_KEYS_CT_LENGTH,
  MAX_GRANT_KEYS,
  MAX_TX_BYTES,
} from './index.js';
import { makeWallet, testSealedKey, testSealedShare } from './testing.js';

const did = makeWallet(1).did;
const registry = createContractRegistry();

/** Bytes of the largest envelope fields around `payload`: a 128-character chain id, a 64-character nonce. */
function txBytes(type: TxType, payload: unknown): number {
  const tx = createTx({ chainId: 'c'.repeat(128), type, signer: did, payload, nonce: 'n'.repeat(64), issuedAt: 2 ** 52 });
  return utf8ToBytes(canonicalJson(tx)).length;
}

function letter(n: number): string {
  return String.fromCharCode(97 + (Math.floor(n) % 26));
}

/** The largest payload its schema takes (as far as the ledger's own clients build them). */
const largest: Partial<Record<TxType, unknown>> = {
  'identity.patient.register': { encryptionKey: makeWallet(2).encryptionKey },
  'gov.proposal.open': {
    proposalId: 'p'.repeat(64),
    kind: 'node.rotate-key',
    node: did,
    signingKey: makeWallet(3).encryptionKey,
    encryptionKey: makeWallet(4).encryptionKey,
  },
  'records.anchor': {
    anchors: Array.from({ length: MAX_ANCHORS_PER_TX }, (_, i) => ({
      recordId: `${i}`.padStart(128, 'r'),
      version: 2 ** 52,
      patient: did,
      resourceType: 'R'.repeat(64),
      class: 'sensitive',
      contentHash: 'f'.repeat(64),
      author: did,
      epoch: 2 ** 52,
    })),
  },
  'consent.grant': {
    grantId: 'g'.repeat(64),
    grantee: did,
    scope: { resourceTypes: Array.from({ length: 64 }, (_, i) => `R${letter(i)}${letter(i / 26)}`.padEnd(64, 'x')), classes: ['general', 'sensitive'] },
    purpose: 'operations',
    access: 'write',
    expiresAt: 2 ** 52,
    keys: Array.from({ length: MAX_GRANT_KEYS }, (_, i) => ({
      ...testSealedKey(2 ** 40 + i, 'sensitive'),
      enc: 'e'.repeat(43),
      ct: 'c'.repeat(64),
    })),
  },
  'audit.batch': {
    entries: Array.from({ length: MAX_AUDIT_BATCH }, (_, i) => ({
      id: `${i}`.padStart(64, 'e'),
      actor: did,
      patient: did,
      action: 'break-glass',
      resourceType: 'R'.repeat(64),
      recordId: 'r'.repeat(128),
      grantId: 'g'.repeat(64),
      purpose: 'emergency',
      outcome: 'success',
      at: 2 ** 52,
      via: did,
      emergency: 'x'.repeat(64),
    })),
  },
  'emergency.enable': {
    classes: ['general', 'sensitive'],
    threshold: MAX_EMERGENCY_TRUSTEES,
    trustees: Array.from({ length: MAX_EMERGENCY_TRUSTEES }, (_, i) => ({
      org: makeWallet(10 + i).did,
      share: { ...testSealedShare(), ct: 'c'.repeat(128) },
    })),
    escrow: {
      commitment: 'f'.repeat(64),
      keys: { iv: 'i'.repeat(16), ct: 'k'.repeat(MAX_ESCROW_KEYS_CT_LENGTH) },
      epoch: 2 ** 52,
    },
  },
  'emergency.access': { id: 'x'.repeat(64), patient: did, reason: 'ETREAT', durationMs: MAX_EMERGENCY_DURATION_MS },
  'emergency.release': { access: 'x'.repeat(64), share: { ...testSealedShare(), ct: 'c'.repeat(128) } },
};

it('every transaction type has a cap, the self-registration a small one', () => {
  for (const type of TX_TYPES) assert.ok(MAX_TX_BYTES[type] > 0, type);
  assert.ok(MAX_TX_BYTES['identity.patient.register'] <= 1024);
});

it('the largest legitimate transaction of each capped type fits its cap, with headroom', () => {
  for (const [type, payload] of Object.entries(largest) as Array<[TxType, unknown]>) {
    assert.doesNotThrow(() => registry.get(type)?.parse(payload), type);
    const size = txBytes(type, payload);
    assert.ok(size <= MAX_TX_BYTES[type] * 0.9, `${type}: ${size} bytes, cap ${MAX_TX_BYTES[type]}`);
  }
});
