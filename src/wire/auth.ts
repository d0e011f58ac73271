/**
 * Sign-in to a node's HTTP API (`/auth/*`): the text a party signs and the bodies of the answers.
 * The node checks signatures of exactly this text and the client signs exactly this text, so both
 * build it here.
 */
import type { PartyKind, PractitionerRole } from '../ledger/types.js';

/** First line of every sign-in message: the version of the scheme. */
export const AUTH_MESSAGE_PREFIX = 'roam-auth-v1';

/**
 * The text a party signs to sign in at a node: `roam-auth-v1\n<node DID>\n<party DID>\n<nonce>`.
 * The node's DID is part of it, so a signature made for one node is worthless at another.
 */
export function authMessage(nodeDid: string, did: string, nonce: string): string {
  return `${AUTH_MESSAGE_PREFIX}\n${nodeDid}\n${did}\n${nonce}`;
}

/** Answer of `POST /auth/challenge`. */
export interface ChallengeResponse {
  /** 32 random bytes, base64url; single use. */
  readonly nonce: string;
  /** ISO 8601 time after which the nonce is no longer accepted. */
  readonly expiresAt: string;
  /** The exact text to sign (see {@link authMessage}). */
  readonly message: string;
}

/** Body of `POST /auth/token`. */
export interface TokenRequest {
  readonly did: string;
  readonly nonce: string;
  /** Ed25519 signature (base64url, 64 bytes) of the UTF-8 bytes of the challenge's message. */
  readonly signature: string;
}

/** Who a valid access token speaks for, as the node sees it on its ledger. */
export interface PrincipalResponse {
  readonly did: string;
  readonly kind: PartyKind;
  /** Practitioner roles; empty for patients and nodes. */
  readonly roles: readonly PractitionerRole[];
  /** Organization DID of a practitioner or node; null for patients. */
  readonly org: string | null;
}

/** Answer of `POST /auth/token` (OAuth 2.0 token response fields, plus the principal). */
export interface TokenResponse extends PrincipalResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  /** Seconds the token stays valid. */
  readonly expires_in: number;
}
