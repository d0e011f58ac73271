export {
  RoamClient,
  DEFAULT_CLIENT_TIMEOUT_MS,
  DEFAULT_SUBMIT_WAIT_MS,
  COMMIT_WAIT_MARGIN_MS,
  type RoamClientOptions,
  type AccessTokenSource,
  type SubmitOptions,
} from './http-client.js';
export { RoamApiError, ClientErrorCode } from './errors.js';
export { signedTx, signedTxAsync, type TxSigner, type SignedTxOptions } from './tx-builder.js';
export { verifyTxResponse } from './verify.js';
export type {
  ApiErrorBody,
  ApiErrorDetail,
  SubmitAccepted,
  SubmitCommitted,
  BatchItemResult,
  BatchSubmitResponse,
  TxResponse,
  BlockTx,
  BlockResponse,
  BlocksResponse,
  StatusResponse,
  OrgNodeSummary,
  OrgSummary,
  OrgsResponse,
  IdentityResponse,
  OrgIdentity,
  GrantSummary,
  ConsentsResponse,
  BlockHeader,
  TxInclusionProof,
  ResultCode,
  SignedTx,
  PartyRecord,
  OrgRecord,
  GrantRecord,
  RequestRecord,
} from './types.js';
export { currentEpoch, grantState, grantKeyRefs, scopeText, type GrantState } from './consent.js';
export { renewingToken, TOKEN_RENEW_MARGIN_MS, type RenewingTokenOptions } from './token-source.js';
