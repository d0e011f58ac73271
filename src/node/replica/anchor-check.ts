/**
 * Whether a version of a record sent by another node is the one the ledger anchors — what every
 * node decides on ITS OWN ledger before it stores a ciphertext it did not write: the replica
 * taking a shipment (receiver.ts) and a restored custodian taking back what its replica holds
 * (refill.ts). A version is taken only when its record's identity and its bytes match the
 * version's anchor: the SHA-256 of the ciphertext is the anchored content hash.
 *
 * The ledger's state holds only the anchor of a record's LATEST version; the anchor of an older
 * version is in the block of the `records.anchor` transaction that anchored it. A sender names
 * that transaction (`anchorTx`); the receiver reads it from its own ledger (committed, valid),
 * and takes from its payload the anchor of exactly that record and version — the records
 * contract numbers a record's versions 1, 2, 3… with one anchor each, so there is only one.
 */
import type { ActiveRecord } from '../../contracts/index.js';
import { recordAnchorSchema, recordAnchorsSchema } from '../../contracts/records.js';
import { sha256Hex } from '../../crypto/index.js';
import type { SensitivityClass } from '../../ledger/types.js';
import type { ShippedVersion } from './wire.js';

/** The codes of a version refused against its anchor. */
export const AnchorMismatchCode = {
  /** The version names another patient, custodian or resource type than its record's anchor, or an anchor this ledger does not hold. */
  ANCHOR: 'REPLICA_ANCHOR_MISMATCH',
  /** Its bytes (or its stated hash, class or key epoch) are not what the anchor names. */
  HASH: 'REPLICA_HASH_MISMATCH',
} as const;
export type AnchorMismatchCode = (typeof AnchorMismatchCode)[keyof typeof AnchorMismatchCode];

/** What the ledger anchored of one version. */
export interface VersionAnchor {
  readonly version: number;
  readonly contentHash: string;
  readonly epoch: number;
  readonly class: SensitivityClass;
  /** The person who wrote it (the anchor's author). */
  readonly author: string;
  /** The transaction that anchored it. */
  readonly txId: string;
}

/** A committed transaction of this node's ledger by id (its envelope JSON and result code). */
export type CommittedTxLookup = (id: string) => { readonly envelope: string; readonly code: string } | undefined;

/**
 * The anchor of version `version` of `record` on this ledger: the latest from state; an older
 * one from the committed transaction `anchorTx` (see the module comment). Undefined when this
 * ledger holds no such anchor (a later version than anchored, or a transaction that is not
 * this version's valid anchor).
 */
export function anchorOfVersion(
  record: ActiveRecord,
  version: number,
  anchorTx: string | null | undefined,
  txById: CommittedTxLookup,
): VersionAnchor | undefined {
  if (version === record.latest.version) {
    const { contentHash, epoch, author, txId } = record.latest;
    return { version, contentHash, epoch, class: record.class, author, txId };
  }
  if (version > record.latest.version || anchorTx === undefined || anchorTx === null) return undefined;
  const stored = txById(anchorTx);
  if (stored?.code !== 'OK') return undefined;
  const anchors = anchorsIn(stored.envelope);
  const anchor = anchors.find((a) => a.recordId === record.id && a.version === version);
  if (anchor === undefined || anchor.patient !== record.patient || anchor.resourceType !== record.resourceType) return undefined;
  return { version, contentHash: anchor.contentHash, epoch: anchor.epoch, class: anchor.class, author: anchor.author, txId: anchorTx };
}

/** The anchors of a committed `records.anchor` envelope (none for any other transaction). */
function anchorsIn(envelope: string): ReadonlyArray<{
  recordId: string;
  version: number;
  patient: string;
  resourceType: string;
  contentHash: string;
  epoch: number;
  class: SensitivityClass;
  author: string;
}> {
  let tx: { type?: unknown; payload?: unknown } | undefined;
  try {
    tx = (JSON.parse(envelope) as { tx?: { type?: unknown; payload?: unknown } }).tx;
  } catch {
    return [];
  }
  if (tx?.type !== 'records.anchor') return [];
  const many = recordAnchorsSchema.safeParse(tx.payload);
  if (many.success) return many.data.anchors;
  const one = recordAnchorSchema.safeParse(tx.payload);
  return one.success ? [one.data] : [];
}

/** REPLICA_ANCHOR_MISMATCH when `version` is not of the record `anchor` describes; else undefined. */
export function identityMismatch(version: ShippedVersion, anchor: ActiveRecord): AnchorMismatchCode | undefined {
  return anchor.patient !== version.patient || anchor.custodian !== version.custodian || anchor.resourceType !== version.type
    ? AnchorMismatchCode.ANCHOR
    : undefined;
}

/**
 * REPLICA_HASH_MISMATCH unless `blob` (the version's ciphertext) hashes to the version's anchored
 * content hash and the version states that hash, the anchored class and key epoch.
 */
export function contentMismatch(version: ShippedVersion, blob: Uint8Array, anchor: VersionAnchor): AnchorMismatchCode | undefined {
  return sha256Hex(blob) !== anchor.contentHash ||
    version.contentHash !== anchor.contentHash ||
    version.class !== anchor.class ||
    version.epoch !== anchor.epoch
    ? AnchorMismatchCode.HASH
    : undefined;
}

/**
 * Checks `version` (ciphertext `blob`) against its record's live anchor `record` and, for an
 * older version, the anchoring transaction it names: the anchor it matches, or the refusal code.
 */
export function checkAgainstAnchor(
  version: ShippedVersion,
  blob: Uint8Array,
  record: ActiveRecord,
  txById: CommittedTxLookup,
): VersionAnchor | AnchorMismatchCode {
  const notThisRecord = identityMismatch(version, record);
  if (notThisRecord !== undefined) return notThisRecord;
  const anchor = anchorOfVersion(record, version.version, version.anchorTx, txById);
  if (anchor === undefined) return AnchorMismatchCode.ANCHOR;
  return contentMismatch(version, blob, anchor) ?? anchor;
}
