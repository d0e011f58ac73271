/**
 * Every outcome a transaction can have, committed in its block. Codes are stable API: never
 * renamed, never reused for another meaning. `src/ledger/codes.test.ts` checks the registry and
 * the contract tests reach every code.
 */
export const ResultCode = {
  OK: 'OK',
  // Envelope and authentication (checked by the runner before any contract).
  MALFORMED_TX: 'MALFORMED_TX',
  UNKNOWN_TX_TYPE: 'UNKNOWN_TX_TYPE',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  UNKNOWN_SIGNER: 'UNKNOWN_SIGNER',
  SIGNER_DEACTIVATED: 'SIGNER_DEACTIVATED',
  REPLAY: 'REPLAY',
  TX_EXPIRED: 'TX_EXPIRED',
  TX_FROM_FUTURE: 'TX_FROM_FUTURE',
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  /** The transaction names another network's chain id than this ledger's genesis. */
  WRONG_CHAIN: 'WRONG_CHAIN',
  /** The signed transaction is larger than its type's cap (`maxTxBytes` of its contract). */
  TX_TOO_LARGE: 'TX_TOO_LARGE',
  /** A contract threw something other than TxRejected: a bug, kept deterministic by committing it. */
  CONTRACT_ERROR: 'CONTRACT_ERROR',
  // Roles.
  NOT_PATIENT: 'NOT_PATIENT',
  NOT_PRACTITIONER: 'NOT_PRACTITIONER',
  NOT_ORG_ADMIN: 'NOT_ORG_ADMIN',
  NOT_NODE: 'NOT_NODE',
  NOT_AUTHORIZED: 'NOT_AUTHORIZED',
  // Governance.
  UNKNOWN_ORG: 'UNKNOWN_ORG',
  ORG_EXISTS: 'ORG_EXISTS',
  PROPOSAL_EXISTS: 'PROPOSAL_EXISTS',
  PROPOSAL_NOT_FOUND: 'PROPOSAL_NOT_FOUND',
  PROPOSAL_CLOSED: 'PROPOSAL_CLOSED',
  ALREADY_VOTED: 'ALREADY_VOTED',
  NODE_EXISTS: 'NODE_EXISTS',
  /** The organization already has `maxNodesPerOrg` active nodes. */
  NODE_LIMIT_REACHED: 'NODE_LIMIT_REACHED',
  /** The proposal's action does not apply to the organization's current status (e.g. reinstating an active one). */
  WRONG_ORG_STATUS: 'WRONG_ORG_STATUS',
  // Identity.
  ALREADY_REGISTERED: 'ALREADY_REGISTERED',
  UNKNOWN_PARTY: 'UNKNOWN_PARTY',
  UNKNOWN_PATIENT: 'UNKNOWN_PATIENT',
  PARTY_DEACTIVATED: 'PARTY_DEACTIVATED',
  SAME_KEY: 'SAME_KEY',
  // Consent.
  GRANT_EXISTS: 'GRANT_EXISTS',
  GRANT_NOT_FOUND: 'GRANT_NOT_FOUND',
  NOT_GRANT_OWNER: 'NOT_GRANT_OWNER',
  GRANT_REVOKED: 'GRANT_REVOKED',
  GRANT_EXPIRED: 'GRANT_EXPIRED',
  EXPIRY_IN_PAST: 'EXPIRY_IN_PAST',
  NO_GRANT: 'NO_GRANT',
  SCOPE_NOT_COVERED: 'SCOPE_NOT_COVERED',
  REQUEST_EXISTS: 'REQUEST_EXISTS',
  REQUEST_NOT_FOUND: 'REQUEST_NOT_FOUND',
  REQUEST_CLOSED: 'REQUEST_CLOSED',
  /** Adding sealed keys would take a grant past MAX_GRANT_KEYS. */
  GRANT_KEYS_FULL: 'GRANT_KEYS_FULL',
  // Records.
  RECORD_NOT_FOUND: 'RECORD_NOT_FOUND',
  RECORD_ERASED: 'RECORD_ERASED',
  VERSION_CONFLICT: 'VERSION_CONFLICT',
  NOT_CUSTODIAN: 'NOT_CUSTODIAN',
  /** A new version of a record names another patient or resource type than the record has. */
  RECORD_MISMATCH: 'RECORD_MISMATCH',
  /** A version authored by the patient is not under the patient's current record-key epoch. */
  STALE_EPOCH: 'STALE_EPOCH',
  /** An audit entry names an actor the recording node cannot speak for. */
  FOREIGN_ACTOR: 'FOREIGN_ACTOR',
  // Replica custodian (`records.replica`).
  /** The organization named as replica is not an active member. */
  REPLICA_NOT_MEMBER: 'REPLICA_NOT_MEMBER',
  /** The organization named as replica holds no active, unexpired write grant from the patient. */
  REPLICA_NO_WRITE_GRANT: 'REPLICA_NO_WRITE_GRANT',
  /** The patient has no replica to end. */
  REPLICA_NOT_SET: 'REPLICA_NOT_SET',
  /** The organization named is already the patient's replica. */
  REPLICA_UNCHANGED: 'REPLICA_UNCHANGED',
  // Emergency access (break-glass).
  /** The patient has no enabled emergency policy (never enabled, or opted out). */
  EMERGENCY_DISABLED: 'EMERGENCY_DISABLED',
  /** The signer is a practitioner whose organization did not give it the `emergency` role. */
  EMERGENCY_ROLE_REQUIRED: 'EMERGENCY_ROLE_REQUIRED',
  /** An emergency access with this id already exists. */
  EMERGENCY_EXISTS: 'EMERGENCY_EXISTS',
  /** No such emergency access, or none the signer may act on. */
  EMERGENCY_UNKNOWN: 'EMERGENCY_UNKNOWN',
  /** The emergency access's window has ended (block time ≥ its end). */
  EMERGENCY_ENDED: 'EMERGENCY_ENDED',
  /** The signing node's organization is not a trustee of the emergency access. */
  NOT_TRUSTEE: 'NOT_TRUSTEE',
  /** The signing node's organization already released its share for this access. */
  EMERGENCY_ALREADY_RELEASED: 'EMERGENCY_ALREADY_RELEASED',
  /** The emergency access is already flagged for review. */
  EMERGENCY_ALREADY_FLAGGED: 'EMERGENCY_ALREADY_FLAGGED',
} as const;
export type ResultCode = (typeof ResultCode)[keyof typeof ResultCode];

export const RESULT_CODES: readonly ResultCode[] = Object.values(ResultCode);

/** Codes after which the transaction's (signer, nonce) is spent: the signature was valid. */
export function consumesNonce(code: ResultCode): boolean {
  return (
    code !== ResultCode.MALFORMED_TX &&
    code !== ResultCode.WRONG_CHAIN &&
    code !== ResultCode.TX_TOO_LARGE &&
    code !== ResultCode.UNKNOWN_TX_TYPE &&
    code !== ResultCode.BAD_SIGNATURE &&
    code !== ResultCode.UNKNOWN_SIGNER &&
    code !== ResultCode.SIGNER_DEACTIVATED &&
    code !== ResultCode.REPLAY &&
    code !== ResultCode.TX_EXPIRED &&
    code !== ResultCode.TX_FROM_FUTURE
  );
}
