/**
 * The wire format of the custodian endpoint `POST /node/v1/records/query`: the request body a
 * requesting node sends (checked with `parseRecordQuery`) and the answer a custodian gives.
 */
import { z } from 'zod';
import { PURPOSES } from '../../contracts/index.js';
import { isSigningDid } from '../../crypto/index.js';
import { FHIR_ID, SUPPORTED_TYPES } from '../../fhir/index.js';
import type { SensitivityClass } from '../../ledger/types.js';
import type { RemoteQuery } from '../fhir/remote.js';
import { REMOTE_SORTS, isPageCursorId, type PagedKind } from '../fhir/remote-page.js';

/** Path of the custodian endpoint. */
export const RECORDS_QUERY_PATH = '/node/v1/records/query';
/** Largest request body of the custodian endpoint. */
export const MAX_QUERY_BODY_BYTES = 64 * 1024;
/**
 * Most records one custodian answer carries (the newest first are NOT favoured: the custodian's
 * index order). A requester pages the merged list of local and remote matches, so a patient with
 * more records than this at one custodian is answered incompletely, with `truncated` set (and a
 * warning in the Bundle).
 */
export const MAX_RECORDS_PER_ANSWER = 5000;
/** Most filter parameters of a remote search. */
const MAX_SEARCH_PARAMS = 50;

/** An Ed25519 did:key (a patient, practitioner, node or organization). */
export const nodeWireDid = z
  .string()
  .max(256)
  .refine((value) => isSigningDid(value), { error: 'expected an Ed25519 did:key' });
/** A resource type this node serves. */
export const fhirWireType = z.enum(SUPPORTED_TYPES as unknown as readonly [string, ...string[]]);

/**
 * The page of a paged query (see `src/node/fhir/remote-page.ts`): an optional member, so a
 * requester may still ask for all matches. A custodian of an older version refuses a query that
 * carries it (the query objects are strict: 400 VALIDATION_FAILED naming "page"); the requester
 * then asks again without it. Unknown members of `page` are refused the same way.
 */
function pageSchema(kind: PagedKind) {
  return z.strictObject({
    sort: kind === 'everything' ? z.literal('_lastUpdated') : z.enum(REMOTE_SORTS),
    after: z
      .strictObject({
        key: z.tuple([z.number().finite().nullable()]),
        id: z.string().max(200).refine((id) => isPageCursorId(kind, id), { error: 'expected the id of a page item' }),
      })
      .exactOptional(),
    limit: z.number().int().min(0).max(MAX_RECORDS_PER_ANSWER),
  });
}

const querySchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('read'),
    type: fhirWireType,
    id: z.string().regex(FHIR_ID, 'expected a FHIR id'),
  }),
  z.strictObject({
    kind: z.literal('search'),
    type: fhirWireType,
    params: z.array(z.tuple([z.string().min(1).max(64), z.string().max(8192)])).max(MAX_SEARCH_PARAMS),
    page: pageSchema('search').exactOptional(),
  }),
  z.strictObject({ kind: z.literal('everything'), page: pageSchema('everything').exactOptional() }),
]);

/** The body of `POST /node/v1/records/query` (the replica's query extends it). */
export const recordQuerySchema = z.strictObject({
  /** The patient's DID. */
  patient: nodeWireDid,
  /** Who the request is made for: a practitioner of the requesting node's organization, or the patient. */
  onBehalfOf: nodeWireDid,
  purpose: z.enum(PURPOSES),
  query: querySchema,
  /** The break-glass access the request is made under (`emergency/<id>` on the ledger). */
  emergency: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'expected an emergency access id').exactOptional(),
});

/** The body of `POST /node/v1/records/query`. */
export interface RecordQueryRequest {
  readonly patient: string;
  readonly onBehalfOf: string;
  readonly purpose: string;
  readonly query: RemoteQuery;
  /** The break-glass access the request is made under; the custodian checks it on its ledger. */
  readonly emergency?: string;
}

/**
 * Checks a request body; returns it typed, or the message naming the bad member.
 *
 * @example
 * const parsed = parseRecordQuery(JSON.parse(body));
 * if (!parsed.ok) throw new HttpError('VALIDATION_FAILED', parsed.message);
 */
export function parseRecordQuery(
  value: unknown,
): { ok: true; request: RecordQueryRequest } | { ok: false; message: string } {
  return parseWireBody(recordQuerySchema, value);
}

/** Checks a node request's body against `schema`; returns it typed, or the message naming the bad member. */
export function parseWireBody<T>(
  schema: z.ZodType<T>,
  value: unknown,
): { ok: true; request: T } | { ok: false; message: string } {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, request: result.data };
  const issue = result.error.issues[0];
  const path = issue === undefined || issue.path.length === 0 ? 'body' : `body.${issue.path.join('.')}`;
  return { ok: false, message: `"${path}" ${issue?.message ?? 'is invalid'}` };
}

/**
 * One record version as a custodian serves it: ciphertext and wrapped data key, never plaintext,
 * with what the requester needs to check it against the ledger anchor and decrypt it.
 */
export interface WireRecord {
  readonly id: string;
  readonly type: string;
  readonly version: number;
  /** ms since the Unix epoch (the `_lastUpdated` sort key). */
  readonly lastUpdated: number;
  /** Start (ms) of the record's `date` in the custodian's index, or null: the `date` sort key. */
  readonly date: number | null;
  readonly class: SensitivityClass;
  readonly epoch: number;
  /** SHA-256 (hex) of the blob: the hash anchored on the ledger. */
  readonly contentHash: string;
  /** The envelope blob (`src/vault/envelope.ts`), base64url. */
  readonly ciphertext: string;
  /** The data key wrapped under the patient's record key of `class` and `epoch`. */
  readonly wrappedDek: { readonly iv: string; readonly ct: string };
}

/** The answer of `POST /node/v1/records/query` (200). */
export interface RecordQueryAnswer {
  /** The custodian organization's DID. */
  readonly custodian: string;
  readonly records: readonly WireRecord[];
  /** More records matched than MAX_RECORDS_PER_ANSWER. */
  readonly truncated: boolean;
  /**
   * Of a paged query: how many records the custodian serves for the query in all (before the
   * page's cut), for the requester's `total`. A new member: older requesters ignore it.
   */
  readonly total?: number;
}
