/**
 * Sign-in for parties registered on the ledger, without any HTTP framework:
 *
 * 1. `createChallenge(did)`: a single-use nonce for a registered, active party;
 * 2. `issueToken({ did, nonce, signature })`: the party signs
 *    `roam-auth-v1\n<node DID>\n<did>\n<nonce>` with its CURRENT ledger signing key and gets an
 *    access token: a JWT (EdDSA / Ed25519) signed by this node's key;
 * 3. `verifyAccessToken(token)`: the token's signature, issuer, audience and expiry, that the
 *    party is still registered and active on the ledger with the same kind, and that the signing
 *    key it signed in with is still its current key (the token's `key` claim is a thumbprint of
 *    that key: after `identity.key.rotate` every token of the old key is refused).
 *
 * Tokens and signatures are never logged nor put into error messages.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import {
  authMessage,
  type ChallengeResponse,
  type PrincipalResponse,
  type TokenRequest,
  type TokenResponse,
} from '../../wire/index.js';
import {
  fromBase64Url,
  randomBytes,
  SIGNATURE_LENGTH,
  toBase64Url,
  utf8ToBytes,
  verifyAsync,
  type SigningKeyPair,
} from '../../crypto/index.js';
import {
  PRACTITIONER_ROLES,
  StateKey,
  type PartyKind,
  type PartyRecord,
  type PractitionerRole,
} from '../../ledger/index.js';
import type { RoamNode } from '../roam-node.js';
import { ChallengeStore } from './challenges.js';
import { AuthError, AuthErrorCode } from './errors.js';

/** How long a challenge may be answered. */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;
/** Most challenges outstanding at once; beyond it the oldest is dropped. */
export const MAX_OUTSTANDING_CHALLENGES = 10_000;
/**
 * Most challenges outstanding for one DID; beyond it that DID's oldest is dropped. One sign-in
 * needs one; a few cover retries and several devices, and a flood for one DID (or from one
 * client naming its own DID) cannot push other parties' challenges out of the global bound.
 */
export const MAX_OUTSTANDING_CHALLENGES_PER_DID = 5;
/** Lifetime of an access token. */
export const ACCESS_TOKEN_TTL_S = 15 * 60;
/** Clock skew allowed when checking a token's `exp`. */
export const TOKEN_CLOCK_TOLERANCE_S = 5;
/** The `aud` of every access token. */
export const TOKEN_AUDIENCE = 'roam';
/** The JOSE `typ` of access tokens (RFC 9068), so that no other JWT of the node passes for one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Longest token accepted for checking (a Roam token is about 600 characters). */
export const MAX_TOKEN_LENGTH = 4096;
/** Most verified access tokens remembered, so that a token's signature is checked once. */
export const VERIFIED_TOKEN_CACHE_SIZE = 10_000;
/** JWS algorithm of access tokens (Ed25519). */
const TOKEN_ALGORITHM = 'EdDSA';
const PARTY_KINDS: readonly PartyKind[] = ['patient', 'practitioner', 'node'];

/** Who an access token speaks for: a party as the ledger holds it now. */
export type Principal = PrincipalResponse;

/** The party record of a DID on the ledger (committed state), or undefined. */
export type PartyLookup = (did: string) => PartyRecord | undefined;

export interface AuthServiceOptions {
  /** This node's DID: the tokens' issuer and `kid`, and part of every signed sign-in message. */
  readonly nodeDid: string;
  /** This node's Ed25519 key pair (`secretKey` is the 32-byte seed); signs the tokens. */
  readonly nodeKey: SigningKeyPair;
  readonly parties: PartyLookup;
  /** Clock in ms since the epoch (default Date.now); tests move it. */
  readonly now?: () => number;
  readonly challengeTtlMs?: number;
  readonly maxOutstandingChallenges?: number;
  readonly maxOutstandingChallengesPerDid?: number;
  readonly tokenTtlSeconds?: number;
}

/**
 * Sign-in and access-token checks of one node.
 *
 * @example
 * const auth = createNodeAuthService(node);
 * const { message, nonce } = auth.createChallenge(wallet.did);
 * const signature = toBase64Url(sign(wallet.signing.secretKey, utf8ToBytes(message)));
 * const { access_token } = await auth.issueToken({ did: wallet.did, nonce, signature });
 * const principal = await auth.verifyAccessToken(access_token);
 */
export interface AuthService {
  readonly nodeDid: string;
  /** @throws AuthError UNKNOWN_DID when `did` is not a registered, active party */
  createChallenge(did: string): ChallengeResponse;
  /** @throws AuthError CHALLENGE_UNKNOWN, UNKNOWN_DID, BAD_SIGNATURE */
  issueToken(request: TokenRequest): Promise<TokenResponse>;
  /** @throws AuthError TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED, IDENTITY_REVOKED, TOKEN_KEY_ROTATED */
  verifyAccessToken(token: string): Promise<Principal>;
}

/** An AuthService over `options.parties`, signing with `options.nodeKey`. */
export function createAuthService(options: AuthServiceOptions): AuthService {
  return new LedgerAuthService(options);
}

/** The AuthService of `node`: its DID and key, and party records from its ledger. */
export function createNodeAuthService(
  node: RoamNode,
  options: Omit<AuthServiceOptions, 'nodeDid' | 'nodeKey' | 'parties'> = {},
): AuthService {
  return createAuthService({
    ...options,
    nodeDid: node.did,
    nodeKey: node.config.keys.node,
    parties: partiesOf(node),
  });
}

/** Most party records remembered per block by `partiesOf`. */
const PARTY_CACHE_SIZE = 10_000;
const partyLookups = new WeakMap<RoamNode, PartyLookup>();

/**
 * The party records of `node`'s ledger, each read once per committed block: state changes only
 * when a block commits, and the cache is emptied when the ledger announces one (before the
 * waiters of its transactions go on), so a deactivation refuses tokens from its commit on.
 */
function partiesOf(node: RoamNode): PartyLookup {
  let lookup = partyLookups.get(node);
  if (lookup === undefined) {
    const cache = new Map<string, PartyRecord | undefined>();
    node.ledger.on('block', () => cache.clear());
    lookup = (did) => {
      if (cache.has(did)) return cache.get(did);
      const party = node.ledger.getState<PartyRecord>(StateKey.party(did));
      if (cache.size >= PARTY_CACHE_SIZE) cache.clear();
      cache.set(did, party);
      return party;
    };
    partyLookups.set(node, lookup);
  }
  return lookup;
}

class LedgerAuthService implements AuthService {
  readonly nodeDid: string;
  private readonly parties: PartyLookup;
  private readonly now: () => number;
  private readonly tokenTtlSeconds: number;
  private readonly challenges: ChallengeStore;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  /**
   * Tokens whose signature and claims verified, by the SHA-256 of the token (never the token
   * itself, so no lookup compares a secret), until they expire. Only the party's status on the
   * ledger is checked again on each request.
   */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(options: AuthServiceOptions) {
    if (typeof options.nodeDid !== 'string' || !options.nodeDid.startsWith('did:')) {
      throw new TypeError('"nodeDid" expected a DID');
    }
    this.nodeDid = options.nodeDid;
    this.parties = options.parties;
    this.now = options.now ?? Date.now;
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? ACCESS_TOKEN_TTL_S;
    if (!Number.isSafeInteger(this.tokenTtlSeconds) || this.tokenTtlSeconds <= 0) {
      throw new RangeError(`"tokenTtlSeconds" expected a positive integer, got ${this.tokenTtlSeconds}`);
    }
    this.challenges = new ChallengeStore({
      ttlMs: options.challengeTtlMs ?? CHALLENGE_TTL_MS,
      maxOutstanding: options.maxOutstandingChallenges ?? MAX_OUTSTANDING_CHALLENGES,
      maxOutstandingPerDid: options.maxOutstandingChallengesPerDid ?? MAX_OUTSTANDING_CHALLENGES_PER_DID,
    });
    const { publicKey, secretKey } = options.nodeKey;
    const x = toBase64Url(publicKey);
    this.privateKey = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', x, d: toBase64Url(secretKey) },
      format: 'jwk',
    });
    this.publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  }

  createChallenge(did: string): ChallengeResponse {
    this.activeParty(did);
    const { nonce, expiresAt } = this.challenges.issue(did, this.now());
    return {
      nonce,
      expiresAt: new Date(expiresAt).toISOString(),
      message: authMessage(this.nodeDid, did, nonce),
    };
  }

  async issueToken(request: TokenRequest): Promise<TokenResponse> {
    const { did, nonce, signature } = request;
    if (
      typeof did !== 'string' ||
      typeof nonce !== 'string' ||
      !this.challenges.take(did, nonce, this.now())
    ) {
      throw new AuthError(
        AuthErrorCode.CHALLENGE_UNKNOWN,
        'this nonce was not issued for this DID, was already used, or has expired; ask for a new challenge',
      );
    }
    const party = this.activeParty(did);
    const signatureBytes = decodeSignature(signature);
    const verified =
      signatureBytes !== undefined &&
      (await verifyAsync(
        fromBase64Url(party.signingKey),
        utf8ToBytes(authMessage(this.nodeDid, did, nonce)),
        signatureBytes,
      ));
    if (!verified) {
      throw new AuthError(
        AuthErrorCode.BAD_SIGNATURE,
        `the signature does not verify with the current signing key of ${did} over the challenge's message`,
      );
    }
    const principal = principalOf(party);
    const issuedAt = Math.floor(this.now() / 1000);
    const token = await new SignJWT({
      kind: principal.kind,
      roles: [...principal.roles],
      org: principal.org,
      [KEY_THUMBPRINT_CLAIM]: keyThumbprint(party.signingKey),
    })
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: this.nodeDid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.nodeDid)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(did)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.tokenTtlSeconds)
      .setJti(toBase64Url(randomBytes(16)))
      .sign(this.privateKey);
    return { access_token: token, token_type: 'Bearer', expires_in: this.tokenTtlSeconds, ...principal };
  }

  async verifyAccessToken(token: string): Promise<Principal> {
    if (typeof token !== 'string' || token === '') {
      throw new AuthError(
        AuthErrorCode.TOKEN_MISSING,
        'an access token is required (Authorization: Bearer <token>)',
      );
    }
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new AuthError(
        AuthErrorCode.TOKEN_INVALID,
        `the access token is longer than ${MAX_TOKEN_LENGTH} characters`,
      );
    }
    const key = createHash('sha256').update(token).digest('base64url');
    let claims = this.verified.get(key);
    if (claims !== undefined && claims.exp <= Math.floor(this.now() / 1000) - TOKEN_CLOCK_TOLERANCE_S) {
      // The check jose makes of "exp", on the claims it verified before.
      this.verified.delete(key);
      throw new AuthError(AuthErrorCode.TOKEN_EXPIRED, 'the access token has expired; sign in again');
    }
    if (claims === undefined) {
      const checked = await this.verifySignedToken(token);
      claims = checked.claims;
      if (checked.cacheable) {
        if (this.verified.size >= VERIFIED_TOKEN_CACHE_SIZE) this.evictVerified();
        this.verified.set(key, claims);
      }
    }
    const { did, kind, keyThumbprint: signedInWith } = claims;
    const party = this.parties(did);
    if (party === undefined || party.status !== 'active' || party.kind !== kind) {
      throw new AuthError(
        AuthErrorCode.IDENTITY_REVOKED,
        `${did} is no longer a registered, active ${kind} on the ledger; the access token is refused`,
      );
    }
    // Thumbprints are public values (hashes of public keys): a plain comparison leaks no secret.
    if (signedInWith !== keyThumbprint(party.signingKey)) {
      throw new AuthError(
        AuthErrorCode.TOKEN_KEY_ROTATED,
        `the signing key of ${did} changed after this token was issued; sign in again with the current key`,
      );
    }
    return principalOf(party);
  }

  /**
   * Checks a token's signature, header and claims (jose); returns the claims Roam uses, and
   * whether they hold for the token's whole life (no "nbf": the node issues none).
   */
  private async verifySignedToken(token: string): Promise<{ claims: VerifiedToken; cacheable: boolean }> {
    let payload: JWTPayload;
    try {
      const verified = await jwtVerify(token, this.publicKey, {
        algorithms: [TOKEN_ALGORITHM],
        issuer: this.nodeDid,
        audience: TOKEN_AUDIENCE,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: TOKEN_CLOCK_TOLERANCE_S,
        currentDate: new Date(this.now()),
        requiredClaims: ['sub', 'iat', 'exp', 'jti'],
      });
      if (verified.protectedHeader.kid !== this.nodeDid)
        throw new AuthError(AuthErrorCode.TOKEN_INVALID, 'the access token was not issued by this node');
      payload = verified.payload;
    } catch (error) {
      if (error instanceof AuthError) throw error;
      if (error instanceof joseErrors.JWTExpired) {
        throw new AuthError(AuthErrorCode.TOKEN_EXPIRED, 'the access token has expired; sign in again');
      }
      if (error instanceof joseErrors.JOSEError) {
        // jose's messages name the failed check (signature, "iss", "aud"…), never the token.
        throw new AuthError(AuthErrorCode.TOKEN_INVALID, `the access token is not valid: ${error.message}`);
      }
      throw error;
    }
    const did = payload.sub;
    const kind = payload['kind'];
    const thumbprint = payload[KEY_THUMBPRINT_CLAIM];
    if (
      typeof did !== 'string' ||
      !isPartyKind(kind) ||
      typeof payload.exp !== 'number' ||
      typeof thumbprint !== 'string'
    ) {
      throw new AuthError(
        AuthErrorCode.TOKEN_INVALID,
        `the access token has no valid "sub", "kind" or "${KEY_THUMBPRINT_CLAIM}" claim`,
      );
    }
    return {
      claims: { did, kind, exp: payload.exp, keyThumbprint: thumbprint },
      cacheable: payload.nbf === undefined,
    };
  }

  /** Forgets expired tokens, and the oldest one if none expired. */
  private evictVerified(): void {
    const now = Math.floor(this.now() / 1000) - TOKEN_CLOCK_TOLERANCE_S;
    for (const [key, claims] of this.verified) if (claims.exp <= now) this.verified.delete(key);
    if (this.verified.size >= VERIFIED_TOKEN_CACHE_SIZE) {
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
  }

  /** The party record of `did` if it is registered and active; else UNKNOWN_DID. */
  private activeParty(did: string): PartyRecord {
    const party = typeof did === 'string' ? this.parties(did) : undefined;
    if (party === undefined || party.status !== 'active') {
      throw new AuthError(
        AuthErrorCode.UNKNOWN_DID,
        `no registered, active party ${String(did)} on the ledger`,
      );
    }
    return party;
  }
}

/** What a verified access token says (see `LedgerAuthService.verified`). */
interface VerifiedToken {
  readonly did: string;
  readonly kind: PartyKind;
  /** "exp", in seconds since the epoch. */
  readonly exp: number;
  /** The `key` claim: thumbprint of the signing key the party signed in with. */
  readonly keyThumbprint: string;
}

/** Claim naming the signing key a token was issued to (see {@link keyThumbprint}). */
export const KEY_THUMBPRINT_CLAIM = 'key';

/**
 * SHA-256 (base64url) of a party's signing key as the ledger holds it (base64url of the raw
 * Ed25519 public key): binds a token to the key that signed in, without putting the key in it.
 */
export function keyThumbprint(signingKey: string): string {
  return createHash('sha256').update(`roam-token-key-v1\n${signingKey}`).digest('base64url');
}

/** The principal of a party record: roles and organization as the ledger holds them now. */
function principalOf(party: PartyRecord): Principal {
  const roles: PractitionerRole[] = (party.roles ?? []).filter((role) => PRACTITIONER_ROLES.includes(role));
  return { did: party.did, kind: party.kind, roles, org: party.org ?? null };
}

function isPartyKind(value: unknown): value is PartyKind {
  return typeof value === 'string' && (PARTY_KINDS as readonly string[]).includes(value);
}

/** A 64-byte signature from base64url, or undefined. */
function decodeSignature(signature: unknown): Uint8Array | undefined {
  if (typeof signature !== 'string' || signature.length !== Math.ceil((SIGNATURE_LENGTH * 4) / 3))
    return undefined;
  try {
    const bytes = fromBase64Url(signature);
    return bytes.length === SIGNATURE_LENGTH ? bytes : undefined;
  } catch {
    return undefined;
  }
}
