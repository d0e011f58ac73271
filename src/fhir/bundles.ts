/**
 * Bundles: searchset and history Bundles for answers, and `transaction` / `batch` processing in
 * two steps — `planBundle` checks a request Bundle and turns it into a plan (ids assigned,
 * `urn:uuid:` references rewritten, entries ordered), a repository executes the plan
 * (`FhirRepository.execute`), and `responseBundle` writes the transaction-response or
 * batch-response.
 *
 * Unsupported resource types (FHIR types this node does not store: Claim, Organization…):
 * - batch: the entry is answered alone with a 422 OperationOutcome; the others proceed.
 * - transaction (default, importMode 'strict'): the whole transaction fails with ONE 422
 *   outcome naming each unsupported type and its entry indexes; nothing is written.
 * - transaction with importMode 'skip-unsupported': those entries are answered with a 422
 *   outcome each and the rest is executed all-or-nothing. This is how a Synthea bundle (Claim,
 *   ExplanationOfBenefit, Organization, Practitioner, Goal, ImagingStudy…) is imported as it is.
 *   References to skipped entries are left as their `urn:uuid:` (they point nowhere on this
 *   server; we do not invent a target nor drop the link) and are listed in
 *   `plan.danglingReferences`. The response's skipped entries carry a 4xx status inside a
 *   transaction-response, which FHIR does not foresee: it is an import, not a plain transaction.
 *
 * @example
 * const plan = planBundle(body, { newId: randomUUID, importMode: 'skip-unsupported' });
 * const results = await repository.execute(plan, ctx);
 * reply.send(responseBundle(baseUrl, plan, results));
 */
import type {
  Bundle,
  BundleEntry,
  BundleLink,
  OperationOutcome,
  OperationOutcomeIssue,
} from '@medplum/fhirtypes';
import { FhirError, badRequest, notSupported, serverError, statusOf, tooLarge } from './outcomes.js';
import type { EntryResult, SearchPage } from './repository.js';
import { etagOf, parseIfMatch, runEntry } from './repository.js';
import type { FhirRepository } from './repository.js';
import { encodeCursor } from './search/cursor.js';
import type { EverythingOptions, SearchQuery } from './search/params.js';
import { formatSearch, parseEverythingParams, parseSearch } from './search/params.js';
import type { StoredResource, SupportedType } from './types.js';
import { isFhirId, isSupportedType } from './types.js';

/** Most entries in one transaction or batch Bundle (a large Synthea patient has about 2,000). */
export const MAX_BUNDLE_ENTRIES = 10_000;

// ---------------------------------------------------------------------------------------------
// searchset and history

function trimBase(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}

function fullUrlOf(base: string, resource: StoredResource): string {
  return `${base}/${resource.resourceType}/${resource.id ?? ''}`;
}

function matchEntries(base: string, resources: readonly StoredResource[]): BundleEntry[] {
  return resources.map((resource) => ({
    fullUrl: fullUrlOf(base, resource),
    resource,
    search: { mode: 'match' },
  }));
}

/** Entries of the outcomes that qualify a page (`search.mode` "outcome", after the matches). */
function outcomeEntries(outcomes: readonly OperationOutcome[] | undefined): BundleEntry[] {
  return (outcomes ?? []).map((resource) => ({ resource, search: { mode: 'outcome' } }));
}

function withTotal(bundle: Bundle, total: number | undefined): Bundle {
  return total === undefined ? bundle : { ...bundle, total };
}

/**
 * The searchset Bundle of one page of a type search, with `total` when the page has it, a `self`
 * link and, unless this is the last page, a `next` link carrying the `_page` cursor.
 * `_summary=count` (or `_count=0`) gives the total and no entries.
 */
export function searchBundle(baseUrl: string, query: SearchQuery, page: SearchPage): Bundle {
  const base = trimBase(baseUrl);
  const url = (cursor: string | undefined): string =>
    `${base}/${query.resourceType}?${formatSearch(query, cursor).toString()}`;
  const link: BundleLink[] = [{ relation: 'self', url: url(query.page && encodeCursor(query.page)) }];
  const countOnly = query.summaryCount || query.count === 0;
  if (page.next !== undefined && !countOnly)
    link.push({ relation: 'next', url: url(encodeCursor(page.next)) });
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', link };
  if (!countOnly) bundle.entry = [...matchEntries(base, page.resources), ...outcomeEntries(page.outcomes)];
  else if (page.outcomes !== undefined && page.outcomes.length > 0)
    bundle.entry = outcomeEntries(page.outcomes);
  return withTotal(bundle, page.total);
}

/** The searchset Bundle of one page of `Patient/<id>/$everything`. */
export function everythingBundle(
  baseUrl: string,
  patientId: string,
  options: EverythingOptions,
  page: SearchPage,
): Bundle {
  const base = trimBase(baseUrl);
  const url = (cursor: string | undefined): string => {
    const params = new URLSearchParams({ _count: String(options.count) });
    if (cursor !== undefined) params.set('_page', cursor);
    return `${base}/Patient/${patientId}/$everything?${params.toString()}`;
  };
  const link: BundleLink[] = [{ relation: 'self', url: url(options.page && encodeCursor(options.page)) }];
  if (page.next !== undefined && options.count > 0)
    link.push({ relation: 'next', url: url(encodeCursor(page.next)) });
  return withTotal(
    {
      resourceType: 'Bundle',
      type: 'searchset',
      link,
      entry: [...matchEntries(base, page.resources), ...outcomeEntries(page.outcomes)],
    },
    page.total,
  );
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
};

/** A Bundle.entry.response.status: the HTTP code and its reason phrase (`201 Created`). */
export function statusLine(status: number): string {
  const text = STATUS_TEXT[status];
  return text === undefined ? String(status) : `${status} ${text}`;
}

/** `response` members of a stored version: location `Type/id/_history/vid`, etag, lastModified. */
function versionResponse(status: number, resource: StoredResource): NonNullable<BundleEntry['response']> {
  const versionId = resource.meta?.versionId ?? '';
  const response: NonNullable<BundleEntry['response']> = {
    status: statusLine(status),
    location: `${resource.resourceType}/${resource.id ?? ''}/_history/${versionId}`,
    etag: etagOf(versionId),
  };
  if (resource.meta?.lastUpdated !== undefined) response.lastModified = resource.meta.lastUpdated;
  return response;
}

/**
 * The history Bundle of one resource: its versions, newest first (as `FhirRepository.history`
 * returns them), each with the request that made it (POST for version 1, PUT after).
 */
export function historyBundle(baseUrl: string, versions: readonly StoredResource[]): Bundle {
  const base = trimBase(baseUrl);
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: versions.length,
    entry: versions.map((resource) => {
      const first = resource.meta?.versionId === '1';
      return {
        fullUrl: fullUrlOf(base, resource),
        resource,
        request: first
          ? { method: 'POST', url: resource.resourceType }
          : { method: 'PUT', url: `${resource.resourceType}/${resource.id ?? ''}` },
        response: versionResponse(first ? 201 : 200, resource),
      };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// transaction and batch

/** What to do with entries of resource types this node does not store (see the module comment). */
export type ImportMode = 'strict' | 'skip-unsupported';

export interface PlanOptions {
  /** The id generator of the repository that will execute the plan (ids of POST entries). */
  readonly newId: () => string;
  /** Default 'strict'. */
  readonly importMode?: ImportMode;
  /** "Now" for `ap` dates in GET searches (epoch ms). */
  readonly now?: number;
}

/** A GET entry: what it reads. */
export type GetAction =
  | { readonly kind: 'read'; readonly type: SupportedType; readonly id: string }
  | { readonly kind: 'vread'; readonly type: SupportedType; readonly id: string; readonly vid: string }
  | { readonly kind: 'history'; readonly type: SupportedType; readonly id: string }
  | { readonly kind: 'search'; readonly query: SearchQuery }
  | { readonly kind: 'everything'; readonly patientId: string; readonly options: EverythingOptions };

/** What one entry does. POST entries have their id assigned; resources have references rewritten. */
export type PlannedOp =
  | {
      readonly method: 'POST';
      readonly type: SupportedType;
      readonly id: string;
      readonly resource: StoredResource;
    }
  | {
      readonly method: 'PUT';
      readonly type: SupportedType;
      readonly id: string;
      readonly resource: StoredResource;
      readonly ifMatch?: string;
    }
  | { readonly method: 'GET'; readonly action: GetAction };

export interface PlannedEntry {
  /** The entry's index in the request Bundle. */
  readonly index: number;
  readonly op: PlannedOp;
}

/** An entry answered without execution (batch: any failure; import: an unsupported type). */
export interface RejectedEntry {
  readonly index: number;
  readonly outcome: OperationOutcome;
}

/** A reference left as it was because its target entry was skipped (unsupported type). */
export interface DanglingReference {
  readonly index: number;
  readonly reference: string;
}

/** A checked Bundle, ready for `FhirRepository.execute`. */
export interface BundlePlan {
  readonly type: 'transaction' | 'batch';
  readonly importMode: ImportMode;
  /** How many entries the request had (the response has as many). */
  readonly size: number;
  /** The entries to execute, in execution order (transaction: FHIR's processing order). */
  readonly entries: readonly PlannedEntry[];
  readonly rejected: readonly RejectedEntry[];
  readonly danglingReferences: readonly DanglingReference[];
}

/**
 * FHIR R4 http §3.1.0.11.2 (transaction processing rules): deletes, then creates, then updates
 * (and patches), then reads — each group in request order. (DELETE and PATCH are refused here,
 * but keep their place in the rule.)
 */
export const TRANSACTION_ORDER = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3 } as const;

type Method = keyof typeof TRANSACTION_ORDER;
const METHODS = new Set<string>(Object.keys(TRANSACTION_ORDER));

/** Why an entry cannot be planned. */
type EntryFailure =
  | { readonly reason: 'unsupported-type'; readonly type: string; readonly outcome: OperationOutcome }
  | { readonly reason: 'invalid'; readonly outcome: OperationOutcome };

class EntryError extends Error {
  constructor(readonly failure: EntryFailure) {
    super(failure.outcome.issue?.[0]?.details?.text ?? failure.reason);
  }
}

function invalid(index: number, path: string, message: string): never {
  const where = `Bundle.entry[${index}]${path}`;
  throw new EntryError({ reason: 'invalid', outcome: badRequest(`${where}: ${message}`, where) });
}

function unsupportedFeature(index: number, path: string, message: string): never {
  const where = `Bundle.entry[${index}]${path}`;
  throw new EntryError({ reason: 'invalid', outcome: notSupported(`${where}: ${message}`, where) });
}

function unsupportedType(index: number, type: string): never {
  const where = `Bundle.entry[${index}]`;
  throw new EntryError({
    reason: 'unsupported-type',
    type,
    outcome: notSupported(`${where}: resource type "${type}" is not stored by this server`, where),
  });
}

interface Draft {
  readonly index: number;
  readonly method: Method;
  readonly fullUrl: string | undefined;
  /** POST/PUT: the resource type, id and a copy of the resource (references not yet rewritten). */
  readonly target?: { readonly type: SupportedType; readonly id: string; readonly resource: StoredResource };
  readonly ifMatch?: string;
  readonly action?: GetAction;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function draftEntry(raw: unknown, index: number, options: PlanOptions): Draft {
  if (!isObject(raw)) invalid(index, '', 'not an object');
  const request = raw['request'];
  if (!isObject(request))
    invalid(index, '.request', 'missing (each entry needs request.method and request.url)');
  const method = request['method'];
  if (typeof method !== 'string' || !METHODS.has(method)) {
    invalid(
      index,
      '.request.method',
      `${JSON.stringify(method)} is not one of GET, POST, PUT, DELETE, PATCH`,
    );
  }
  const url = request['url'];
  if (typeof url !== 'string' || url === '') invalid(index, '.request.url', 'missing');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url)) {
    invalid(index, '.request.url', `"${url}" must be relative to the server base (Type/id)`);
  }
  const fullUrl = raw['fullUrl'];
  if (fullUrl !== undefined && (typeof fullUrl !== 'string' || fullUrl === ''))
    invalid(index, '.fullUrl', 'not a URI');

  const [path = '', queryString] = url.replace(/^\//, '').split(/\?(.*)/s, 2) as [string, string | undefined];
  const segments = path.split('/');
  const urlType = segments[0] ?? '';
  const resource = raw['resource'];
  const resourceType = isObject(resource) ? resource['resourceType'] : undefined;

  if (method === 'POST' || method === 'PUT') {
    if (!isObject(resource)) invalid(index, '.resource', `missing (${method} needs a resource)`);
    if (typeof resourceType !== 'string') invalid(index, '.resource.resourceType', 'missing');
    if (!isSupportedType(resourceType)) unsupportedType(index, resourceType);
    if (urlType !== resourceType) {
      invalid(index, '.request.url', `"${url}" does not match the resource type ${resourceType}`);
    }
  } else if (!isSupportedType(urlType)) {
    if (urlType === '' || !/^[A-Z][A-Za-z]+$/.test(urlType))
      invalid(index, '.request.url', `"${url}" names no resource type`);
    unsupportedType(index, urlType);
  }
  const type = urlType;
  const base = { index, fullUrl: typeof fullUrl === 'string' ? fullUrl : undefined };

  switch (method as Method) {
    case 'DELETE':
      return unsupportedFeature(
        index,
        '.request.method',
        'DELETE is not supported (records are erased through the ledger)',
      );
    case 'PATCH':
      return unsupportedFeature(index, '.request.method', 'PATCH is not supported; PUT the whole resource');
    case 'POST': {
      if (segments.length !== 1 || queryString !== undefined) {
        invalid(index, '.request.url', `"${url}" must be the resource type alone for POST`);
      }
      if (request['ifNoneExist'] !== undefined) {
        unsupportedFeature(index, '.request.ifNoneExist', 'conditional create is not supported');
      }
      const id = options.newId();
      const copy = { ...(structuredClone(resource) as StoredResource), id };
      return { ...base, method: 'POST', target: { type, id, resource: copy } };
    }
    case 'PUT': {
      if (queryString !== undefined)
        unsupportedFeature(index, '.request.url', 'conditional update is not supported');
      const id = segments[1];
      if (segments.length !== 2 || id === undefined || !isFhirId(id)) {
        invalid(index, '.request.url', `"${url}" must be Type/<id> for PUT`);
      }
      const resourceId = (resource as { id?: unknown }).id;
      if (resourceId !== undefined && resourceId !== id) {
        invalid(
          index,
          '.resource.id',
          `${JSON.stringify(resourceId)} differs from the id in request.url (${id})`,
        );
      }
      const ifMatch = request['ifMatch'];
      if (ifMatch !== undefined) {
        if (typeof ifMatch !== 'string') invalid(index, '.request.ifMatch', 'not a string');
        try {
          parseIfMatch(ifMatch);
        } catch (error) {
          if (error instanceof FhirError) invalid(index, '.request.ifMatch', error.message);
          throw error;
        }
      }
      const copy = { ...(structuredClone(resource) as StoredResource), id };
      const draft: Draft = { ...base, method: 'PUT', target: { type, id, resource: copy } };
      return typeof ifMatch === 'string' ? { ...draft, ifMatch } : draft;
    }
    case 'GET':
      return {
        ...base,
        method: 'GET',
        action: getAction(index, type, segments, queryString ?? '', url, options),
      };
  }
}

function getAction(
  index: number,
  type: SupportedType,
  segments: readonly string[],
  queryString: string,
  url: string,
  options: PlanOptions,
): GetAction {
  const id = segments[1];
  try {
    if (segments.length === 1) {
      return {
        kind: 'search',
        query: parseSearch(type, queryString, options.now === undefined ? {} : { now: options.now }),
      };
    }
    if (id === undefined || !isFhirId(id))
      return invalid(index, '.request.url', `"${url}" has an invalid id`);
    if (segments.length === 2 && queryString === '') return { kind: 'read', type, id };
    if (segments.length === 3 && segments[2] === '$everything' && type === 'Patient') {
      return { kind: 'everything', patientId: id, options: parseEverythingParams(queryString) };
    }
    if (segments[2] === '_history' && queryString === '') {
      if (segments.length === 3) return { kind: 'history', type, id };
      const vid = segments[3];
      if (segments.length === 4 && vid !== undefined && /^[1-9]\d{0,15}$/.test(vid))
        return { kind: 'vread', type, id, vid };
    }
  } catch (error) {
    if (error instanceof FhirError) {
      throw new EntryError({ reason: 'invalid', outcome: entryOutcome(error.outcome, index) });
    }
    throw error;
  }
  return invalid(index, '.request.url', `"${url}" is not a read, vread, history, search or $everything`);
}

/**
 * The outcome of a failure of entry `index`: `Bundle.entry[i]: ` before each issue's text and
 * `Bundle.entry[i]` first among its expressions (the status is unchanged).
 */
export function entryOutcome(outcome: OperationOutcome, index: number): OperationOutcome {
  const where = `Bundle.entry[${index}]`;
  return {
    ...outcome,
    issue: (outcome.issue ?? []).map((issue) => ({
      ...issue,
      details: { ...issue.details, text: `${where}: ${issue.details?.text ?? issue.code}` },
      expression: [where, ...(issue.expression ?? [])],
    })),
  };
}

/** Replaces every object member named `reference` holding a string, anywhere in `value`, by `rewrite` of it. */
function rewriteReferences(value: unknown, rewrite: (reference: string) => string): void {
  if (Array.isArray(value)) {
    for (const item of value) rewriteReferences(item, rewrite);
  } else if (isObject(value)) {
    for (const [key, member] of Object.entries(value)) {
      if (key === 'reference' && typeof member === 'string') value[key] = rewrite(member);
      else rewriteReferences(member, rewrite);
    }
  }
}

const MAX_ISSUES = 20;

/** One outcome listing several entries' failures (first failure decides the status). */
function combine(failures: readonly OperationOutcome[]): OperationOutcome {
  const first = failures[0]!;
  const issues: OperationOutcomeIssue[] = failures.flatMap((f) => f.issue ?? []).slice(0, MAX_ISSUES);
  if (failures.length > MAX_ISSUES) {
    issues.push({
      severity: 'error',
      code: 'too-costly',
      details: { text: `… and more (${failures.length} entries failed)` },
    });
  }
  return { ...first, issue: issues };
}

/**
 * Checks a transaction or batch Bundle and plans its execution: assigns the ids of POST entries
 * (`options.newId`), rewrites every `reference` (deep, including contained resources and
 * extensions) that names another entry's `fullUrl` (`urn:uuid:` or absolute) to `Type/id`, and
 * orders a transaction's entries per TRANSACTION_ORDER. The input is not modified.
 *
 * Throws FhirError: 400 when the Bundle itself is malformed; for a transaction, the failure of
 * any entry (422 naming every unsupported resource type and its entry indexes, unless importMode
 * is 'skip-unsupported'; 400 for malformed entries, an unresolvable `urn:uuid:` reference, or
 * two entries writing the same resource); 413 beyond MAX_BUNDLE_ENTRIES entries.
 * In a batch, failing entries are returned in `rejected` instead.
 */
export function planBundle(bundle: unknown, options: PlanOptions): BundlePlan {
  const importMode = options.importMode ?? 'strict';
  if (!isObject(bundle) || bundle['resourceType'] !== 'Bundle') {
    throw new FhirError(badRequest('Expected a Bundle resource', 'Bundle'));
  }
  const type = bundle['type'];
  if (type !== 'transaction' && type !== 'batch') {
    throw new FhirError(
      badRequest(`Bundle.type ${JSON.stringify(type)} is not transaction or batch`, 'Bundle.type'),
    );
  }
  const rawEntries = bundle['entry'] ?? [];
  if (!Array.isArray(rawEntries))
    throw new FhirError(badRequest('Bundle.entry is not an array', 'Bundle.entry'));
  const entriesIn = rawEntries as unknown[];
  if (entriesIn.length > MAX_BUNDLE_ENTRIES) {
    throw new FhirError(
      tooLarge(`Bundle has ${entriesIn.length} entries; at most ${MAX_BUNDLE_ENTRIES} are accepted`),
    );
  }

  const failures = new Map<number, EntryFailure>();
  const drafts: Draft[] = [];
  for (let index = 0; index < entriesIn.length; index++) {
    try {
      drafts.push(draftEntry(entriesIn[index], index, options));
    } catch (error) {
      if (!(error instanceof EntryError)) throw error;
      failures.set(index, error.failure);
    }
  }

  // fullUrl → Type/id of the entries that write; skipped fullUrls stay dangling.
  const targets = new Map<string, string>();
  const written = new Map<string, number>();
  const skippedUrls = new Set<string>();
  const failedUrls = new Map<string, number>();
  for (const [index, failure] of failures) {
    const raw = entriesIn[index];
    const fullUrl = isObject(raw) ? raw['fullUrl'] : undefined;
    if (typeof fullUrl !== 'string') continue;
    if (failure.reason === 'unsupported-type') skippedUrls.add(fullUrl);
    else failedUrls.set(fullUrl, index);
  }
  for (const draft of drafts) {
    if (draft.target === undefined) continue;
    const key = `${draft.target.type}/${draft.target.id}`;
    const previous = written.get(key);
    if (previous !== undefined) {
      failures.set(draft.index, {
        reason: 'invalid',
        outcome: badRequest(
          `Bundle.entry[${draft.index}]: ${key} is also written by entry ${previous}`,
          `Bundle.entry[${draft.index}].request.url`,
        ),
      });
      continue;
    }
    written.set(key, draft.index);
    if (draft.fullUrl === undefined) continue;
    if (targets.has(draft.fullUrl) || skippedUrls.has(draft.fullUrl)) {
      failures.set(draft.index, {
        reason: 'invalid',
        outcome: badRequest(
          `Bundle.entry[${draft.index}].fullUrl ${draft.fullUrl} is not unique`,
          `Bundle.entry[${draft.index}].fullUrl`,
        ),
      });
      continue;
    }
    targets.set(draft.fullUrl, key);
  }

  const dangling: DanglingReference[] = [];
  const planned: PlannedEntry[] = [];
  for (const draft of drafts) {
    if (failures.has(draft.index)) continue;
    if (draft.method === 'GET' && draft.action !== undefined) {
      planned.push({ index: draft.index, op: { method: 'GET', action: draft.action } });
      continue;
    }
    const target = draft.target;
    if (target === undefined) continue;
    const unresolved: string[] = [];
    rewriteReferences(target.resource, (reference) => {
      const resolved = targets.get(reference);
      if (resolved !== undefined) return resolved;
      const failed = failedUrls.get(reference);
      if (skippedUrls.has(reference)) dangling.push({ index: draft.index, reference });
      else if (failed !== undefined) unresolved.push(`${reference} (entry ${failed}, which failed)`);
      else if (reference.startsWith('urn:uuid:')) unresolved.push(`${reference} (the fullUrl of no entry)`);
      return reference;
    });
    if (unresolved.length > 0) {
      failures.set(draft.index, {
        reason: 'invalid',
        outcome: badRequest(
          `Bundle.entry[${draft.index}]: unresolved reference ${unresolved.join(', ')}`,
          `Bundle.entry[${draft.index}].resource`,
        ),
      });
      continue;
    }
    const op: PlannedOp =
      draft.method === 'POST'
        ? { method: 'POST', type: target.type, id: target.id, resource: target.resource }
        : draft.ifMatch === undefined
          ? { method: 'PUT', type: target.type, id: target.id, resource: target.resource }
          : {
              method: 'PUT',
              type: target.type,
              id: target.id,
              resource: target.resource,
              ifMatch: draft.ifMatch,
            };
    planned.push({ index: draft.index, op });
  }

  const rejected: RejectedEntry[] = [];
  if (type === 'transaction') {
    const unsupported = [...failures].filter(([, f]) => f.reason === 'unsupported-type');
    const others = [...failures].filter(([, f]) => f.reason !== 'unsupported-type').sort(([a], [b]) => a - b);
    if (unsupported.length > 0 && importMode === 'strict') {
      const byType = new Map<string, number[]>();
      for (const [index, f] of unsupported) {
        if (f.reason !== 'unsupported-type') continue;
        byType.set(f.type, [...(byType.get(f.type) ?? []), index]);
      }
      const list = [...byType]
        .map(([t, indexes]) => `${t} (${indexes.length === 1 ? 'entry' : 'entries'} ${indexes.join(', ')})`)
        .join(', ');
      throw new FhirError(
        notSupported(
          `Transaction refused, nothing was written: ${byType.size === 1 ? 'a resource type' : `${byType.size} resource types`} not stored by this server: ${list}. ` +
            `To import the rest and skip these entries, use importMode 'skip-unsupported'.`,
          unsupported.map(([index]) => `Bundle.entry[${index}]`),
        ),
      );
    }
    if (others.length > 0) throw new FhirError(combine(others.map(([, f]) => f.outcome)));
    for (const [index, f] of unsupported) rejected.push({ index, outcome: f.outcome });
    planned.sort(
      (a, b) => TRANSACTION_ORDER[a.op.method] - TRANSACTION_ORDER[b.op.method] || a.index - b.index,
    );
  } else {
    for (const [index, f] of failures) rejected.push({ index, outcome: f.outcome });
  }
  rejected.sort((a, b) => a.index - b.index);
  return {
    type,
    importMode,
    size: entriesIn.length,
    entries: planned,
    rejected,
    danglingReferences: dangling,
  };
}

/**
 * Results of a plan in request order, with rejected entries filled in: the helper an
 * implementation of `FhirRepository.execute` ends with.
 */
export function assembleResults(plan: BundlePlan, executed: ReadonlyMap<number, EntryResult>): EntryResult[] {
  const out: EntryResult[] = [];
  const rejected = new Map(plan.rejected.map((r) => [r.index, r.outcome]));
  for (let index = 0; index < plan.size; index++) {
    const result = executed.get(index);
    const outcome = rejected.get(index);
    if (result !== undefined) out.push(result);
    else if (outcome !== undefined) out.push({ kind: 'outcome', outcome });
    else throw new Error(`assembleResults: no result for entry ${index}`);
  }
  return out;
}

/**
 * The transaction-response or batch-response Bundle: one entry per request entry, in request
 * order, each with `response.status`, and for writes and reads `location`
 * (`Type/id/_history/vid`), `etag` (`W/"vid"`), `lastModified` and the resource; failed or
 * skipped entries carry `response.outcome`.
 */
export function responseBundle(baseUrl: string, plan: BundlePlan, results: readonly EntryResult[]): Bundle {
  if (results.length !== plan.size)
    throw new Error(`responseBundle: ${results.length} results for ${plan.size} entries`);
  const base = trimBase(baseUrl);
  return {
    resourceType: 'Bundle',
    type: plan.type === 'transaction' ? 'transaction-response' : 'batch-response',
    entry: results.map((result): BundleEntry => {
      switch (result.kind) {
        case 'resource':
          return {
            fullUrl: fullUrlOf(base, result.resource),
            resource: result.resource,
            response: versionResponse(result.status, result.resource),
          };
        case 'search':
          return {
            resource: searchBundle(base, result.query, result.page),
            response: { status: statusLine(200) },
          };
        case 'everything':
          return {
            resource: everythingBundle(base, result.patientId, result.options, result.page),
            response: { status: statusLine(200) },
          };
        case 'history':
          return { resource: historyBundle(base, result.versions), response: { status: statusLine(200) } };
        case 'outcome':
          return { response: { status: statusLine(statusOf(result.outcome)), outcome: result.outcome } };
      }
    }),
  };
}

/**
 * Executes a `batch` plan against any repository: each entry stands alone, and an entry that
 * fails answers its own outcome (an unexpected error is that entry's 500, without internals).
 */
export async function executeBatch<Ctx>(
  repository: FhirRepository<Ctx>,
  plan: BundlePlan,
  ctx: Ctx,
): Promise<EntryResult[]> {
  const executed = new Map<number, EntryResult>();
  for (const entry of plan.entries) {
    try {
      executed.set(entry.index, await runEntry(repository, entry, ctx));
    } catch (error) {
      const outcome = error instanceof FhirError ? entryOutcome(error.outcome, entry.index) : serverError;
      executed.set(entry.index, { kind: 'outcome', outcome });
    }
  }
  return assembleResults(plan, executed);
}
