/**
 * The replica endpoints over HTTP (signed node requests only, as the custodian endpoints):
 * `POST /node/v1/replica/versions` (shipments from the other holder of records) and
 * `POST /node/v1/replica/query` (a roaming query for a custodian that did not answer) and
 * `POST /node/v1/replica/refill` (a restored custodian asking its lost ciphertexts back). Errors
 * answer `{ error: { code, message } }` with a registry code.
 */
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http/errors.js';
import type { Roaming } from '../roaming/roaming.js';
import { verifiedJson } from '../roaming/routes.js';
import { MAX_QUERY_BODY_BYTES, parseWireBody } from '../roaming/wire.js';
import type { NodeReplica } from './node-replica.js';
import { REPLICA_REFILL_PATH, refillRequestSchema } from './refill-wire.js';
import {
  MAX_SHIPMENT_BODY_BYTES,
  REPLICA_PATIENT_PATH,
  REPLICA_QUERY_PATH,
  REPLICA_VERSIONS_PATH,
  replicaPatientSchema,
  replicaQuerySchema,
  shipmentSchema,
} from './wire.js';

/**
 * Registers the replica endpoints of `replica` on `app`; `roaming` verifies the node requests.
 *
 * @example
 * registerReplicaRoutes(app, { replica: node.replica, roaming: node.fhir.roaming });
 */
export function registerReplicaRoutes(app: FastifyInstance, parts: { readonly replica: NodeReplica; readonly roaming: Roaming }): void {
  const { replica, roaming } = parts;
  void app.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: MAX_SHIPMENT_BODY_BYTES }, (_request, body, parsed) =>
      parsed(null, body),
    );
    scope.post(REPLICA_VERSIONS_PATH, async (request, reply) => {
      const { requester, value } = await verifiedJson(roaming, request, reply);
      const parsed = parseWireBody(shipmentSchema, value);
      if (!parsed.ok) throw new HttpError('VALIDATION_FAILED', parsed.message);
      return reply.send(await replica.receiver.receive(requester, parsed.request));
    });
    scope.post(REPLICA_PATIENT_PATH, async (request, reply) => {
      refuseLargeQuery(request.body);
      const { requester, value } = await verifiedJson(roaming, request, reply);
      const parsed = parseWireBody(replicaPatientSchema, value);
      if (!parsed.ok) throw new HttpError('VALIDATION_FAILED', parsed.message);
      return reply.send(await replica.server.answerPatient(requester, parsed.request));
    });
    scope.post(REPLICA_REFILL_PATH, async (request, reply) => {
      refuseLargeQuery(request.body);
      const { requester, value } = await verifiedJson(roaming, request, reply);
      const parsed = parseWireBody(refillRequestSchema, value);
      if (!parsed.ok) throw new HttpError('VALIDATION_FAILED', parsed.message);
      return reply.send(replica.refillServer.answer(requester, parsed.request));
    });
    scope.post(REPLICA_QUERY_PATH, async (request, reply) => {
      refuseLargeQuery(request.body);
      const { requester, value } = await verifiedJson(roaming, request, reply);
      const parsed = parseWireBody(replicaQuerySchema, value);
      if (!parsed.ok) throw new HttpError('VALIDATION_FAILED', parsed.message);
      return reply.send(replica.server.answer(requester, parsed.request));
    });
    done();
  });
}

/** A query is as small as the custodian endpoints'; only shipments carry ciphertexts. */
function refuseLargeQuery(body: unknown): void {
  if (body instanceof Uint8Array && body.byteLength > MAX_QUERY_BODY_BYTES)
    throw new HttpError('PAYLOAD_TOO_LARGE', `a replica query is at most ${MAX_QUERY_BODY_BYTES} bytes`);
}
