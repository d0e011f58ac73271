/**
 * A patient's wallet opening its own records: ciphertexts as `GET /vault/records` answers them
 * (from any custodian), decrypted with the record keys the patient's record-key seed derives, each
 * checked against its anchored content hash. Shared by the web app (My record) and the CLI
 * (`roam record list|everything|summary` with a patient wallet), on WebCrypto so the browser can
 * run it.
 */
import { fromBase64Url } from '../crypto/index.js';
import { decryptRecordAsync, type RecordContext, type WrappedDek } from './envelope.js';
import { deriveRecordKey } from './keys.js';

/**
 * A record version as the wallet receives it (what it needs of `EncryptedRecordView`): the
 * envelope's context without the patient (the wallet's own), the anchored hash, the blob in
 * base64url.
 */
export type OwnEncryptedRecord = Omit<RecordContext, 'patient'> & {
  readonly resourceType: string;
  readonly contentHash: string;
  readonly blob: string;
  readonly wrappedDek: WrappedDek;
};

/** What {@link openOwnRecordsAsync} gives: the resources it opened, and the records it could not. */
export interface OpenedOwnRecords<T extends OwnEncryptedRecord> {
  readonly opened: Array<{ readonly record: T; readonly resource: Record<string, unknown> }>;
  /** Records that do not decrypt with the patient's keys, fail their hash or hold another resource type. */
  readonly failed: T[];
}

/**
 * Decrypts `records` of `patient` with the keys of `recordKeySeed` (`deriveRecordKeySeed(wallet)`).
 * The derived keys are wiped when done; the seed is the caller's to wipe.
 *
 * @example
 * const seed = deriveRecordKeySeed(wallet);
 * try { const { opened } = await openOwnRecordsAsync({ recordKeySeed: seed, patient: wallet.did, records }); }
 * finally { seed.fill(0); }
 */
export async function openOwnRecordsAsync<T extends OwnEncryptedRecord>(input: {
  readonly recordKeySeed: Uint8Array;
  readonly patient: string;
  readonly records: readonly T[];
}): Promise<OpenedOwnRecords<T>> {
  const { recordKeySeed, patient } = input;
  const keks = new Map<string, Uint8Array>();
  const opened: OpenedOwnRecords<T>['opened'] = [];
  const failed: T[] = [];
  try {
    for (const record of input.records) {
      const name = `${record.class}|${record.epoch}`;
      let kek = keks.get(name);
      try {
        if (kek === undefined)
          keks.set(name, (kek = deriveRecordKey(recordKeySeed, patient, record.class, record.epoch)));
        const resource = await decryptRecordAsync({
          recordId: record.recordId,
          version: record.version,
          patient,
          class: record.class,
          epoch: record.epoch,
          blob: fromBase64Url(record.blob),
          wrappedDek: record.wrappedDek,
          kek,
          expectedContentHash: record.contentHash,
        });
        if (resource['resourceType'] === record.resourceType) opened.push({ record, resource });
        else failed.push(record);
      } catch {
        failed.push(record);
      }
    }
  } finally {
    for (const kek of keks.values()) kek.fill(0);
  }
  return { opened, failed };
}
