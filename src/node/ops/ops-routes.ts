/**
 * The operator endpoints of a node's HTTP server:
 *
 * - `GET /healthz`: the process answers (200 `{ status: 'ok' }`), for a liveness probe.
 * - `GET /readyz`: 200 `{ status: 'ready' }` when the node may take traffic, else 503
 *   `{ status: 'not-ready', reasons: [codes] }` (see readiness.ts), for a load balancer; either
 *   with `warnings: [codes]` when there are any (e.g. CIPHERTEXT_MISSING, then also
 *   `missingCiphertexts`: what is still missing and what the refill from the replicas expects,
 *   in counts only).
 * - `GET /metrics`: Prometheus text (see metrics.ts), to loopback callers or with the
 *   configured token only (see metrics-access.ts).
 *
 * Also wires the request log and HTTP metrics of every route (request-log.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { RoamNode } from '../roam-node.js';
import { mayReadMetrics } from './metrics-access.js';
import { observeNode } from './node-observer.js';
import { registerRequestLog } from './request-log.js';

export interface OpsRoutesOptions {
  readonly node: RoamNode;
}

export function registerOpsRoutes(app: FastifyInstance, { node }: OpsRoutesOptions): void {
  const observer = observeNode(node);
  app.addHook('onClose', (_instance, done) => {
    observer.stop();
    done();
  });
  registerRequestLog(app, observer.metrics);

  app.get('/healthz', (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));

  app.get('/readyz', (_request, reply) => {
    const { ready, reasons, warnings } = observer.readiness();
    void reply.header('cache-control', 'no-store');
    const missing = observer.missingCiphertexts();
    const warned = {
      ...(warnings.length === 0 ? {} : { warnings }),
      ...(missing === undefined ? {} : { missingCiphertexts: missing }),
    };
    return ready
      ? reply.send({ status: 'ready', ...warned })
      : reply.code(503).send({ status: 'not-ready', reasons, ...warned });
  });

  app.get('/metrics', async (request, reply) => {
    // A refused caller sees what any unknown path answers: not that metrics exist here.
    if (!mayReadMetrics(request, node.config.file.metrics?.token)) return reply.callNotFound();
    const { contentType, body } = await observer.metrics.exposition();
    return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
  });
}
