/**
 * Parses a FHIR search request (`GET /fhir/R4/<type>?...`) into a typed SearchQuery.
 *
 * Strict by choice: FHIR lets a server ignore parameters it does not know, which silently widens
 * a clinical search; this server refuses them with a 400 OperationOutcome that names the
 * parameter. Only `_format`, `_pretty` and `_summary=count` are accepted besides the parameters
 * of SEARCH_PARAMETERS and the paging/sort controls `_count`, `_sort`, `_page`.
 *
 * - Repeated parameters are ANDed (`date=ge2020&date=lt2021`); a comma inside one value ORs
 *   (`code=a,b`). `\,` `\|` `\\` escape (FHIR search §3.1.1.4.7).
 * - Dates: prefixes eq ne lt gt le ge sa eb ap; values YYYY, YYYY-MM, YYYY-MM-DD, or a time with
 *   a zone (`2020-01-01T10:00Z`, `...T10:00:00.5+02:00`) — each a [start, end) range (dates.ts).
 *
 * @example
 * const query = parseSearch('Observation', new URLSearchParams('patient=p1&code=http://loinc.org|8302-2&date=ge2020'));
 */
import { FhirError, badRequest, tooLarge, unknownType } from '../outcomes.js';
import type { SupportedType } from '../types.js';
import { isFhirId, isSupportedType } from '../types.js';
import { type Cursor, decodeCursor } from './cursor.js';
import { MAX_TIME, MIN_TIME, parseDateRange } from './dates.js';
import type { DateParam, SearchParameterInfo, TokenParam } from './index-entries.js';
import {
  SEARCH_PARAMETERS,
  normalizePatientReference,
  patientReference,
  sortParametersOf,
} from './index-entries.js';
import { queryKey } from './tokens.js';

/** Page size when `_count` is absent. */
export const DEFAULT_COUNT = 50;
/** Largest page; a larger `_count` is lowered to it (the self link shows the count applied). */
export const MAX_COUNT = 1000;
/** Most comma-separated alternatives in one parameter value. */
export const MAX_ALTERNATIVES = 100;
/** Most filter parameters in one search. */
export const MAX_FILTERS = 50;
/** `ap` (approximately): ± this fraction of the distance between now and the value (FHIR suggests 10%). */
export const APPROXIMATION = 0.1;

export const DATE_PREFIXES = ['eq', 'ne', 'lt', 'gt', 'le', 'ge', 'sa', 'eb', 'ap'] as const;
export type DatePrefix = (typeof DATE_PREFIXES)[number];

/**
 * A date condition on [start, end), the range of the search value (for `ap`, already widened
 * by APPROXIMATION, so matching needs no clock).
 */
export interface DateCondition {
  readonly prefix: DatePrefix;
  readonly start: number;
  readonly end: number;
}

/** One filter: the resource matches when ANY alternative holds. Filters are ANDed. */
export type SearchFilter =
  | { readonly kind: 'token'; readonly param: TokenParam; readonly anyOf: readonly string[] }
  | { readonly kind: 'reference'; readonly param: 'patient'; readonly anyOf: readonly string[] }
  | { readonly kind: 'date'; readonly param: DateParam; readonly anyOf: readonly DateCondition[] };

/** The orders a search can ask for (`_sort`); ties are broken by id, ascending. */
export type SortParam = 'date' | '_lastUpdated';
export interface SortSpec {
  readonly param: SortParam;
  readonly descending: boolean;
}

/** `_sort` when absent: oldest write first, so new writes land on later pages. */
export const DEFAULT_SORT: SortSpec = Object.freeze({ param: '_lastUpdated', descending: false });

/** The `_sort` text of a sort (`date`, `-date`, `_lastUpdated`, `-_lastUpdated`): also the cursor's `s`. */
export function sortName(sort: SortSpec): string {
  return `${sort.descending ? '-' : ''}${sort.param}`;
}

/** A parsed search. */
export interface SearchQuery {
  readonly resourceType: SupportedType;
  readonly filters: readonly SearchFilter[];
  /** Page size, 0..MAX_COUNT (0: no entries, only the total). */
  readonly count: number;
  readonly sort: SortSpec;
  /** Where this page starts (after the item the cursor names). */
  readonly page?: Cursor;
  /** `_summary=count`: answer the total only. */
  readonly summaryCount: boolean;
  /** The filter parameters as given (name, value), in order: the base of self and next links. */
  readonly params: readonly (readonly [string, string])[];
}

export interface ParseSearchOptions {
  /** "Now" for the `ap` prefix, epoch ms (default Date.now()). */
  readonly now?: number;
}

const CONTROL = new Set(['_count', '_sort', '_page', '_format', '_pretty', '_summary']);
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json']);

function fail(message: string, param: string): never {
  throw new FhirError(badRequest(message, param));
}

/** Splits on the unescaped `separator`, keeping escapes in the parts. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + text[i + 1]!;
      i++;
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

function alternatives(name: string, value: string): string[] {
  const parts = splitUnescaped(value, ',');
  if (parts.some((part) => part === '')) fail(`Search parameter "${name}" has an empty value`, name);
  if (parts.length > MAX_ALTERNATIVES)
    fail(`Search parameter "${name}" has more than ${MAX_ALTERNATIVES} alternatives`, name);
  return parts;
}

function parseToken(name: string, part: string): string {
  const pieces = splitUnescaped(part, '|');
  if (pieces.length === 1) return queryKey(undefined, unescape(pieces[0]!));
  if (pieces.length !== 2)
    fail(`Search parameter "${name}": "${part}" has more than one unescaped "|"`, name);
  const [system, code] = pieces as [string, string];
  if (system === '' && code === '') fail(`Search parameter "${name}": "|" alone selects nothing`, name);
  // `|code`: no system; `system|`: any code of the system.
  return queryKey(unescape(system), code === '' ? undefined : unescape(code));
}

function parseReference(name: string, part: string): string {
  if (isFhirId(part)) return patientReference(part);
  const normalized = normalizePatientReference(part);
  if (normalized === undefined || normalized !== part) {
    fail(
      `Search parameter "${name}": "${part}" is not a Patient reference (expected Patient/<id> or <id>)`,
      name,
    );
  }
  return normalized;
}

function parseDate(name: string, part: string, now: number): DateCondition {
  let prefix: DatePrefix = 'eq';
  let text = part;
  const m = /^([a-z]{2})(?=\d)/.exec(part);
  if (m !== null) {
    if (!(DATE_PREFIXES as readonly string[]).includes(m[1]!)) {
      fail(`Search parameter "${name}": unknown prefix "${m[1]!}" (use ${DATE_PREFIXES.join(', ')})`, name);
    }
    prefix = m[1] as DatePrefix;
    text = part.slice(2);
  }
  // An unencoded `+` of a zone arrives as a space (application/x-www-form-urlencoded); the date
  // grammar has no space, so reading it back as `+` is unambiguous.
  text = text.replace(/(T[\d:.]+) (\d{2}:\d{2})$/, '$1+$2');
  const range = parseDateRange(text);
  if (range === undefined) {
    fail(
      `Search parameter "${name}": "${text}" is not a date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.s]] with a zone such as Z or +02:00)`,
      name,
    );
  }
  if (prefix !== 'ap') return { prefix, start: range.start, end: range.end };
  const margin = Math.abs(now - (range.start + range.end) / 2) * APPROXIMATION;
  return {
    prefix,
    start: Math.max(MIN_TIME, range.start - margin),
    end: Math.min(MAX_TIME, range.end + margin),
  };
}

function parseFilter(info: SearchParameterInfo, value: string, now: number): SearchFilter {
  const name = info.name;
  const parts = alternatives(name, value);
  switch (info.index) {
    case '_id':
      for (const part of parts)
        if (!isFhirId(part)) fail(`Search parameter "_id": "${part}" is not a FHIR id`, name);
      return { kind: 'token', param: '_id', anyOf: parts };
    case 'code':
    case 'category':
    case 'identifier':
      // An identifier search looks one identifier up: `system|` (any value of the system) would
      // enumerate every resource with an identifier of that system, so a value is required.
      if (info.index === 'identifier')
        for (const part of parts)
          if (splitUnescaped(part, '|')[1] === '')
            fail(`Search parameter "${name}": "${part}" names no identifier value`, name);
      return { kind: 'token', param: info.index, anyOf: parts.map((part) => parseToken(name, part)) };
    case 'patient':
      return { kind: 'reference', param: 'patient', anyOf: parts.map((part) => parseReference(name, part)) };
    case 'date':
    case '_lastUpdated':
      return { kind: 'date', param: info.index, anyOf: parts.map((part) => parseDate(name, part, now)) };
  }
}

function parseSort(type: SupportedType, value: string): SortSpec {
  const descending = value.startsWith('-');
  const param = descending ? value.slice(1) : value;
  const allowed = sortParametersOf(type);
  if (!(allowed as readonly string[]).includes(param)) {
    const options = allowed.flatMap((p) => [p, `-${p}`]).join(', ');
    fail(`_sort "${value}" is not supported for ${type} (use one of ${options})`, '_sort');
  }
  return { param: param as SortParam, descending };
}

/** A `_count` value: a non-negative integer, at most MAX_COUNT (larger asks get MAX_COUNT). */
export function parseCount(value: string): number {
  if (!/^\d{1,9}$/.test(value)) fail(`_count "${value}" is not a non-negative integer`, '_count');
  return Math.min(Number(value), MAX_COUNT);
}

/**
 * Parses the search parameters of a type-level search. Throws FhirError: 404 (`unknownType`)
 * for a type this server does not store; 400 naming the parameter for an unknown parameter, a
 * modifier, a malformed value, a repeated control parameter or a cursor of another sort.
 */
export function parseSearch(
  resourceType: string,
  params: URLSearchParams | string,
  options: ParseSearchOptions = {},
): SearchQuery {
  if (!isSupportedType(resourceType)) throw new FhirError(unknownType(resourceType));
  const type = resourceType;
  const now = options.now ?? Date.now();
  const search = typeof params === 'string' ? new URLSearchParams(params) : params;
  const known = new Map<string, SearchParameterInfo>(
    SEARCH_PARAMETERS[type].map((info) => [info.name, info]),
  );

  const filters: SearchFilter[] = [];
  const kept: [string, string][] = [];
  const controls = new Map<string, string>();
  for (const [name, value] of search) {
    if (CONTROL.has(name)) {
      if (controls.has(name)) fail(`${name} is given more than once`, name);
      controls.set(name, value);
      continue;
    }
    const info = known.get(name);
    if (info === undefined) {
      const base = name.split(':')[0]!;
      if (base !== name && (known.has(base) || CONTROL.has(base))) {
        fail(`Search parameter "${name}": modifier ":${name.slice(base.length + 1)}" is not supported`, name);
      }
      fail(
        `Unknown search parameter "${name}" for ${type} (supported: ${[...known.keys()].join(', ')}, _count, _sort, _page, _summary=count)`,
        name,
      );
    }
    if (filters.length >= MAX_FILTERS)
      throw new FhirError(tooLarge(`More than ${MAX_FILTERS} search parameters`));
    filters.push(parseFilter(info, value, now));
    kept.push([name, value]);
  }

  const format = controls.get('_format');
  if (format !== undefined && !JSON_FORMATS.has(format)) {
    fail(`_format "${format}" is not supported (this server speaks JSON only)`, '_format');
  }
  const pretty = controls.get('_pretty');
  if (pretty !== undefined && pretty !== 'true' && pretty !== 'false')
    fail(`_pretty must be true or false`, '_pretty');
  const summary = controls.get('_summary');
  if (summary !== undefined && summary !== 'count')
    fail(`_summary "${summary}" is not supported (only _summary=count)`, '_summary');

  const countText = controls.get('_count');
  const sortText = controls.get('_sort');
  const pageText = controls.get('_page');
  const sort = sortText === undefined ? DEFAULT_SORT : parseSort(type, sortText);
  const query: SearchQuery = {
    resourceType: type,
    filters,
    count: countText === undefined ? DEFAULT_COUNT : parseCount(countText),
    sort,
    summaryCount: summary === 'count',
    params: kept,
  };
  if (pageText === undefined) return query;
  return { ...query, page: checkCursor(decodeCursor(pageText), sortName(sort), 1) };
}

/** Checks that a cursor was made for `sort` with a key of `keyLength` items; returns it. */
export function checkCursor(cursor: Cursor, sort: string, keyLength: number): Cursor {
  if (cursor.sort !== sort) fail(`_page was made for _sort=${cursor.sort}, not ${sort}`, '_page');
  if (cursor.key.length !== keyLength) fail('_page cursor has a sort key of the wrong length', '_page');
  return cursor;
}

/**
 * The query string of a search's links: its filter parameters as given, then `_count`, `_sort`,
 * `_summary` and `_page` (when `page` is given).
 */
export function formatSearch(query: SearchQuery, page?: string): URLSearchParams {
  const out = new URLSearchParams();
  for (const [name, value] of query.params) out.append(name, value);
  out.set('_count', String(query.count));
  out.set('_sort', sortName(query.sort));
  if (query.summaryCount) out.set('_summary', 'count');
  if (page !== undefined) out.set('_page', page);
  return out;
}

/** The cursor `s` of `$everything` pages. */
export const EVERYTHING_SORT = '$everything';

/** Paging of `Patient/<id>/$everything`. */
export interface EverythingOptions {
  readonly count: number;
  readonly page?: Cursor;
}

/**
 * Parses the parameters of `Patient/<id>/$everything`: `_count` and `_page` (and `_format`,
 * `_pretty`). Anything else (`start`, `end`, `_since`, `_type`) is refused with 400 naming it.
 */
export function parseEverythingParams(params: URLSearchParams | string): EverythingOptions {
  const search = typeof params === 'string' ? new URLSearchParams(params) : params;
  const seen = new Map<string, string>();
  for (const [name, value] of search) {
    if (!['_count', '_page', '_format', '_pretty'].includes(name)) {
      fail(`Parameter "${name}" is not supported by $everything (supported: _count, _page)`, name);
    }
    if (seen.has(name)) fail(`${name} is given more than once`, name);
    seen.set(name, value);
  }
  const format = seen.get('_format');
  if (format !== undefined && !JSON_FORMATS.has(format)) {
    fail(`_format "${format}" is not supported (this server speaks JSON only)`, '_format');
  }
  const pretty = seen.get('_pretty');
  if (pretty !== undefined && pretty !== 'true' && pretty !== 'false')
    fail(`_pretty must be true or false`, '_pretty');
  const countText = seen.get('_count');
  const pageText = seen.get('_page');
  const count = countText === undefined ? DEFAULT_COUNT : parseCount(countText);
  if (pageText === undefined) return { count };
  return { count, page: checkCursor(decodeCursor(pageText), EVERYTHING_SORT, 1) };
}
