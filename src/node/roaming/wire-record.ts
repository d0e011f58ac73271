/**
 * One record version as a custodian sends it (`WireRecord`), from its index row and the
 * ciphertext its vault holds: the roaming custodian and the patient-records custodian answer
 * the same shape, so one requester check reads both.
 */
import type { FhirResourceRow } from '../../store/index.js';
import type { RecordCiphertext } from '../../vault/index.js';
import type { WireRecord } from './wire.js';

/** The wire form of `ciphertext` (indexed as `row`, its `date` start from the index, or null). */
export function toWireRecord(
  row: FhirResourceRow,
  ciphertext: RecordCiphertext,
  date: number | null,
): WireRecord {
  const { info } = ciphertext;
  return {
    id: info.recordId,
    type: info.resourceType,
    version: info.version,
    lastUpdated: row.lastUpdated,
    date,
    class: info.class,
    epoch: info.epoch,
    contentHash: info.contentHash,
    // Buffer's codec: several times faster than the portable one of src/crypto on this path.
    ciphertext: Buffer.from(
      ciphertext.blob.buffer,
      ciphertext.blob.byteOffset,
      ciphertext.blob.byteLength,
    ).toString('base64url'),
    wrappedDek: ciphertext.wrappedDek,
  };
}
