export { RoamNode, type RoamNodeOptions, type SubmitOutcome } from './roam-node.js';
export {
  loadNodeConfig,
  DataFiles,
  NodeSecurityFiles,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_COMMIT_WAIT_MS,
  type LoadNodeConfigOptions,
  type NodeConfig,
  type NodeKeys,
} from './config.js';
export {
  NODE_PASSPHRASE_ENV_VAR,
  ENCRYPT_KEY_HINT,
  decodeNodeKeyFile,
  encodeNodeKeyFile,
  encryptNodeKeyFile,
  readNodeKeyFile,
  type EncodeNodeKeyOptions,
  type EncryptKeyOptions,
  type LoadedNodeKey,
  type NodeKeySeeds,
} from './key-file.js';
export {
  initNetwork,
  joinNetwork,
  joinRequestPath,
  prepareNode,
  createGenesis,
  writeNodeFiles,
  type WriteNodeFilesOptions,
  type InitOptions,
  type InitResult,
  type JoinOptions,
  type JoinRequest,
  type PreparedNode,
} from './init.js';
export { NodeError, NodeErrorCode } from './errors.js';
export {
  Roaming,
  registerRoamingRoutes,
  signNodeRequest,
  NodeRequestVerifier,
  RECORDS_QUERY_PATH,
  PATIENT_RECORDS_PATH,
  NODE_HEADERS,
  type RecordQueryRequest,
  type RecordQueryAnswer,
} from './roaming/index.js';
export { createAuthService, createNodeAuthService, registerAuthRoutes, requireAuth, requirePrincipal, AuthError, AuthErrorCode, type AuthService, type AuthServiceOptions, type Principal } from './auth/index.js';
export {
  buildHttpServer,
  startHttp,
  HTTP_ERRORS,
  HTTP_ERROR_CODES,
  HttpError,
  type HttpErrorCode,
  type HttpServerOptions,
  type ListenOptions,
  type RunningHttp,
} from './http/index.js';
