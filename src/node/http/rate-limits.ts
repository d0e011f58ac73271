/**
 * Rate limits on the routes a client can drive hard: sign-in (`/auth/*`), submissions
 * (`POST /ledger/tx`), the FHIR API (`/fhir/*`) and SMART Health Links (`/shl/*`), with
 * `@fastify/rate-limit`'s counters.
 *
 * One root `onRequest` hook (so it also covers the `/fhir` context, whatever that context's own
 * hooks do) counts each request against its group before anything else runs: a refused request
 * reaches no route, parses no body and changes nothing. The counter's key is the signed-in
 * principal when the request carries a valid access token (so one client cannot spend another's
 * allowance by sharing its IP, e.g. behind a hospital's NAT), else the client IP. A refused
 * request answers 429 with `Retry-After` (seconds): `{ error: { code: 'RATE_LIMITED' } }`
 * outside `/fhir`, an OperationOutcome (`throttled`) on `/fhir`.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { verifyRequestToken, type AuthService } from '../auth/index.js';
import type { ErrorBody } from './errors.js';
import { HTTP_ERRORS } from './errors.js';

/** At most `max` requests per `windowMs` for one key (principal or IP). */
export interface RateLimit {
  readonly max: number;
  readonly windowMs: number;
}

/** The limits of each group of routes (node.json `rateLimits`; every key optional). */
export interface RateLimits {
  /** `POST /auth/challenge`, `POST /auth/token`, `GET /auth/me`. */
  readonly auth: RateLimit;
  /** `POST /ledger/tx` (one request counts once, whatever its batch size). */
  readonly ledgerTx: RateLimit;
  /** Every route under `/fhir`. */
  readonly fhir: RateLimit;
  /** Every route under `/shl/` (SMART Health Links: the patient's, and the anonymous manifest and file routes). */
  readonly shl: RateLimit;
}

const MINUTE_MS = 60_000;

/**
 * Defaults for a hospital node. Sign-in: a few hundred per minute per IP covers a ward signing in
 * behind one NAT at a shift change (tokens last 15 minutes), while a flood is cut after the first
 * few hundred. Submissions and FHIR: per principal, well above what a person or the web app does,
 * below what would starve the node's other callers. Benchmarks and integration engines set their
 * their own in node.json `rateLimits` (src/node/config.ts) or `HttpServerOptions.rateLimits`.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  auth: { max: 300, windowMs: MINUTE_MS },
  ledgerTx: { max: 1_200, windowMs: MINUTE_MS },
  fhir: { max: 6_000, windowMs: MINUTE_MS },
  // Mostly anonymous (per IP): a clinic opening links behind one NAT, far below a flood.
  shl: { max: 600, windowMs: MINUTE_MS },
};

/** Some groups' limits (node.json `rateLimits`, a test's or a benchmark's). */
export type RateLimitOverrides = { readonly [group in keyof RateLimits]?: RateLimit | undefined };

/** The limits of `DEFAULT_RATE_LIMITS` with each `overrides` applied in turn, group by group. */
export function resolveRateLimits(...overrides: ReadonlyArray<RateLimitOverrides | undefined>): RateLimits {
  const limits: Record<keyof RateLimits, RateLimit> = { ...DEFAULT_RATE_LIMITS };
  for (const override of overrides) {
    for (const group of Object.keys(limits) as Array<keyof RateLimits>) {
      const limit = override?.[group];
      if (limit !== undefined) limits[group] = limit;
    }
  }
  return limits;
}

type RateGroup = keyof RateLimits;

/** The group of a request, from its method and path; undefined for unlimited routes. */
export function rateGroupOf(method: string, url: string): RateGroup | undefined {
  const path = url.split('?', 1)[0] ?? '';
  if (path === '/fhir' || path.startsWith('/fhir/')) return 'fhir';
  if (path.startsWith('/auth/')) return 'auth';
  if (method === 'POST' && path === '/ledger/tx') return 'ledgerTx';
  if (path.startsWith('/shl/')) return 'shl';
  return undefined;
}

/** Most keys counted at once; past it, expired windows and then the oldest are forgotten. */
export const MAX_RATE_KEYS = 100_000;

type IncrCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/**
 * The counters behind the limits: a fixed window per key, in memory. The plugin's own LocalStore
 * hands every caller the same mutable entry, so requests counted in one tick (pipelined, or
 * `inject`ed together) all read the last count and are all refused; this store answers each
 * increment with its own snapshot.
 */
export class WindowCounterStore {
  private readonly windows = new Map<string, { count: number; startMs: number }>();

  incr(key: string, callback: IncrCallback, timeWindow: number, _max: number): void {
    const now = Date.now();
    let window = this.windows.get(key);
    if (window === undefined || window.startMs + timeWindow <= now) {
      if (window === undefined && this.windows.size >= MAX_RATE_KEYS) this.evict(now, timeWindow);
      window = { count: 0, startMs: now };
      this.windows.delete(key);
      this.windows.set(key, window);
    }
    window.count += 1;
    callback(null, { current: window.count, ttl: window.startMs + timeWindow - now });
  }

  child(): WindowCounterStore {
    return this;
  }

  /** Windows start in insertion order: expired ones are at the front; else the oldest goes. */
  private evict(now: number, timeWindow: number): void {
    for (const [key, window] of this.windows) {
      const expired = window.startMs + timeWindow <= now;
      if (!expired && this.windows.size < MAX_RATE_KEYS) break;
      this.windows.delete(key);
    }
  }
}

export interface RateLimitsOptions {
  readonly limits: RateLimits;
  /** Checks access tokens, so that a valid token's principal is the key. */
  readonly auth: AuthService;
}

/**
 * Registers `@fastify/rate-limit` (for its counters only: no route of its own) and the hook that
 * applies `options.limits` to every request of a limited group.
 *
 * @example registerRateLimits(app, { limits: resolveRateLimits(node.config.file.rateLimits), auth });
 */
export function registerRateLimits(app: FastifyInstance, options: RateLimitsOptions): void {
  const { limits, auth } = options;
  void app.register(rateLimit, { global: false, store: WindowCounterStore });
  /** The key each request was counted under (computed once, read by the limiter). */
  const keys = new WeakMap<FastifyRequest, string>();
  type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
  let limiters: Record<RateGroup, Limiter> | undefined;
  const limiterFor = (group: RateGroup): Limiter => {
    limiters ??= {
      auth: createLimiter(app, limits.auth, keys),
      ledgerTx: createLimiter(app, limits.ledgerTx, keys),
      fhir: createLimiter(app, limits.fhir, keys),
      shl: createLimiter(app, limits.shl, keys),
    };
    return limiters[group];
  };

  app.addHook('onRequest', async (request, reply) => {
    const group = rateGroupOf(request.method, request.url);
    if (group === undefined) return;
    keys.set(request, `${group} ${await principalKey(auth, request)}`);
    const result = await limiterFor(group)(request);
    if (result.isAllowed || !result.isExceeded) return;
    const retryAfter = Math.max(1, result.ttlInSeconds);
    void reply.header('retry-after', String(retryAfter));
    const message = `more than ${result.max} requests in ${Math.round(result.timeWindow / 1000)} s to ${group === 'ledgerTx' ? 'POST /ledger/tx' : `/${group}`}; retry after ${retryAfter} s`;
    return sendRateLimited(reply, group, message);
  });
}

function createLimiter(
  app: FastifyInstance,
  limit: RateLimit,
  keys: WeakMap<FastifyRequest, string>,
): ReturnType<FastifyInstance['createRateLimit']> {
  return app.createRateLimit({
    max: limit.max,
    timeWindow: limit.windowMs,
    keyGenerator: (request) => keys.get(request) ?? `ip ${request.ip}`,
  });
}

/** `principal <did>` for a valid access token, else `ip <address>`. */
async function principalKey(auth: AuthService, request: FastifyRequest): Promise<string> {
  if (request.headers.authorization !== undefined) {
    try {
      // Verified once for the request: the route's guard reuses this answer.
      return `principal ${(await verifyRequestToken(auth, request)).did}`;
    } catch {
      // An invalid token counts against the IP; the route refuses it on its own terms.
    }
  }
  return `ip ${request.ip}`;
}

function sendRateLimited(reply: FastifyReply, group: RateGroup, message: string): FastifyReply {
  const status = HTTP_ERRORS.RATE_LIMITED;
  if (group === 'fhir') {
    return reply
      .code(status)
      .type('application/fhir+json')
      .send({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'throttled', details: { text: `RATE_LIMITED: ${message}` } }],
      });
  }
  const body: ErrorBody = { error: { code: 'RATE_LIMITED', message } };
  return reply.code(status).send(body);
}
