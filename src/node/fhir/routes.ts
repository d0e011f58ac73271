/**
 * The FHIR R4 HTTP API under `/fhir/R4`, in its own encapsulated Fastify context: its own JSON
 * parser (application/fhir+json and application/json), error and not-found handlers that answer
 * OperationOutcomes with `statusOf`, and bearer-token authentication (every route but
 * `metadata`). The work is done by the node's `EncryptedFhirRepository`.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  FhirError,
  badRequest,
  capabilityStatement,
  etagOf,
  everythingBundle,
  historyBundle,
  notSupported,
  parseEverythingParams,
  parseSearch,
  planBundle,
  responseBundle,
  searchBundle,
  serverError,
  statusOf,
  tooLarge,
  unauthorized,
  unknownType,
  isSupportedType,
  type StoredResource,
  type SupportedType,
} from '../../fhir/index.js';
import { languageFromAcceptLanguage } from '../../fhir/ips/index.js';
import { AUTH_REALM, AuthError, type AuthService } from '../auth/index.js';
import type { FhirService } from './fhir-service.js';
import { DEFAULT_PURPOSE, type FhirRequestContext } from './request.js';
import { viewBundle } from './views.js';

/** The prefix of the FHIR API. */
export const FHIR_PREFIX = '/fhir/R4';
/** Largest request body of the FHIR API (a transaction Bundle of a large patient). */
export const FHIR_BODY_LIMIT_BYTES = 4 * 1024 * 1024;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

function withOutcome(reply: FastifyReply, outcome: OperationOutcome): FastifyReply {
  return reply.code(statusOf(outcome)).type(FHIR_JSON).send(outcome);
}

/** The outcome of an error Fastify raised before a route ran (body parsing, limits). */
function frameworkOutcome(error: { statusCode?: number; message: string; code?: string }): OperationOutcome {
  if (error.statusCode === 413) return tooLarge(`the body is larger than ${FHIR_BODY_LIMIT_BYTES} bytes`);
  if (error.statusCode === 415)
    return notSupported('the body must be application/fhir+json or application/json');
  if (error.statusCode === 400) return badRequest(error.message);
  return serverError;
}

function typeOf(type: string): SupportedType {
  if (!isSupportedType(type)) throw new FhirError(unknownType(type));
  return type;
}

function queryString(request: FastifyRequest): string {
  const url = request.url;
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at + 1);
}

/**
 * Registers the FHIR API of `service` on `app` under FHIR_PREFIX. `auth` checks the bearer
 * tokens (the node's sign-in service).
 *
 * @example
 * registerFhirRoutes(app, node.fhir, app.auth);
 * await app.inject({ method: 'GET', url: '/fhir/R4/metadata' });
 */
export function registerFhirRoutes(app: FastifyInstance, service: FhirService, auth: AuthService): void {
  const repo = service.repository;
  const base = service.baseUrl;

  void app.register(
    (fhir, _options, done) => {
      fhir.removeAllContentTypeParsers();
      fhir.addContentTypeParser(
        ['application/json', 'application/fhir+json'],
        { parseAs: 'string', bodyLimit: FHIR_BODY_LIMIT_BYTES },
        (_request, body, parsed) => {
          try {
            const value = JSON.parse(body as string) as unknown;
            if (nestingDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
              throw new FhirError(badRequest(`the body nests deeper than ${MAX_JSON_DEPTH} levels`));
            }
            parsed(null, value);
          } catch (error) {
            if (error instanceof FhirError) return parsed(error, undefined);
            parsed(
              new FhirError(badRequest(`the body is not valid JSON: ${(error as Error).message}`)),
              undefined,
            );
          }
        },
      );

      fhir.setErrorHandler((error, request, reply) => {
        if (error instanceof FhirError) {
          if (statusOf(error.outcome) >= 500)
            request.log.error({ err: error.cause ?? error }, 'FHIR request failed');
          return withOutcome(reply, error.outcome);
        }
        const outcome = frameworkOutcome(error as { statusCode?: number; message: string });
        if (statusOf(outcome) >= 500) request.log.error({ err: error }, 'FHIR request failed');
        return withOutcome(reply, outcome);
      });

      fhir.setNotFoundHandler((request, reply) => {
        const path = (request.url.split('?')[0] ?? '').slice(0, 200);
        return withOutcome(reply, badRequestNotFound(request.method, path));
      });

      fhir.addHook('onRequest', async (request, reply) => {
        if (request.routeOptions.url === `${FHIR_PREFIX}/metadata`) return;
        const header = request.headers.authorization;
        const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
        try {
          request.principal = await auth.verifyAccessToken(match?.[1] ?? '');
        } catch (error) {
          if (!(error instanceof AuthError)) throw error;
          void reply.header('www-authenticate', `Bearer realm="${AUTH_REALM}", error="invalid_token"`);
          const outcome: OperationOutcome = {
            ...unauthorized,
            issue: [
              { severity: 'error', code: 'login', details: { text: `${error.code}: ${error.message}` } },
            ],
          };
          throw new FhirError(outcome);
        }
      });

      const ctxOf = (request: FastifyRequest): FhirRequestContext => {
        const principal = request.principal;
        if (principal === null) throw new FhirError(unauthorized);
        return { principal, purpose: DEFAULT_PURPOSE };
      };

      const sendResource = (reply: FastifyReply, status: number, resource: StoredResource): FastifyReply => {
        const vid = resource.meta?.versionId ?? '';
        void reply.header('etag', etagOf(vid));
        if (resource.meta?.lastUpdated !== undefined)
          void reply.header('last-modified', new Date(resource.meta.lastUpdated).toUTCString());
        if (status === 201)
          void reply.header(
            'location',
            `${base}/${resource.resourceType}/${resource.id ?? ''}/_history/${vid}`,
          );
        return reply.code(status).type(FHIR_JSON).send(resource);
      };

      fhir.get('/metadata', (_request, reply) =>
        reply.type(FHIR_JSON).send(capabilityStatement({ baseUrl: base })),
      );

      fhir.post('/', { bodyLimit: FHIR_BODY_LIMIT_BYTES }, async (request, reply) => {
        const params = new URLSearchParams(queryString(request));
        const importing = params.get('_import') === 'true';
        const plan = planBundle(request.body, {
          newId: repo.newId,
          importMode: importing ? 'skip-unsupported' : 'strict',
        });
        const results = await repo.execute(plan, ctxOf(request));
        return reply.type(FHIR_JSON).send(responseBundle(base, plan, results));
      });

      fhir.get<{ Params: { id: string } }>('/Patient/:id/$everything', async (request, reply) => {
        const options = parseEverythingParams(queryString(request));
        const page = await repo.everything(request.params.id, options, ctxOf(request));
        return reply.type(FHIR_JSON).send(everythingBundle(base, request.params.id, options, page));
      });

      // The International Patient Summary: gathered as `$everything` is (same access decision,
      // same refusal, one audit entry), in the reader's language.
      const sendSummary = async (request: FastifyRequest, reply: FastifyReply, patientId: string) => {
        const language = languageFromAcceptLanguage(request.headers['accept-language']);
        const bundle = await service.summaries.summaryOf(patientId, language, ctxOf(request));
        return reply.type(FHIR_JSON).header('content-language', language).send(bundle);
      };
      fhir.get<{ Querystring: { identifier?: string } }>('/Patient/$summary', async (request, reply) => {
        const identifier = request.query.identifier;
        if (typeof identifier !== 'string' || identifier === '')
          throw new FhirError(
            badRequest('Patient/$summary needs an identifier parameter (or use Patient/<id>/$summary)'),
          );
        return sendSummary(request, reply, await service.summaries.patientIdOf(identifier, ctxOf(request)));
      });
      fhir.get<{ Params: { id: string } }>('/Patient/:id/$summary', (request, reply) =>
        sendSummary(request, reply, request.params.id),
      );
      fhir.post<{ Params: { id: string } }>('/Patient/:id/$summary', (request, reply) =>
        sendSummary(request, reply, request.params.id),
      );

      fhir.get<{ Params: { id: string } }>('/Consent/:id', (request, reply) =>
        reply.type(FHIR_JSON).send(service.views.readConsent(request.params.id, ctxOf(request))),
      );
      fhir.get('/Consent', (request, reply) => {
        const result = service.views.searchConsent(queryString(request), ctxOf(request));
        return reply
          .type(FHIR_JSON)
          .send(viewBundle(base, 'Consent', result.params, result.page, result.offset));
      });
      fhir.get<{ Params: { id: string } }>('/AuditEvent/:id', (request, reply) =>
        reply.type(FHIR_JSON).send(service.views.readAuditEvent(request.params.id, ctxOf(request))),
      );
      fhir.get('/AuditEvent', (request, reply) => {
        const result = service.views.searchAuditEvent(queryString(request), ctxOf(request));
        return reply
          .type(FHIR_JSON)
          .send(viewBundle(base, 'AuditEvent', result.params, result.page, result.offset));
      });
      fhir.post<{ Params: { type: string; id: string } }>('/:type/:id/$erase', async (request, reply) => {
        const result = await service.erasure.erase(request.params.type, request.params.id, ctxOf(request));
        return reply.type(FHIR_JSON).send(result.outcome);
      });

      fhir.post<{ Params: { type: string } }>(
        '/:type',
        { bodyLimit: FHIR_BODY_LIMIT_BYTES },
        async (request, reply) => {
          const type = typeOf(request.params.type);
          const body = request.body as StoredResource | undefined;
          if (typeof body !== 'object' || body === null || Array.isArray(body))
            throw new FhirError(badRequest('the body must be a FHIR resource', 'resourceType'));
          if (body.resourceType !== type) {
            throw new FhirError(
              badRequest(
                `resourceType ${String(body.resourceType)} does not match the URL (${type})`,
                'resourceType',
              ),
            );
          }
          const created = await repo.create(body, ctxOf(request));
          return sendResource(reply, 201, created);
        },
      );

      fhir.get<{ Params: { type: string } }>('/:type', async (request, reply) => {
        const query = parseSearch(request.params.type, queryString(request));
        const page = await repo.search(query.resourceType, query, ctxOf(request));
        return reply.type(FHIR_JSON).send(searchBundle(base, query, page));
      });

      fhir.get<{ Params: { type: string; id: string } }>('/:type/:id', async (request, reply) => {
        const resource = await repo.read(typeOf(request.params.type), request.params.id, ctxOf(request));
        return sendResource(reply, 200, resource);
      });

      fhir.put<{ Params: { type: string; id: string } }>(
        '/:type/:id',
        { bodyLimit: FHIR_BODY_LIMIT_BYTES },
        async (request, reply) => {
          const type = typeOf(request.params.type);
          const ifMatch = request.headers['if-match'];
          const resource = await repo.update(
            type,
            request.params.id,
            request.body as never,
            ifMatch === undefined ? {} : { ifMatch },
            ctxOf(request),
          );
          return sendResource(reply, resource.meta?.versionId === '1' ? 201 : 200, resource);
        },
      );

      fhir.get<{ Params: { type: string; id: string } }>('/:type/:id/_history', async (request, reply) => {
        const versions = await repo.history(typeOf(request.params.type), request.params.id, ctxOf(request));
        return reply.type(FHIR_JSON).send(historyBundle(base, versions));
      });

      fhir.get<{ Params: { type: string; id: string; vid: string } }>(
        '/:type/:id/_history/:vid',
        async (request, reply) => {
          const resource = await repo.vread(
            typeOf(request.params.type),
            request.params.id,
            request.params.vid,
            ctxOf(request),
          );
          return sendResource(reply, 200, resource);
        },
      );
      done();
    },
    { prefix: FHIR_PREFIX },
  );
}

function badRequestNotFound(method: string, path: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    id: 'not-found',
    issue: [{ severity: 'error', code: 'not-found', details: { text: `no route ${method} ${path}` } }],
  };
}

/**
 * FHIR resources nest a few dozen levels at most; anything far deeper is refused before a
 * recursive walk (validation, reference rewriting, cloning) could overflow the stack.
 */
const MAX_JSON_DEPTH = 200;

/** Depth of a parsed JSON value, counted iteratively and only up to `limit + 1`. */
function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== 'object' || item === null) continue;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    // Only objects and arrays nest: leaves are not pushed (most of a Bundle's values are leaves).
    for (const child of Array.isArray(item) ? item : Object.values(item))
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return deepest;
}
