import { CodedError } from '../crypto/index.js';
/**
 * Stable codes for vault failures. Never reuse a code for another meaning. Values carry the
 * `VAULT_` prefix so they never collide with other layers' codes (crypto has its own
 * `DECRYPT_FAILED`, the ledger its own `NOT_FOUND`).
 */
export const VaultErrorCode = {
  /** An argument at a public boundary is malformed; the message names it. */
  INVALID_ARGUMENT: 'VAULT_INVALID_ARGUMENT',
  /** Wrong key, wrong associated data (record id, version, patient, class, epoch) or tampered bytes. */
  DECRYPT_FAILED: 'VAULT_DECRYPT_FAILED',
  /** SHA-256 of the ciphertext blob differs from the expected (anchored or stored) hash. */
  CONTENT_HASH_MISMATCH: 'VAULT_CONTENT_HASH_MISMATCH',
  /** A sealed record key (HPKE) does not open with this secret key and context, or is malformed. */
  GRANT_KEY_OPEN_FAILED: 'VAULT_GRANT_KEY_OPEN_FAILED',
  /** The caller holds no record key for the class and epoch the version is encrypted under. */
  KEY_UNAVAILABLE: 'VAULT_KEY_UNAVAILABLE',
  /** The record was erased (crypto-shredded); nothing of it can be read or written again. */
  RECORD_ERASED: 'VAULT_RECORD_ERASED',
  /** No such record, or no such version of it. */
  NOT_FOUND: 'VAULT_NOT_FOUND',
  /** This version of the record is already stored. */
  VERSION_EXISTS: 'VAULT_VERSION_EXISTS',
  /** The version names another patient or resource type than the record's earlier versions. */
  RECORD_MISMATCH: 'VAULT_RECORD_MISMATCH',
  /** The write uses an epoch older than the patient's current one for that class (after rotation). */
  STALE_EPOCH: 'VAULT_STALE_EPOCH',
  /** The resource's security labels make it `sensitive` but it was to be written as `general`. */
  CLASS_MISMATCH: 'VAULT_CLASS_MISMATCH',
  /**
   * The version would lower the record's class (sensitive → general) and the caller did not say
   * it decided the author may (`mayLowerClass`): an overwrite must not strip a record's label.
   */
  CLASS_DOWNGRADE: 'VAULT_CLASS_DOWNGRADE',
} as const;
export type VaultErrorCode = (typeof VaultErrorCode)[keyof typeof VaultErrorCode];

/**
 * A vault failure with a stable `code`. Messages and causes never carry plaintext, keys or
 * decrypted bytes: only identifiers (record id, version, patient DID, class, epoch) and hashes.
 */
export class VaultError extends CodedError<VaultErrorCode> {
  override readonly name = 'VaultError';
}

/**
 * Stable codes for emergency key escrow failures (`src/vault/escrow.ts`). The two
 * `EMERGENCY_SHARES_*` codes are what a requester sees when a break-glass cannot open the
 * escrow, so they carry the emergency vocabulary rather than the vault's prefix.
 */
export const EscrowErrorCode = {
  /** A sealed share does not open with this secret key and binding (wrong key, patient, org, access, commitment), or is malformed. */
  SHARE_OPEN_FAILED: 'ESCROW_SHARE_OPEN_FAILED',
  /** The escrowed keys do not open under this escrow key, or are not a list of record keys. */
  KEYS_OPEN_FAILED: 'ESCROW_KEYS_OPEN_FAILED',
  /** Enough shares, but no `threshold` of them combine to the committed escrow key (forged or wrong shares). */
  SHARES_INVALID: 'EMERGENCY_SHARES_INVALID',
  /** Fewer shares than the threshold. */
  SHARES_INSUFFICIENT: 'EMERGENCY_SHARES_INSUFFICIENT',
} as const;
export type EscrowErrorCode = (typeof EscrowErrorCode)[keyof typeof EscrowErrorCode];

/** An escrow failure with a stable `code`; messages never carry shares or keys. */
export class EscrowError extends CodedError<EscrowErrorCode> {
  override readonly name = 'EscrowError';
}
