/**
 * `GET /vault/records`: a patient's own record versions as their custodian keeps them (ciphertext,
 * wrapped data key and metadata), for the patient's wallet to decrypt itself: the node never
 * holds the patient's keys and does not decrypt for this route.
 */
import type { SensitivityClass } from '../ledger/types.js';

/** The path of the route. */
export const VAULT_RECORDS_PATH = '/vault/records';

/** One record version, encrypted (see src/vault/envelope.ts for the format). */
export interface EncryptedRecordView {
  readonly recordId: string;
  readonly resourceType: string;
  readonly version: number;
  readonly class: SensitivityClass;
  readonly epoch: number;
  /** SHA-256 (hex) of `blob`, as anchored on the ledger. */
  readonly contentHash: string;
  /** The organization that keeps (and wrote) it. */
  readonly custodian: string;
  /** The DID of the party that wrote this version. */
  readonly author: string;
  /** ms since the Unix epoch. */
  readonly createdAt: number;
  /** The versioned ciphertext container, base64url. */
  readonly blob: string;
  readonly wrappedDek: { readonly iv: string; readonly ct: string };
}

/** Answer of `GET /vault/records`: the latest version of each of the patient's records. */
export interface VaultRecordsResponse {
  readonly patient: string;
  readonly records: readonly EncryptedRecordView[];
}
