/**
 * Search semantics over index entries: whether a resource matches a query, and the sort order
 * pages are cut from. Pure functions of entries, so the in-memory repository and a SQL-backed
 * one (entries as rows of keyed tokens and numeric ranges) give the same answers.
 */
import type { Cursor, SortKey } from './cursor.js';
import type { IndexEntry } from './index-entries.js';
import type { DateCondition, SearchFilter, SearchQuery, SortSpec } from './params.js';

/**
 * Whether a resource with date range [start, end) satisfies a condition — FHIR R4 search
 * §3.1.1.4.5 / prefixes table, with S = [ps, pe) the search range and T = [start, end):
 * - eq: S contains T          - ne: not eq
 * - gt: T reaches above S (end > pe)      - lt: T reaches below S (start < ps)
 * - ge: gt or eq              - le: lt or eq
 * - sa: T starts after S (start >= pe)   - eb: T ends before S (end <= ps)
 * - ap: T overlaps S widened by the approximation margin (done by the parser)
 */
export function dateConditionHolds(condition: DateCondition, start: number, end: number): boolean {
  const { start: ps, end: pe } = condition;
  const contained = ps <= start && end <= pe;
  switch (condition.prefix) {
    case 'eq':
      return contained;
    case 'ne':
      return !contained;
    case 'gt':
      return end > pe;
    case 'lt':
      return start < ps;
    case 'ge':
      return end > pe || contained;
    case 'le':
      return start < ps || contained;
    case 'sa':
      return start >= pe;
    case 'eb':
      return end <= ps;
    case 'ap':
      return start < pe && end > ps;
  }
}

/** Whether the entries satisfy one filter (any of its alternatives). No entry for the parameter: no match. */
export function matchesFilter(entries: readonly IndexEntry[], filter: SearchFilter): boolean {
  switch (filter.kind) {
    case 'token':
    case 'reference': {
      const wanted = new Set(filter.anyOf);
      return entries.some((e) => e.kind === filter.kind && e.param === filter.param && wanted.has(e.value));
    }
    case 'date':
      return entries.some(
        (e) =>
          e.kind === 'date' &&
          e.param === filter.param &&
          filter.anyOf.some((condition) => dateConditionHolds(condition, e.start, e.end)),
      );
  }
}

/** Whether a resource's entries satisfy every filter of the query. */
export function matches(entries: readonly IndexEntry[], query: Pick<SearchQuery, 'filters'>): boolean {
  return query.filters.every((filter) => matchesFilter(entries, filter));
}

/**
 * The sort key of a resource: the start of its `date` (or `_lastUpdated`) range, or null when
 * it has none. A Period sorts by its start in both directions.
 */
export function sortKey(entries: readonly IndexEntry[], sort: Pick<SortSpec, 'param'>): SortKey {
  for (const e of entries) if (e.kind === 'date' && e.param === sort.param) return [e.start];
  return [null];
}

/** Compares sort keys element by element; null sorts last whatever the direction. */
export function compareKeys(a: SortKey, b: SortKey, descending: boolean): number {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    return descending ? y - x : x - y;
  }
  return 0;
}

/** An item in sort order: its identity (id, or `Type/id` across types) and its sort key. */
export interface Sortable {
  readonly id: string;
  readonly key: SortKey;
}

function compareIds(a: string, b: string): number {
  // UTF-16 code-unit order, the order of a SQL BINARY collation.
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The total order of search results: by sort key (in the sort's direction, nulls last), then by
 * id ascending. Keyset paging relies on it being total: no two items compare equal.
 */
export function compareForSort(a: Sortable, b: Sortable, sort: Pick<SortSpec, 'descending'>): number {
  return compareKeys(a.key, b.key, sort.descending) || compareIds(a.id, b.id);
}

/** Whether an item comes strictly after the item a cursor names (so it belongs to the next pages). */
export function isAfterCursor(item: Sortable, cursor: Cursor, sort: Pick<SortSpec, 'descending'>): boolean {
  return compareForSort(item, { id: cursor.id, key: cursor.key }, sort) > 0;
}
