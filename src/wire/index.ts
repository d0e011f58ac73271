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
export type {
  EmergencyResponse,
  EmergencyPolicySummary,
  EnabledEmergencyPolicySummary,
  EmergencyAccessSummary,
  EmergencyReleaseSummary,
} from './emergency.js';
export { VAULT_RECORDS_PATH, type EncryptedRecordView, type VaultRecordsResponse } from './vault.js';
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
