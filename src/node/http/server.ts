import { setMaxListeners } from 'node:events';
/**
 * The node's HTTP server (Fastify 5): the ledger API, with one error handler and one not-found
 * handler that answer every failure as `{ error: { code, message } }` (codes in `./errors.ts`).
 * The `/fhir` API, when registered, sets its own handlers in its own encapsulated context
 * (FHIR errors are OperationOutcomes).
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { createNodeAuthService, registerAuthRoutes } from '../auth/index.js';
import type { RoamNode } from '../roam-node.js';
import { errorResponse, type ErrorBody } from './errors.js';
import { registerLedgerRoutes } from './ledger-routes.js';
import { registerRateLimits, resolveRateLimits, type RateLimitOverrides } from './rate-limits.js';
import { registerEmergencyRoutes } from '../emergency/routes.js';
import { registerFhirRoutes } from '../fhir/routes.js';
import { registerReplicaRoutes } from '../replica/routes.js';
import { registerRoamingRoutes } from '../roaming/routes.js';
import { registerShareLinkRoutes } from '../shl/routes.js';
import { registerVaultRoutes } from '../web/vault-routes.js';
import { registerWebRoutes } from '../web/web-routes.js';
import { registerHsts, type TlsCredentials } from './tls.js';
import { fastifyLoggerOptions, registerOpsRoutes, requestIdOf, type NodeLogOptions } from '../ops/index.js';

/** Largest body of any route that does not set its own limit. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

export interface HttpServerOptions {
  /**
   * Log requests (method, route pattern, status, time; never URLs, headers or bodies) and
   * failures as JSON lines (see src/node/ops/log-hygiene.ts): true for the defaults, or a level
   * and a stream. Default false.
   */
  readonly logger?: boolean | NodeLogOptions;
  /**
   * Rate limits, over those of the node's config (node.json `rateLimits`) and the defaults.
   * Benchmarks and tests that drive one principal hard set theirs here; limits are never off.
   */
  readonly rateLimits?: RateLimitOverrides;
  /** Serve HTTPS (only) with this certificate and key, with HSTS on every answer. Default: plain HTTP. */
  readonly tls?: TlsCredentials;
}

/**
 * Builds (without listening) the HTTP server of `node`. The node stays open when the server
 * closes; close it separately.
 *
 * @example
 * const app = buildHttpServer(node);
 * const res = await app.inject({ method: 'GET', url: '/ledger/status' });
 */
export function buildHttpServer(node: RoamNode, options: HttpServerOptions = {}): FastifyInstance {
  const common = {
    logger: fastifyLoggerOptions(options.logger ?? false),
    // One line per request, written by the ops request log (route pattern, not URL).
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false as const,
    genReqId: requestIdOf,
    bodyLimit: DEFAULT_BODY_LIMIT_BYTES,
    // Route parameters hold DIDs and hashes; a longer one is a bad request, not a lookup.
    routerOptions: { maxParamLength: 256 },
  };
  // Fastify types an HTTPS instance apart from an HTTP one; the routes use nothing that differs
  // (no raw socket access), so both are handled as the HTTP instance type.
  const app =
    options.tls === undefined
      ? Fastify(common)
      : (Fastify({ ...common, https: { cert: options.tls.cert, key: options.tls.key } }) as unknown as FastifyInstance);
  if (options.tls !== undefined) registerHsts(app);

  app.setErrorHandler((error, request, reply) => {
    const { status, body, internal } = errorResponse(error);
    // The error, never the request body (which may be a signed transaction of a patient).
    if (internal) request.log.error({ err: error }, 'request failed');
    else if (status >= 500) request.log.warn({ code: body.error.code }, body.error.message);
    return reply.code(status).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const body: ErrorBody = {
      error: {
        code: 'NOT_FOUND',
        message: `no route ${request.method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}`,
      },
    };
    return reply.code(404).send(body);
  });

  // Closing: open commit waits end (UNAVAILABLE), and the answers still in flight close their
  // connection, so that close() does not wait out the keep-alive timeout of those connections.
  const closing = new AbortController();
  // Every request waiting for a commit listens for the close: one listener each, by design.
  setMaxListeners(0, closing.signal);
  app.addHook('preClose', (done) => {
    closing.abort();
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing.signal.aborted) void reply.header('connection', 'close');
    done(null, payload);
  });

  registerOpsRoutes(app, { node });
  const auth = createNodeAuthService(node);
  registerRateLimits(app, {
    limits: resolveRateLimits(node.config.file.rateLimits, options.rateLimits),
    auth,
  });
  registerLedgerRoutes(app, { node, closing: closing.signal, auth });
  registerAuthRoutes(app, auth);
  registerFhirRoutes(app, node.fhir, auth);
  registerRoamingRoutes(app, node.fhir.roaming);
  registerReplicaRoutes(app, { replica: node.replica, roaming: node.fhir.roaming });
  registerVaultRoutes(app, node.fhir, auth);
  registerShareLinkRoutes(app, node.shareLinks, auth);
  if (node.emergency !== undefined) {
    const state = {
      get: <T>(key: string) => node.ledger.getState<T>(key),
      range: <T>(prefix: string) => node.ledger.rangeState<T>(prefix),
    };
    registerEmergencyRoutes(app, { emergency: node.emergency, state, orgDid: node.orgDid }, auth);
  }
  registerWebRoutes(app);
  return app;
}
