/**
 * The custodian endpoints over HTTP: `POST /node/v1/records/query` (under grants) and
 * `POST /node/v1/records/patient` (on a patient's behalf, with the patient's proof), answered
 * only to signed requests of registered nodes (`verify.ts`). Their own encapsulated context keeps
 * the body as the exact bytes received (the signature covers their hash); errors answer as every
 * route outside `/fhir`: `{ error: { code, message } }` with a registry code, and a 401 carries
 * `WWW-Authenticate: RoamNode realm="roam"`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../http/errors.js';
import { PATIENT_RECORDS_PATH, parsePatientRecordsRequest } from './patient-records-wire.js';
import type { Roaming } from './roaming.js';
import type { VerifiedNode } from './verify.js';
import { MAX_QUERY_BODY_BYTES, RECORDS_QUERY_PATH, parseRecordQuery } from './wire.js';

/** The `WWW-Authenticate` challenge of a refused node request. */
export const NODE_AUTH_CHALLENGE = 'RoamNode realm="roam"';

/**
 * Registers the custodian endpoints of `roaming` on `app`.
 *
 * @example
 * registerRoamingRoutes(app, node.fhir.roaming);
 */
export function registerRoamingRoutes(app: FastifyInstance, roaming: Roaming): void {
  void app.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: MAX_QUERY_BODY_BYTES },
      (_request, body, parsed) => parsed(null, body),
    );
    scope.post(RECORDS_QUERY_PATH, async (request, reply) => {
      const { requester, value } = await verifiedJson(roaming, request, reply);
      const parsed = parseRecordQuery(value);
      if (!parsed.ok) throw new HttpError('VALIDATION_FAILED', parsed.message);
      return reply.send(roaming.custodian.answer(requester, parsed.request));
    });
    scope.post(PATIENT_RECORDS_PATH, async (request, reply) => {
      const { requester, value } = await verifiedJson(roaming, request, reply);
      const parsed = parsePatientRecordsRequest(value);
      if (!parsed.ok) throw new HttpError('VALIDATION_FAILED', parsed.message);
      return reply.send(await roaming.patientCustodian.answer(requester, parsed.request));
    });
    done();
  });
}

/**
 * The verified requesting node and the parsed JSON body of a node request (the signature covers
 * the exact bytes received).
 *
 * @throws HttpError the verifier's codes (a 401 with the RoamNode challenge), MALFORMED_JSON,
 *   UNSUPPORTED_MEDIA_TYPE
 */
export async function verifiedJson(
  roaming: Roaming,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<{ requester: VerifiedNode; value: unknown }> {
  const body = request.body;
  if (!(body instanceof Uint8Array)) throw new HttpError('UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json');
  let requester: VerifiedNode;
  try {
    requester = await roaming.verifier.verify({
      method: request.method,
      path: request.url,
      body,
      headers: request.headers,
    });
  } catch (error) {
    if (error instanceof HttpError && error.statusCode === 401) void reply.header('www-authenticate', NODE_AUTH_CHALLENGE);
    throw error;
  }
  try {
    return { requester, value: JSON.parse(Buffer.from(body).toString('utf8')) };
  } catch {
    throw new HttpError('MALFORMED_JSON', 'request body is not valid JSON');
  }
}
