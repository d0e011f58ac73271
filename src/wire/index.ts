/**
 * The wire types: the request and response bodies of a node's HTTP APIs (ledger, sign-in, vault)
 * and the few constants both ends must agree on. The node's routes, `src/client`, the CLI and the
 * web app all import them from here, so the two sides of a call cannot drift apart and the node
 * never imports its own client.
 *
 * Pure types and constants: no `node:` import, no I/O, and of other layers only type imports of
 * the ledger's and the contracts' records (they travel as the ledger keeps them), so the browser
 * build can use it (eslint.config.js holds this).
 */
export type { ApiErrorBody, ApiErrorDetail } from './errors.js';
export {
  AUTH_MESSAGE_PREFIX,
  authMessage,
  type ChallengeResponse,
  type PrincipalResponse,
  type TokenRequest,
  type TokenResponse,
} from './auth.js';
export type { ReplicaResponse, ReplicaSummary } from './replica.js';
export type {
  EmergencyResponse,
  EmergencyPolicySummary,
  EnabledEmergencyPolicySummary,
  EmergencyAccessSummary,
  EmergencyReleaseSummary,
} from './emergency.js';
export {
  VAULT_RECORDS_PATH,
  RECORDS_GAP_CODES,
  type EncryptedRecordView,
  type RecordsGap,
  type VaultRecordsResponse,
} from './vault.js';
export {
  PATIENT_PROOF_DOMAIN,
  PATIENT_PROOF_HEADER,
  PATIENT_PROOF_SKEW_MS,
  MAX_PATIENT_PROOF_LENGTH,
  PATIENT_PROOF_NONCE_PATTERN,
  patientProofClaims,
  type PatientProof,
  type PatientProofClaims,
} from './patient-proof.js';
export type {
  Agreement,
  Attestation,
  BatchItemResult,
  BatchSubmitResponse,
  BlockHeader,
  BlockResponse,
  BlocksResponse,
  BlockTx,
  ConsentsResponse,
  GrantRecord,
  GrantSummary,
  IdentityResponse,
  NetworkAgreement,
  OrgIdentity,
  OrgNodeSummary,
  OrgRecord,
  OrgSummary,
  OrgsResponse,
  PartyRecord,
  PeerAgreement,
  RequestRecord,
  ResultCode,
  SignedTx,
  StatusResponse,
  SubmitAccepted,
  SubmitCommitted,
  SyncResponse,
  TxInclusionProof,
  TxResponse,
} from './ledger-api.js';
export {
  SHL_FILE_PATH,
  SHL_LINKS_PATH,
  SHL_MANIFEST_PATH,
  SHL_VIEWER_PATH,
  type CreateShareLinkRequest,
  type ReplaceShareLinkFileRequest,
  type SealShareLinkKeyRequest,
  type ShareLinkAccess,
  type ShareLinkCreated,
  type ShareLinkListResponse,
  type ShareLinkView,
} from './shl.js';
export { EMERGENCY_KEYS_PATH, emergencyKeysPath, type EmergencyKeysResponse } from './emergency-keys.js';
