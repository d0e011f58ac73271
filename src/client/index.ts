/**
 * The typed client of a node's HTTP API (fetch only, no `node:` imports). The bodies it sends and
 * returns are the wire types of `src/wire`, which the node's routes use too.
 */
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
export { currentEpoch, grantState, grantKeyRefs, scopeText, type GrantState } from './consent.js';
export { renewingToken, TOKEN_RENEW_MARGIN_MS, type RenewingTokenOptions } from './token-source.js';
export {
  selectTrustees,
  buildEmergencyEnable,
  buildEscrowRefresh,
  emergencyDisableTx,
  emergencyAccessTx,
  emergencyFlagTx,
  consentRotateTx,
  newEmergencyId,
  getEmergencyPolicy,
  listEmergencyAccesses,
  type UnsignedTx,
  type TrusteeCandidate,
  type BuildEmergencyEnableOptions,
  type EmergencyReader,
} from './emergency.js';
