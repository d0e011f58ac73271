/**
 * `GET /vault/records`: a patient's own record versions as their custodian keeps them (ciphertext,
 * wrapped data key and metadata), for the patient's wallet to decrypt itself: the node never
 * holds the patient's keys and does not decrypt for this route. With a patient proof
 * (`x-roam-patient-proof`, see `patient-proof.ts`) the node adds the records every other
 * custodian keeps, fetched on the patient's behalf.
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

/** Why a custodian's records are missing (or partly missing) from an answer. */
export const RECORDS_GAP_CODES = {
  /** No node of the custodian answered (down, timeout, no URL on the ledger). */
  CUSTODIAN_UNREACHABLE: 'CUSTODIAN_UNREACHABLE',
  /** The custodian holds more of the patient's records than one answer carries. */
  ANSWER_TRUNCATED: 'ANSWER_TRUNCATED',
  /** Some records it sent do not match their ledger anchor (not anchored here yet, or altered): left out. */
  RECORDS_NOT_ANCHORED: 'RECORDS_NOT_ANCHORED',
} as const;

/**
 * A custodian whose records are not all in the answer: one of RECORDS_GAP_CODES, or the error
 * code the custodian refused with (e.g. PATIENT_PROOF_STALE).
 */
export interface RecordsGap {
  /** The custodian organization's DID. */
  readonly custodian: string;
  readonly code: string;
}

/** Answer of `GET /vault/records`: the latest version of each of the patient's records. */
export interface VaultRecordsResponse {
  readonly patient: string;
  readonly records: readonly EncryptedRecordView[];
  /**
   * Present when the request carried a patient proof (the whole record was asked for): the
   * custodians whose records are missing or incomplete; empty when every one answered in full.
   */
  readonly incomplete?: readonly RecordsGap[];
}
