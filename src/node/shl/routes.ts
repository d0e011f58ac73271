/**
 * The HTTP routes of the node's SMART Health Links (see `share-links.ts`):
 *
 * - the patient's, signed in with a patient token: `POST /shl/links` (create over an uploaded
 *   JWE), `GET /shl/links` (the links and their accesses), `DELETE /shl/links/:id` (deactivate),
 *   `PUT /shl/links/:id/file` (replace an `L` link's file), `PUT /shl/links/:id/sealed-key` (the
 *   link sealed by the patient's wallet, opaque here);
 * - the spec's, anonymous and open to any origin (CORS: any SHL viewer may call them):
 *   `POST /shl/m/:id` (manifest), `GET /shl/m/:id?recipient=…` (a `U` link's file),
 *   `GET /shl/file/:ticket` (a manifest's `location`, single-use).
 *
 * Errors are `{ error: { code, message } }`; a wrong or missing passcode answers the spec's 401
 * `{ remainingAttempts }` (with the error object beside it). The routes count against the `shl`
 * rate limit (src/node/http/rate-limits.ts): per IP for anonymous callers, per patient otherwise.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { JOSE_MEDIA_TYPE, MAX_SHL_LABEL_LENGTH, SHL_CONTENT_TYPES, type ShlPasscodeRefusal } from '../../shl/index.js';
import {
  SHL_FILE_PATH,
  SHL_LINKS_PATH,
  SHL_MANIFEST_PATH,
  type ShareLinkCreated,
  type ShareLinkListResponse,
  type ShareLinkView,
} from '../../wire/index.js';
import { requireAuth, requirePrincipal, type AuthService } from '../auth/index.js';
import { HttpError, type ErrorBody } from '../http/errors.js';
import { parseInput } from '../http/params.js';
import { MAX_SHL_JWE_CHARS, MAX_SHL_SEALED_KEY_CHARS, type ShareLinks } from './share-links.js';

/** Body limit of the routes that upload a file (the JWE and a few fields). */
export const SHL_UPLOAD_BODY_LIMIT_BYTES = MAX_SHL_JWE_CHARS + 16 * 1024;
/** Body limit of a manifest request. */
export const SHL_MANIFEST_BODY_LIMIT_BYTES = 8 * 1024;
/** Longest recipient kept (spec: a description suitable for display). */
export const MAX_RECIPIENT_LENGTH = 200;
const MIN_PASSCODE_LENGTH = 4;
const MAX_PASSCODE_LENGTH = 128;

const secretSegment = z.string().regex(/^[A-Za-z0-9_-]{43}$/);
const recipientSchema = z
  .string()
  // Control characters become spaces: the recipient is shown in the patient's list and terminal.
  .transform((text) => [...text].map((c) => (c < ' ' || c === '\u007f' ? ' ' : c)).join('').trim())
  .pipe(z.string().min(1, 'is required').max(MAX_RECIPIENT_LENGTH, `must be at most ${MAX_RECIPIENT_LENGTH} characters`));

const createSchema = z.strictObject({
  jwe: z.string().min(1).max(MAX_SHL_JWE_CHARS),
  flag: z.string().regex(/^L?P?U?$/, 'must be flag letters among L, P, U in alphabetical order').optional(),
  passcode: z
    .string()
    .min(MIN_PASSCODE_LENGTH, `must be at least ${MIN_PASSCODE_LENGTH} characters`)
    .max(MAX_PASSCODE_LENGTH, `must be at most ${MAX_PASSCODE_LENGTH} characters`)
    .optional(),
  exp: z.number().int().positive().optional(),
  label: z.string().max(MAX_SHL_LABEL_LENGTH, `must be at most ${MAX_SHL_LABEL_LENGTH} characters`).optional(),
  contentType: z.enum(SHL_CONTENT_TYPES).optional(),
});
const sealedKeySchema = z.string().min(1).max(MAX_SHL_SEALED_KEY_CHARS);
const replaceSchema = z.strictObject({ jwe: z.string().min(1).max(MAX_SHL_JWE_CHARS), sealedKey: sealedKeySchema.optional() });
const sealSchema = z.strictObject({ sealedKey: sealedKeySchema });
// Spec: receivers and servers ignore request fields they do not know.
const manifestSchema = z.object({
  recipient: recipientSchema,
  passcode: z.string().max(MAX_PASSCODE_LENGTH).optional(),
  embeddedLengthMax: z.number().int().nonnegative().optional(),
});
const linkIdSchema = z.strictObject({ id: z.uuid('must be a link id') });

/** Headers that let any origin's viewer call the spec's routes (no credentials are ever involved). */
const CORS_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'content-type',
  'access-control-max-age': '600',
};

/**
 * Registers the routes of `links` on `app`.
 *
 * @example registerShareLinkRoutes(app, node.shareLinks, auth);
 */
export function registerShareLinkRoutes(app: FastifyInstance, links: ShareLinks, auth: AuthService): void {
  registerPatientRoutes(app, links, auth);
  void app.register((scope, _options, done) => {
    // CORS on every answer of the spec's routes, errors included (a viewer reads the 401's remainingAttempts).
    scope.addHook('onRequest', (_request, reply, next) => {
      void reply.headers(CORS_HEADERS);
      next();
    });
    registerSpecRoutes(scope, links);
    done();
  });
}

function registerPatientRoutes(app: FastifyInstance, links: ShareLinks, auth: AuthService): void {
  const guard = { preHandler: requireAuth(auth) };
  app.post(SHL_LINKS_PATH, { ...guard, bodyLimit: SHL_UPLOAD_BODY_LIMIT_BYTES }, async (request, reply): Promise<ShareLinkCreated> => {
    const patient = patientOf(request);
    const body = parseBody(createSchema, request.body);
    const created = await links.create(patient, withoutUndefined(body));
    void reply.code(201);
    return created;
  });
  app.get(SHL_LINKS_PATH, guard, (request): ShareLinkListResponse => ({ links: links.list(patientOf(request)) }));
  app.delete(`${SHL_LINKS_PATH}/:id`, guard, (request): ShareLinkView => {
    const patient = patientOf(request);
    const { id } = linkIdOf(request.params);
    return links.deactivate(patient, id);
  });
  app.put(`${SHL_LINKS_PATH}/:id/file`, { ...guard, bodyLimit: SHL_UPLOAD_BODY_LIMIT_BYTES }, (request): ShareLinkView => {
    const patient = patientOf(request);
    const { id } = linkIdOf(request.params);
    return links.replaceFile(patient, id, parseBody(replaceSchema, request.body));
  });
  app.put(`${SHL_LINKS_PATH}/:id/sealed-key`, guard, (request): ShareLinkView => {
    const patient = patientOf(request);
    const { id } = linkIdOf(request.params);
    return links.sealKey(patient, id, parseBody(sealSchema, request.body).sealedKey);
  });
}

function registerSpecRoutes(app: FastifyInstance, links: ShareLinks): void {
  const preflight = (_request: unknown, reply: FastifyReply): FastifyReply => reply.code(204).send();
  app.options(`${SHL_MANIFEST_PATH}/:id`, preflight);
  app.options(`${SHL_FILE_PATH}/:ticket`, preflight);

  app.post(`${SHL_MANIFEST_PATH}/:id`, { bodyLimit: SHL_MANIFEST_BODY_LIMIT_BYTES }, async (request, reply) => {
    const body = parseBody(manifestSchema, request.body);
    const manifestId = secretOf(request.params, 'id');
    const answer = await links.manifest({ manifestId, ...body });
    if (answer.kind === 'manifest') return reply.header('cache-control', 'no-store').send(answer.manifest);
    const refusal: ShlPasscodeRefusal & ErrorBody = {
      remainingAttempts: answer.remainingAttempts,
      error: {
        code: 'SHL_PASSCODE_INVALID',
        message: answer.missing ? 'this link needs its passcode' : `wrong passcode; ${answer.remainingAttempts} attempts left`,
      },
    };
    return reply.code(401).send(refusal);
  });

  app.get(`${SHL_MANIFEST_PATH}/:id`, (request, reply) => {
    const query = parseInput('query', z.object({ recipient: recipientSchema }), request.query);
    const file = links.direct(secretOf(request.params, 'id'), query.recipient);
    return reply.header('cache-control', 'no-store').type(JOSE_MEDIA_TYPE).send(file.jwe);
  });

  app.get(`${SHL_FILE_PATH}/:ticket`, (request, reply) => {
    const file = links.file(secretOf(request.params, 'ticket'));
    return reply.header('cache-control', 'no-store').type(JOSE_MEDIA_TYPE).send(file.jwe);
  });
}

/**
 * `url` with the secret path segment of a manifest (`/shl/m/<id>`) or file ticket (`/shl/file/<t>`)
 * replaced by `…`, for logs: whoever holds the segment may fetch the (encrypted) file.
 */
export function redactShareLinkSecrets(url: string): string {
  return url.replace(/^(\/shl\/(?:m|file)\/)[^/?#]+/, '$1…');
}

/** The signed-in patient's DID; another kind of token may not manage links. */
function patientOf(request: Parameters<typeof requirePrincipal>[0]): string {
  const principal = requirePrincipal(request);
  if (principal.kind !== 'patient') {
    throw new HttpError('PATIENT_ONLY', `a ${principal.kind} token cannot manage SMART Health Links: only their patient can`);
  }
  return principal.did;
}

function linkIdOf(params: unknown): { id: string } {
  const parsed = linkIdSchema.safeParse(params);
  // Not a link id: the same answer as an unknown one.
  if (!parsed.success) throw new HttpError('SHL_LINK_NOT_FOUND', 'no such link of yours');
  return parsed.data;
}

/** A secret path segment; anything that is not one answers as an unknown link. */
function secretOf(params: unknown, name: 'id' | 'ticket'): string {
  const value = (params as Record<string, unknown> | null)?.[name];
  const parsed = secretSegment.safeParse(value);
  if (!parsed.success) throw new HttpError('SHL_LINK_NOT_FOUND', 'no active SMART Health Link here');
  return parsed.data;
}

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    throw new HttpError('VALIDATION_FAILED', `body field "${issue.keys[0] ?? ''}" is not known`);
  }
  const name = issue?.path.map(String).join('.') ?? '';
  throw new HttpError('VALIDATION_FAILED', `body field "${name}" ${issue?.message ?? 'is invalid'}`);
}

function withoutUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
