/**
 * The requester's check of a record a custodian sent, against the record's anchor on THIS
 * node's ledger: live, of the same patient, kept by the custodian that sent it, of the same type
 * and latest version, and (when its blob is read) hashing to the anchored content hash. A
 * custodian cannot slip in another patient's record, an old version or altered bytes.
 */
import type { ActiveRecord, RecordEntry, StateReader } from '../../contracts/index.js';
import { sha256Hex } from '../../crypto/index.js';
import { StateKey } from '../../ledger/index.js';
import type { WireRecord } from './wire.js';

/** The shape of a custodian's record (its values are checked against the ledger after). */
export function isWireRecord(value: unknown): value is WireRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  const dek = r.wrappedDek as Record<string, unknown> | null | undefined;
  return (
    typeof r.id === 'string' &&
    typeof r.type === 'string' &&
    typeof r.version === 'number' &&
    typeof r.ciphertext === 'string' &&
    typeof dek === 'object' &&
    dek !== null &&
    typeof dek.iv === 'string' &&
    typeof dek.ct === 'string'
  );
}

/**
 * Reads the anchors of `records` in one query where the state can (its per-head cache then
 * answers `matchingAnchor`'s lookups): a custodian's answer names hundreds of records.
 */
export function prefetchAnchors(state: StateReader, records: readonly unknown[]): void {
  if (state.getMany === undefined) return;
  const keys: string[] = [];
  for (const record of records) if (isWireRecord(record)) keys.push(StateKey.record(record.id));
  state.getMany(keys);
}

/** The live anchor `record` matches (patient, custodian, type, latest version), or undefined. */
export function matchingAnchor(
  state: StateReader,
  record: WireRecord,
  expected: { readonly patient: string; readonly custodian: string },
): ActiveRecord | undefined {
  const anchor = state.get<RecordEntry>(StateKey.record(record.id));
  if (
    anchor === undefined ||
    anchor.status !== 'active' ||
    anchor.patient !== expected.patient ||
    anchor.custodian !== expected.custodian ||
    anchor.resourceType !== record.type ||
    anchor.latest.version !== record.version
  ) {
    return undefined;
  }
  return anchor;
}

/** The blob of `record` when it hashes to the anchored content hash; else undefined. */
export function anchoredBlob(record: WireRecord, anchor: ActiveRecord): Uint8Array | undefined {
  // Buffer's codec (lenient with bad characters: the hash check catches any change).
  const blob = new Uint8Array(Buffer.from(record.ciphertext, 'base64url'));
  return sha256Hex(blob) === anchor.latest.contentHash ? blob : undefined;
}
