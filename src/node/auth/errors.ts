import { CodedError } from '../../crypto/index.js';
/**
 * Errors of sign-in and access-token checks. The codes are those of the HTTP error registry
 * (`src/node/http/errors.ts`), so the routes pass them on unchanged; every one but UNKNOWN_DID
 * answers 401 with `WWW-Authenticate: Bearer`.
 */
export const AuthErrorCode = {
  /** No registered, active party has this DID (404). */
  UNKNOWN_DID: 'UNKNOWN_DID',
  /** The nonce was never issued for this DID, was already used, or expired. */
  CHALLENGE_UNKNOWN: 'CHALLENGE_UNKNOWN',
  /** The signature does not verify with the party's current signing key. */
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** No bearer token was presented. */
  TOKEN_MISSING: 'TOKEN_MISSING',
  /** Malformed, forged, or not issued by this node for the `roam` audience. */
  TOKEN_INVALID: 'TOKEN_INVALID',
  /** Past its `exp` (beyond the clock tolerance). */
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  /** The party is deactivated, gone, or of another kind than the token says. */
  IDENTITY_REVOKED: 'IDENTITY_REVOKED',
  /** The party rotated its signing key after the token was issued (identity.key.rotate). */
  TOKEN_KEY_ROTATED: 'TOKEN_KEY_ROTATED',
} as const;
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

export class AuthError extends CodedError<AuthErrorCode> {
  override readonly name = 'AuthError';
}
