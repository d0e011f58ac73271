/**
 * The FHIR repository: what the HTTP layer calls and what a store implements — the in-memory
 * reference (`memory-repository.ts`, the executable specification) and, later, the encrypted
 * store (ciphertexts + keyed index entries).
 *
 * Versioning rules every implementation follows:
 * - `meta.versionId` is "1" on create and increments by one on each update; `meta.lastUpdated`
 *   is the ISO 8601 instant of the write (UTC, milliseconds). Other `meta` members are kept.
 * - The ETag of a version is `W/"<versionId>"` (`etagOf`). `update` with `ifMatch` naming any
 *   other version than the current one fails with 412 `preconditionFailed`.
 * - `create` ignores an id in the resource (FHIR R4: the server assigns it) unless the caller
 *   passes one in `options.id` (transaction plans assign ids up front); a taken id is a 409.
 * - `update` of an id that does not exist creates it at version "1" (update-as-create, declared
 *   as `updateCreate` in the CapabilityStatement); with `ifMatch` it is a 412.
 * - Errors are FhirErrors carrying an OperationOutcome (`outcomes.ts`).
 *
 * Not here: delete/erasure (a ledger operation), conditional create/update, PATCH.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { BundlePlan } from './bundles.js';
import { FhirError, badRequest, preconditionFailed } from './outcomes.js';
import type { Cursor } from './search/cursor.js';
import type { EverythingOptions, SearchQuery } from './search/params.js';
import type { ResourceByType, StoredResource, SupportedType } from './types.js';

/**
 * The context of a request: who asks (the authenticated principal, opaque here: a DID and its
 * roles, or a node) and why (purpose of use, e.g. `treatment`, `emergency`). A repository that
 * checks consent reads it; the in-memory one ignores it.
 */
export interface FhirContext<Principal = unknown, Purpose extends string = string> {
  readonly principal: Principal;
  readonly purpose: Purpose;
}

/** One page of search or `$everything` results. */
export interface SearchPage<R = StoredResource> {
  /** The resources of this page, in sort order. */
  readonly resources: readonly R[];
  /** How many resources match in all, when the store knows it cheaply. */
  readonly total?: number;
  /** Where the next page starts; absent on the last page. */
  readonly next?: Cursor;
  /**
   * What kept the page from being complete (e.g. a custodian node that was not reached): answered
   * as Bundle entries with `search.mode` "outcome".
   */
  readonly outcomes?: readonly OperationOutcome[];
}

export interface CreateOptions {
  /** The id to create under (assigned by a transaction plan); absent: the repository assigns one. */
  readonly id?: string;
}

export interface UpdateOptions {
  /** The If-Match header, `W/"<versionId>"`: the update applies only to that version. */
  readonly ifMatch?: string;
}

/** The result of one Bundle entry, in the order of the request's entries (see `responseBundle`). */
export type EntryResult =
  /** A created (201), updated (200) or read (200) resource. */
  | { readonly kind: 'resource'; readonly status: 200 | 201; readonly resource: StoredResource }
  | { readonly kind: 'search'; readonly query: SearchQuery; readonly page: SearchPage }
  | {
      readonly kind: 'everything';
      readonly patientId: string;
      readonly options: EverythingOptions;
      readonly page: SearchPage;
    }
  | { readonly kind: 'history'; readonly versions: readonly StoredResource[] }
  /** The entry failed (or was skipped): the outcome carries its status (`statusOf`). */
  | { readonly kind: 'outcome'; readonly outcome: OperationOutcome };

/**
 * The FHIR repository. `Ctx` is the request context (see FhirContext), opaque to this layer.
 * Every method throws FhirError on failure.
 */
export interface FhirRepository<Ctx = FhirContext> {
  /** Creates a resource at version "1" under a new id (or `options.id`); returns it as stored. */
  create<T extends SupportedType>(
    resource: ResourceByType[T] & { readonly resourceType: T },
    ctx: Ctx,
    options?: CreateOptions,
  ): Promise<ResourceByType[T]>;
  /** The current version of `type/id`; 404 `notFound` if there is none (410 `gone` if erased). */
  read<T extends SupportedType>(type: T, id: string, ctx: Ctx): Promise<ResourceByType[T]>;
  /** Version `vid` of `type/id`; 404 if there is none. */
  vread<T extends SupportedType>(type: T, id: string, vid: string, ctx: Ctx): Promise<ResourceByType[T]>;
  /**
   * Stores `resource` as the next version of `type/id` (or version "1": update-as-create).
   * 400 if the resource's type or id disagrees with `type`/`id`; 412 on an If-Match mismatch.
   */
  update<T extends SupportedType>(
    type: T,
    id: string,
    resource: ResourceByType[T],
    options: UpdateOptions,
    ctx: Ctx,
  ): Promise<ResourceByType[T]>;
  /** Every version of `type/id`, newest first; 404 if there is none. */
  history<T extends SupportedType>(type: T, id: string, ctx: Ctx): Promise<ResourceByType[T][]>;
  /** One page of the resources of `type` matching `query` (`search/match.ts` semantics). */
  search<T extends SupportedType>(
    type: T,
    query: SearchQuery,
    ctx: Ctx,
  ): Promise<SearchPage<ResourceByType[T]>>;
  /**
   * `Patient/<id>/$everything`: the patient and every resource whose patient reference points to
   * it, ordered by `_lastUpdated` then `Type/id`, paged with a cursor of sort `$everything`.
   */
  everything(patientId: string, options: EverythingOptions, ctx: Ctx): Promise<SearchPage>;
  /**
   * Executes a Bundle plan (`planBundle`): a transaction all-or-nothing (throws the failing
   * entry's FhirError and writes nothing), a batch entry by entry. Returns one result per
   * entry of the request, in request order.
   */
  execute(plan: BundlePlan, ctx: Ctx): Promise<EntryResult[]>;
}

/** The versionId of a first version. */
export const FIRST_VERSION_ID = '1';

/** The versionId after `versionId`. */
export function nextVersionId(versionId: string): string {
  return String(Number(versionId) + 1);
}

/** The weak ETag of a version: `W/"<versionId>"`. */
export function etagOf(versionId: string): string {
  return `W/"${versionId}"`;
}

/**
 * The versionId an If-Match header names: `W/"3"` or `"3"`. Throws 400 naming If-Match otherwise.
 */
export function parseIfMatch(ifMatch: string): string {
  const m = /^(?:W\/)?"([1-9]\d{0,15})"$/.exec(ifMatch.trim());
  if (m === null)
    throw new FhirError(badRequest(`If-Match "${ifMatch}" is not an ETag W/"<versionId>"`, 'If-Match'));
  return m[1]!;
}

/** Throws 412 unless If-Match (when given) names `currentVersionId` (undefined: no such resource). */
export function checkIfMatch(
  ifMatch: string | undefined,
  currentVersionId: string | undefined,
  what: string,
): void {
  if (ifMatch === undefined) return;
  const wanted = parseIfMatch(ifMatch);
  if (currentVersionId === undefined) {
    throw new FhirError(preconditionFailed(`If-Match ${ifMatch}: ${what} does not exist`));
  }
  if (wanted !== currentVersionId) {
    throw new FhirError(preconditionFailed(`If-Match ${ifMatch}: ${what} is at version ${currentVersionId}`));
  }
}

/**
 * Runs one planned Bundle entry against a repository (any implementation): the per-entry step of
 * batch and transaction execution. Throws FhirError when the entry fails.
 */
export async function runEntry<Ctx>(
  repository: FhirRepository<Ctx>,
  entry: BundlePlan['entries'][number],
  ctx: Ctx,
): Promise<EntryResult> {
  const op = entry.op;
  switch (op.method) {
    case 'POST':
      return {
        kind: 'resource',
        status: 201,
        resource: await repository.create(op.resource, ctx, { id: op.id }),
      };
    case 'PUT': {
      const options: UpdateOptions = op.ifMatch === undefined ? {} : { ifMatch: op.ifMatch };
      const resource = await repository.update(op.type, op.id, op.resource, options, ctx);
      // Update-as-create made version 1: 201 Created, as a create.
      return {
        kind: 'resource',
        status: resource.meta?.versionId === FIRST_VERSION_ID ? 201 : 200,
        resource,
      };
    }
    case 'GET': {
      const action = op.action;
      switch (action.kind) {
        case 'read':
          return {
            kind: 'resource',
            status: 200,
            resource: await repository.read(action.type, action.id, ctx),
          };
        case 'vread':
          return {
            kind: 'resource',
            status: 200,
            resource: await repository.vread(action.type, action.id, action.vid, ctx),
          };
        case 'history':
          return { kind: 'history', versions: await repository.history(action.type, action.id, ctx) };
        case 'search':
          return {
            kind: 'search',
            query: action.query,
            page: await repository.search(action.query.resourceType, action.query, ctx),
          };
        case 'everything':
          return {
            kind: 'everything',
            patientId: action.patientId,
            options: action.options,
            page: await repository.everything(action.patientId, action.options, ctx),
          };
      }
    }
  }
}
