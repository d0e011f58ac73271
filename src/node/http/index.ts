export { buildHttpServer, DEFAULT_BODY_LIMIT_BYTES, type HttpServerOptions } from './server.js';
export { startHttp, type ListenOptions, type RunningHttp } from './listen.js';
export { HSTS_HEADER_VALUE, loadTlsCredentials, type TlsCredentials, type TlsFiles } from './tls.js';
export {
  HTTP_ERRORS,
  HTTP_ERROR_CODES,
  REJECTION_STATUS,
  DEFAULT_REJECTION_STATUS,
  rejectionStatus,
  HttpError,
  type HttpErrorCode,
  type ErrorBody,
} from './errors.js';
export {
  TX_BODY_LIMIT_BYTES,
  MAX_BATCH_TXS,
  MAX_COMMIT_WAIT_MS,
  MAX_BLOCKS_PER_PAGE,
  MAX_BLOCKS_RESPONSE_BYTES,
} from './ledger-routes.js';
export {
  DEFAULT_RATE_LIMITS,
  resolveRateLimits,
  rateGroupOf,
  type RateLimit,
  type RateLimits,
  type RateLimitOverrides,
} from './rate-limits.js';
