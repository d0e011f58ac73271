/**
 * The sign-in routes under `/auth`, and `requireAuth`, the preHandler that guards routes with an
 * access token (`Authorization: Bearer <token>`) and puts the principal on the request.
 *
 * Every 401 answer carries `WWW-Authenticate: Bearer realm="roam"` (RFC 6750 §3), with
 * `error="invalid_token"` when a token was presented and refused. Errors go through the server's
 * error handler as HttpErrors with the registry's codes (`src/node/http/errors.ts`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { z } from 'zod';
import type { ChallengeResponse, PrincipalResponse, TokenResponse } from '../../wire/index.js';
import { HTTP_ERRORS, HttpError } from '../http/errors.js';
import { didSchema } from '../http/params.js';
import { NONCE_LENGTH } from './challenges.js';
import { AuthError, AuthErrorCode } from './errors.js';
import type { AuthService, Principal } from './service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, set by the `requireAuth` preHandler; null on routes that do not require it. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** The node's sign-in service (registered by `registerAuthRoutes`), for `requireAuth(app.auth)`. */
    auth: AuthService;
  }
}

/** Largest body of the `/auth` routes. */
export const AUTH_BODY_LIMIT_BYTES = 4096;
/** The realm of every `WWW-Authenticate` challenge. */
export const AUTH_REALM = 'roam';

const challengeBodySchema = z.strictObject({ did: didSchema });
const tokenBodySchema = z.strictObject({
  did: didSchema,
  nonce: z.string().regex(new RegExp(`^[A-Za-z0-9_-]{${NONCE_LENGTH}}$`), {
    error: `must be the ${NONCE_LENGTH}-character nonce of a challenge`,
  }),
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, {
    error: 'must be a 64-byte Ed25519 signature in base64url (86 characters)',
  }),
});

/**
 * Registers `POST /auth/challenge`, `POST /auth/token` and `GET /auth/me` on `app`, decorates
 * `app.auth` with `auth` and requests with `principal`. Returns `auth`.
 *
 * @example
 * registerAuthRoutes(app, createNodeAuthService(node));
 * app.get('/fhir/Patient', { preHandler: requireAuth(app.auth) }, (request) => request.principal);
 */
export function registerAuthRoutes(app: FastifyInstance, auth: AuthService): AuthService {
  app.decorate('auth', auth);
  app.decorateRequest('principal', null);
  const noStore = (reply: FastifyReply) =>
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');

  app.post('/auth/challenge', { bodyLimit: AUTH_BODY_LIMIT_BYTES }, (request, reply) => {
    const { did } = parseBody(challengeBodySchema, request.body, '{ did }');
    try {
      const response: ChallengeResponse = auth.createChallenge(did);
      noStore(reply);
      return response;
    } catch (error) {
      throw httpErrorOf(error, reply);
    }
  });

  app.post('/auth/token', { bodyLimit: AUTH_BODY_LIMIT_BYTES }, async (request, reply) => {
    const body = parseBody(tokenBodySchema, request.body, '{ did, nonce, signature }');
    try {
      const response: TokenResponse = await auth.issueToken(body);
      noStore(reply);
      return response;
    } catch (error) {
      throw httpErrorOf(error, reply);
    }
  });

  app.get('/auth/me', { preHandler: requireAuth(auth) }, (request) => {
    const response: PrincipalResponse = requirePrincipal(request);
    return response;
  });

  return auth;
}

/**
 * A preHandler that refuses a request without a valid access token (401 TOKEN_MISSING,
 * TOKEN_INVALID, TOKEN_EXPIRED, IDENTITY_REVOKED, TOKEN_KEY_ROTATED, with `WWW-Authenticate: Bearer`) and otherwise
 * sets `request.principal`.
 *
 * @example app.get('/fhir/metadata-private', { preHandler: requireAuth(app.auth) }, handler);
 */
export function requireAuth(auth: AuthService): preHandlerAsyncHookHandler {
  return async function requireAccessToken(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    request.principal = await authenticateBearer(auth, request, reply);
  };
}

/**
 * The principal of `request`'s access token, or the registry's HttpError (401 TOKEN_MISSING,
 * TOKEN_INVALID, TOKEN_EXPIRED, IDENTITY_REVOKED, TOKEN_KEY_ROTATED) with `WWW-Authenticate`
 * set on `reply`. For routes that decide themselves what an anonymous caller gets.
 */
export async function authenticateBearer(
  auth: AuthService,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Principal> {
  try {
    return await verifyRequestToken(auth, request);
  } catch (error) {
    throw httpErrorOf(error, reply);
  }
}

/** Each request's token verification, shared by everything that asks during the request. */
const verifications = new WeakMap<FastifyRequest, Promise<Principal>>();

/**
 * The principal of `request`'s `Authorization: Bearer` token, verified once per request: the rate
 * limits (which count a valid token's principal) and the route's guard share the answer. Rejects
 * with the AuthError (TOKEN_MISSING when there is no token).
 */
export function verifyRequestToken(auth: AuthService, request: FastifyRequest): Promise<Principal> {
  let verification = verifications.get(request);
  if (verification === undefined) {
    verification = Promise.resolve().then(() =>
      auth.verifyAccessToken(bearerToken(request.headers.authorization)),
    );
    verifications.set(request, verification);
  }
  return verification;
}

/** The principal `requireAuth` set on `request`; a route without `requireAuth` is a bug (500). */
export function requirePrincipal(request: FastifyRequest): Principal {
  if (request.principal === null || request.principal === undefined) {
    throw new Error(
      `route ${request.routeOptions.url ?? request.url} reads the principal without requireAuth`,
    );
  }
  return request.principal;
}

/** The token of an `Authorization: Bearer <token>` header; '' when there is none. */
function bearerToken(header: string | undefined): string {
  if (header === undefined) return '';
  const match = /^Bearer(?:\s+(.*))?$/i.exec(header.trim());
  if (match === null) return '';
  const token = match[1]?.trim() ?? '';
  if (/\s/.test(token))
    throw new AuthError(AuthErrorCode.TOKEN_INVALID, 'the Authorization header must be "Bearer <token>"');
  return token;
}

/** An AuthError as the registry's HttpError, with its `WWW-Authenticate` header set on `reply`. */
function httpErrorOf(error: unknown, reply: FastifyReply): unknown {
  if (!(error instanceof AuthError)) return error;
  if (HTTP_ERRORS[error.code] === 401) {
    const tokenRefused =
      error.code === AuthErrorCode.TOKEN_INVALID ||
      error.code === AuthErrorCode.TOKEN_EXPIRED ||
      error.code === AuthErrorCode.IDENTITY_REVOKED ||
      error.code === AuthErrorCode.TOKEN_KEY_ROTATED;
    void reply.header(
      'www-authenticate',
      `Bearer realm="${AUTH_REALM}"${tokenRefused ? ', error="invalid_token"' : ''}`,
    );
  }
  return new HttpError(error.code, error.message);
}

/** `body` parsed with `schema`, or VALIDATION_FAILED naming the first bad field. */
function parseBody<S extends z.ZodType>(schema: S, body: unknown, shape: string): z.output<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError('VALIDATION_FAILED', `body must be a JSON object ${shape}`);
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    throw new HttpError(
      'VALIDATION_FAILED',
      `body field "${(issue.keys[0] ?? '').slice(0, 64)}" is not known (expected ${shape})`,
    );
  }
  const name = issue?.path.map(String).join('.') ?? '';
  const message =
    issue?.code === 'invalid_type' && issue.input === undefined
      ? 'is required'
      : (issue?.message ?? 'is invalid');
  throw new HttpError('VALIDATION_FAILED', `body field "${name}" ${message}`);
}
