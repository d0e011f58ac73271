/**
 * Whether a version of a record sent by another node is the one the ledger anchors — what every
 * node decides on ITS OWN ledger before it stores a ciphertext it did not write: the replica
 * taking a shipment (receiver.ts) and a restored custodian taking back what its replica holds
 * (refill.ts). A version is taken only when its record's identity and its bytes match the live
 * anchor: the SHA-256 of the ciphertext is the anchored content hash.
 */
import type { ActiveRecord } from '../../contracts/index.js';
import { sha256Hex } from '../../crypto/index.js';
import type { ShippedVersion } from './wire.js';

/** The codes of a version refused against its anchor. */
export const AnchorMismatchCode = {
  /** The version names another patient, custodian or resource type than its record's anchor. */
  ANCHOR: 'REPLICA_ANCHOR_MISMATCH',
  /** Its bytes (or its stated hash, class or key epoch) are not what the anchor names. */
  HASH: 'REPLICA_HASH_MISMATCH',
} as const;
export type AnchorMismatchCode = (typeof AnchorMismatchCode)[keyof typeof AnchorMismatchCode];

/** REPLICA_ANCHOR_MISMATCH when `version` is not of the record `anchor` describes; else undefined. */
export function identityMismatch(version: ShippedVersion, anchor: ActiveRecord): AnchorMismatchCode | undefined {
  return anchor.patient !== version.patient || anchor.custodian !== version.custodian || anchor.resourceType !== version.type
    ? AnchorMismatchCode.ANCHOR
    : undefined;
}

/**
 * REPLICA_HASH_MISMATCH unless `blob` (the version's ciphertext) hashes to the anchor's latest
 * content hash and the version states that hash, the record's class and the anchored key epoch.
 */
export function contentMismatch(version: ShippedVersion, blob: Uint8Array, anchor: ActiveRecord): AnchorMismatchCode | undefined {
  return sha256Hex(blob) !== anchor.latest.contentHash ||
    version.contentHash !== anchor.latest.contentHash ||
    version.class !== anchor.class ||
    version.epoch !== anchor.latest.epoch
    ? AnchorMismatchCode.HASH
    : undefined;
}
