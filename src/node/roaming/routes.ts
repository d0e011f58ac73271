/**
 * The custodian endpoint over HTTP: `POST /node/v1/records/query`, answered only to signed
 * requests of registered nodes (`verify.ts`). Its own encapsulated context keeps the body as the
 * exact bytes received (the signature covers their hash); errors answer as every route outside
 * `/fhir`: `{ error: { code, message } }` with a registry code, and a 401 carries
 * `WWW-Authenticate: RoamNode realm="roam"`.
 */
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http/errors.js';
import type { Roaming } from './roaming.js';
import { MAX_QUERY_BODY_BYTES, RECORDS_QUERY_PATH, parseRecordQuery } from './wire.js';

/** The `WWW-Authenticate` challenge of a refused node request. */
export const NODE_AUTH_CHALLENGE = 'RoamNode realm="roam"';

/**
 * Registers the custodian endpoint of `roaming` on `app`.
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
      const body = request.body;
      if (!(body instanceof Uint8Array))
        throw new HttpError('UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json');
      let requester;
      try {
        requester = await roaming.verifier.verify({
          method: request.method,
          path: request.url,
          body,
          headers: request.headers,
        });
      } catch (error) {
        if (error instanceof HttpError && error.statusCode === 401)
          void reply.header('www-authenticate', NODE_AUTH_CHALLENGE);
        throw error;
      }
      let value: unknown;
      try {
        value = JSON.parse(Buffer.from(body).toString('utf8'));
      } catch {
        throw new HttpError('MALFORMED_JSON', 'request body is not valid JSON');
      }
      const parsed = parseRecordQuery(value);
      if (!parsed.ok) throw new HttpError('VALIDATION_FAILED', parsed.message);
      return reply.send(roaming.custodian.answer(requester, parsed.request));
    });
    done();
  });
}
