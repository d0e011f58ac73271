/**
 * How a custodian reads the wire form of its own records for an answer (the roaming query and
 * the patient's whole record): the version the index holds of each row (a newer one may be in
 * the vault before its anchor commits), its ciphertext and wrapped data key from the vault, its
 * `date` start from the index. The ciphertexts are read READ_CHUNK rows per vault query — one
 * query per chunk instead of two per record, the largest share of an answer's CPU before — and
 * no more than one chunk is held beyond what the answer carries.
 */
import type { FhirIndexStore, FhirResourceRow } from '../../store/index.js';
import { versionKey } from '../../store/index.js';
import type { RecordCiphertext, Vault } from '../../vault/index.js';
import type { WireRecord } from './wire.js';
import { toWireRecord } from './wire-record.js';

/** Rows whose ciphertexts one vault query reads. */
export const READ_CHUNK = 500;

/** What the reader reads of its node. */
export interface OwnRecordsPort {
  readonly index: FhirIndexStore;
  readonly vault: Vault;
}

/**
 * A reader of the wire form of each of `rows`, asked in any order (in `rows`' order reads each
 * chunk once); undefined for a record erased meanwhile.
 */
export function ownRecordsReader(
  port: OwnRecordsPort,
  rows: readonly FhirResourceRow[],
): (row: FhirResourceRow) => WireRecord | undefined {
  const dates = port.index.datesOf(
    rows.map((r) => r.recordId),
    ['date'],
  );
  const position = new Map(rows.map((row, i) => [row, i]));
  let chunkStart = -1;
  let chunk = new Map<string, RecordCiphertext>();
  return (row) => {
    const at = position.get(row);
    if (at === undefined) chunk = port.vault.readCiphertexts([row]);
    else if (at - (at % READ_CHUNK) !== chunkStart) {
      chunkStart = at - (at % READ_CHUNK);
      chunk = port.vault.readCiphertexts(rows.slice(chunkStart, chunkStart + READ_CHUNK));
    }
    const ciphertext = chunk.get(versionKey(row));
    if (ciphertext === undefined) return undefined; // erased meanwhile
    const date = dates.get(row.recordId)?.find((d) => d.param === 'date')?.start ?? null;
    return toWireRecord(row, ciphertext, date);
  };
}
