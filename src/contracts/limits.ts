/**
 * The size cap of each transaction type: the largest signed transaction (canonical JSON bytes of
 * `tx`, envelope fields included) that admission and execution take. Each is set from the largest
 * legitimate transaction of its type with headroom (`limits.test.ts` builds the largest ones and
 * checks they stay under 90% of their cap), so that nothing but what the type needs fits: a
 * patient's self-registration is at most ~430 bytes.
 */
import type { TxType } from '../ledger/types.js';

const KIB = 1024;

export const MAX_TX_BYTES: Readonly<Record<TxType, number>> = {
  'gov.org.propose': 2 * KIB,
  'gov.org.vote': 1 * KIB,
  // A node URL may be 2,048 characters.
  'gov.node.register': 4 * KIB,
  // Two keys and two DIDs at most.
  'gov.proposal.open': 1 * KIB,
  // The only type an unregistered signer may send: kept small.
  'identity.patient.register': 1 * KIB,
  'identity.practitioner.register': 1 * KIB,
  'identity.key.rotate': 1 * KIB,
  'identity.deactivate': 1 * KIB,
  // Up to MAX_GRANT_KEYS sealed keys of ~230 bytes and 64 resource types: ~65 KB at most.
  'consent.grant': 128 * KIB,
  'consent.approve': 128 * KIB,
  'consent.rekey': 128 * KIB,
  'consent.revoke': 1 * KIB,
  'consent.request': 8 * KIB,
  'consent.deny': 1 * KIB,
  'consent.rotate': 1 * KIB,
  // Up to MAX_ANCHORS_PER_TX (250) anchors of at most ~520 bytes: ~130 KB.
  'records.anchor': 192 * KIB,
  'records.erase': 1 * KIB,
  // One DID or null.
  'records.replica': 1 * KIB,
  // Up to MAX_AUDIT_BATCH (1,000) entries of at most ~660 bytes: ~665 KB.
  'audit.batch': 1024 * KIB,
  // Seven sealed shares (~200 bytes each) and the escrowed keys (at most ~42 KB of base64url).
  'emergency.enable': 64 * KIB,
  'emergency.disable': 1 * KIB,
  'emergency.access': 1 * KIB,
  // One sealed share.
  'emergency.release': 1 * KIB,
  'emergency.flag': 1 * KIB,
};
