/**
 * Request ids, the one log line per request and the HTTP metrics. A caller's `x-request-id` is
 * kept when it is well-formed (so a proxy's id follows the request), else one is made; either
 * way it is sent back in the answer's `x-request-id` and named `reqId` in every log line of the
 * request.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { NodeMetrics } from './metrics.js';
import { routeFamilyOf, statusClassOf } from './route-family.js';

export const REQUEST_ID_HEADER = 'x-request-id';
/** A request id we keep: short, no line break or markup, and no colon (a DID is not a request id). */
const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Fastify's `genReqId`: the caller's well-formed `x-request-id`, else a fresh UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && WELL_FORMED_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Echoes the request id, logs each answered request (method, route pattern, status, duration)
 * and counts it in `metrics`.
 */
export function registerRequestLog(app: FastifyInstance, metrics: NodeMetrics): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const seconds = reply.elapsedTime / 1000;
    metrics.observeHttp(routeFamilyOf(request.url), statusClassOf(reply.statusCode), seconds);
    request.log.info(
      {
        method: request.method,
        // The pattern (`/fhir/R4/:type/:id`), never the URL: no ids, no query.
        route: request.routeOptions.url ?? null,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
    done();
  });
}
