/**
 * Sign-in to a node's HTTP API: challenge → Ed25519 signature by the party's current key → an
 * access token (a JWT signed by the node) to send as `Authorization: Bearer <token>`.
 * Uses only `fetch` (no `node:` imports), like the rest of the client.
 */
import { sign, toBase64Url, utf8ToBytes } from '../crypto/index.js';
import {
  AUTH_MESSAGE_PREFIX,
  authMessage,
  type ChallengeResponse,
  type PrincipalResponse,
  type TokenRequest,
  type TokenResponse,
} from '../wire/index.js';
import { ClientErrorCode, RoamApiError } from './errors.js';
import { DEFAULT_CLIENT_TIMEOUT_MS } from './http-client.js';
import type { TxSigner } from './tx-builder.js';
import { requestJson } from './request.js';

/** Where the node is and how to reach it: a RoamClient qualifies (it has `baseUrl`). */
export interface AuthEndpoint {
  /** The node's base URL, e.g. `http://127.0.0.1:8080` (a trailing slash is ignored). */
  readonly baseUrl: string;
}

export interface AuthCallOptions {
  /** A fetch implementation (default: the global one). */
  readonly fetch?: typeof fetch;
  /** Per-call timeout in ms (default DEFAULT_CLIENT_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

export interface SignInOptions extends AuthCallOptions {
  /**
   * The DID of the node the caller means to sign in at. When given, a challenge naming another
   * node is refused (NODE_MISMATCH) instead of signed: a server relaying another node's
   * challenge would otherwise obtain a signature valid at that node.
   */
  readonly expectedNodeDid?: string;
}

/** Client-side failure of sign-in: the node's challenge is not one this client will sign. */
export const AuthClientErrorCode = {
  /** The challenge names another node than `expectedNodeDid`. */
  NODE_MISMATCH: 'NODE_MISMATCH',
} as const;

/**
 * POST /auth/challenge: a single-use nonce for `did`, valid for a few minutes.
 *
 * @throws RoamApiError UNKNOWN_DID (404) when `did` is not a registered, active party
 */
export function requestChallenge(
  node: AuthEndpoint,
  did: string,
  options: AuthCallOptions = {},
): Promise<ChallengeResponse> {
  return post(node, '/auth/challenge', { did }, options);
}

/**
 * POST /auth/token: exchanges a signed challenge for an access token.
 *
 * @throws RoamApiError CHALLENGE_UNKNOWN (nonce never issued, used or expired), BAD_SIGNATURE,
 *   UNKNOWN_DID
 */
export function requestToken(
  node: AuthEndpoint,
  request: TokenRequest,
  options: AuthCallOptions = {},
): Promise<TokenResponse> {
  return post(node, '/auth/token', request, options);
}

/**
 * GET /auth/me: the principal an access token stands for.
 *
 * @throws RoamApiError TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED, IDENTITY_REVOKED (all 401)
 */
export function whoAmI(
  node: AuthEndpoint,
  accessToken: string,
  options: AuthCallOptions = {},
): Promise<PrincipalResponse> {
  return call(node, 'GET', '/auth/me', undefined, options, accessToken);
}

/**
 * Signs in `signer` (a wallet: its DID and current signing key) at `node`: asks for a challenge,
 * checks that it is well formed and names `signer`'s DID (and `expectedNodeDid`, if given),
 * signs it and exchanges the signature for an access token.
 *
 * @throws RoamApiError with the node's code, BAD_RESPONSE for a challenge that does not follow
 *   the scheme, NODE_MISMATCH, or INVALID_ARGUMENT for a signer without a 32-byte key
 * @example
 * const { access_token } = await signIn({ baseUrl: 'http://127.0.0.1:8080' }, wallet);
 * await fetch(url, { headers: { authorization: `Bearer ${access_token}` } });
 */
export async function signIn(
  node: AuthEndpoint,
  signer: TxSigner,
  options: SignInOptions = {},
): Promise<TokenResponse> {
  const secretKey = signer?.signing?.secretKey;
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
    throw new RoamApiError(
      0,
      ClientErrorCode.INVALID_ARGUMENT,
      '"signer.signing.secretKey" expected Uint8Array of length 32',
    );
  }
  return signInWith(node, signer.did, (message) => Promise.resolve(sign(secretKey, message)), options);
}

/**
 * As {@link signIn}, with the signature made by `signMessage` (e.g. on WebCrypto in a browser,
 * `(m) => signAsync(wallet.signing.secretKey, m)`), so a key can stay where it is kept.
 *
 * @throws RoamApiError as {@link signIn}
 */
export async function signInWith(
  node: AuthEndpoint,
  signerDid: string,
  signMessage: (message: Uint8Array) => Promise<Uint8Array>,
  options: SignInOptions = {},
): Promise<TokenResponse> {
  const challenge = await requestChallenge(node, signerDid, options);
  const lines = typeof challenge.message === 'string' ? challenge.message.split('\n') : [];
  const [prefix, nodeDid, did, nonce] = lines;
  if (
    lines.length !== 4 ||
    prefix !== AUTH_MESSAGE_PREFIX ||
    nodeDid === undefined ||
    !nodeDid.startsWith('did:') ||
    did !== signerDid ||
    nonce !== challenge.nonce
  ) {
    throw new RoamApiError(
      200,
      ClientErrorCode.BAD_RESPONSE,
      'the node sent a challenge that is not a roam-auth-v1 message for this DID',
    );
  }
  if (options.expectedNodeDid !== undefined && nodeDid !== options.expectedNodeDid) {
    throw new RoamApiError(
      0,
      AuthClientErrorCode.NODE_MISMATCH,
      `the challenge is for node ${nodeDid}, not for ${options.expectedNodeDid}`,
    );
  }
  const signature = toBase64Url(await signMessage(utf8ToBytes(authMessage(nodeDid, signerDid, nonce))));
  return requestToken(node, { did: signerDid, nonce, signature }, options);
}

function post<T>(node: AuthEndpoint, path: string, body: unknown, options: AuthCallOptions): Promise<T> {
  return call(node, 'POST', path, body, options);
}

function call<T>(
  node: AuthEndpoint,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  options: AuthCallOptions,
  accessToken?: string,
): Promise<T> {
  return requestJson<T>({
    fetchFn: options.fetch ?? ((input: string | URL | Request, init?: RequestInit) => globalThis.fetch(input, init)),
    method,
    url: `${baseUrlOf(node)}${path}`,
    timeoutMs: options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS,
    ...(body === undefined ? {} : { body }),
    ...(accessToken === undefined ? {} : { bearer: accessToken }),
  });
}

function baseUrlOf(node: AuthEndpoint): string {
  const baseUrl = node?.baseUrl;
  let url: URL | undefined;
  try {
    url = typeof baseUrl === 'string' ? new URL(baseUrl) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new RoamApiError(0, ClientErrorCode.INVALID_ARGUMENT, '"node.baseUrl" expected an http(s) URL');
  }
  return url.href.replace(/\/+$/, '');
}
