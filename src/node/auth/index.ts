export {
  createAuthService,
  createNodeAuthService,
  CHALLENGE_TTL_MS,
  MAX_OUTSTANDING_CHALLENGES,
  MAX_OUTSTANDING_CHALLENGES_PER_DID,
  KEY_THUMBPRINT_CLAIM,
  keyThumbprint,
  ACCESS_TOKEN_TTL_S,
  ACCESS_TOKEN_TYPE,
  TOKEN_AUDIENCE,
  TOKEN_CLOCK_TOLERANCE_S,
  MAX_TOKEN_LENGTH,
  type AuthService,
  type AuthServiceOptions,
  type PartyLookup,
  type Principal,
} from './service.js';
export {
  ChallengeStore,
  NONCE_BYTES,
  NONCE_LENGTH,
  type ChallengeStoreOptions,
  type IssuedChallenge,
} from './challenges.js';
export { AuthError, AuthErrorCode } from './errors.js';
export {
  registerAuthRoutes,
  requireAuth,
  authenticateBearer,
  verifyRequestToken,
  requirePrincipal,
  AUTH_BODY_LIMIT_BYTES,
  AUTH_REALM,
} from './routes.js';
