/**
 * Keyset pages of a roaming query: which part of a patient's records a requester asks another
 * custodian for, and how either side cuts a list of records to that part.
 *
 * Why the page travels in the query (issue 14 §4): a roaming `$everything` or patient search that
 * pages with `_count=50` used to ask the custodian for ALL of the patient's records on every page
 * (500 records, ~1.5 MB signed, hashed and checked ten times over). The requester now sends the
 * page's own cursor (sort, sort key and id of the last item shown) and a limit of `count + 1`; the
 * custodian answers only its records after that cursor in that order, at most the limit; the
 * requester merges them with its local rows by the same total order (`compareForSort`), so the
 * page equals the one a full answer gave. Nothing is cached between pages: each page is decided
 * and fetched afresh under the caller's own access, so a cursor carries no authority and a page
 * link passed to another practitioner gives exactly what that practitioner gets without it.
 *
 * A custodian's answer is not trusted for its order or its cut: the requester drops records that
 * do not sort after the cursor, sorts the rest by their claimed keys (each claimed key is checked
 * against the decrypted record before it is shown) and keeps at most the limit. An answer of the
 * full limit may have more behind it: its last kept record is the custodian's *frontier*, and a
 * page never shows anything past the earliest frontier (it ends there, its next link at the
 * frontier). So a custodian that lies about its order or skips records can only leave records out
 * — as one that does not answer — or make a page shorter; it cannot reorder, repeat or stall pages
 * (every frontier sorts strictly after the cursor).
 */
import {
  EVERYTHING_SORT,
  FHIR_ID,
  FhirError,
  SUPPORTED_TYPES,
  badRequest,
  compareForSort,
  isAfterCursor,
  type Cursor,
  type SortKey,
  type SortParam,
  type SortSpec,
  type Sortable,
} from '../../fhir/index.js';

/** The orders a remote page can be asked in (a search's `_sort`; `$everything` uses `_lastUpdated`). */
export const REMOTE_SORTS = ['_lastUpdated', '-_lastUpdated', 'date', '-date'] as const;
export type RemoteSortName = (typeof REMOTE_SORTS)[number];

/** The part of the matching records a remote query asks for. */
export interface RemotePage {
  readonly sort: RemoteSortName;
  /** The last item of the previous page (absent: from the first record). */
  readonly after?: { readonly key: SortKey; readonly id: string };
  /** Most records to answer (a page's `count + 1`: one more tells whether a next page exists). */
  readonly limit: number;
}

/** The query kinds that page. */
export type PagedKind = 'everything' | 'search';

/** What a record's place in a page order is computed from (a wire record's claimed metadata, or an index row). */
export interface PageKeyed {
  readonly id: string;
  readonly type: string;
  readonly lastUpdated: number;
  readonly date: number | null;
}

/** The sort spec of a page's sort name. */
export function sortSpecOf(sort: RemoteSortName): SortSpec {
  const descending = sort.startsWith('-');
  return { param: (descending ? sort.slice(1) : sort) as SortParam, descending };
}

/** A record's place in the page order: `$everything` orders across types (`Type/id`), a search within one (`id`). */
export function pageSortable(kind: PagedKind, sort: SortSpec, record: PageKeyed): Sortable {
  return {
    id: kind === 'everything' ? `${record.type}/${record.id}` : record.id,
    key: [sort.param === '_lastUpdated' ? record.lastUpdated : record.date],
  };
}

/**
 * The records of `records` a page asks for: those after its cursor, in its order, at most its
 * limit; `frontier` is the last of them when the limit was reached (more may follow it).
 */
export function cutToPage<T>(
  records: readonly T[],
  page: RemotePage,
  sortableOf: (record: T) => Sortable,
): { readonly records: T[]; readonly frontier?: Sortable } {
  const sort = sortSpecOf(page.sort);
  const after = page.after === undefined ? undefined : { sort: page.sort, key: page.after.key, id: page.after.id };
  const placed = records
    .map((record) => ({ record, at: sortableOf(record) }))
    .filter(({ at }) => after === undefined || isAfterCursor(at, after, sort));
  placed.sort((a, b) => compareForSort(a.at, b.at, sort));
  const kept = placed.slice(0, page.limit);
  const last = kept[kept.length - 1];
  return {
    records: kept.map(({ record }) => record),
    ...(kept.length === page.limit && last !== undefined ? { frontier: last.at } : {}),
  };
}

/** The earlier of two frontiers in `sort` (undefined: no frontier, the answers were complete). */
export function earlierFrontier(
  a: Sortable | undefined,
  b: Sortable | undefined,
  sort: Pick<SortSpec, 'descending'>,
): Sortable | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareForSort(a, b, sort) <= 0 ? a : b;
}

/** The remote page a local page of `count` after `cursor` needs. */
export function remotePageFor(sort: SortSpec, cursor: Cursor | undefined, count: number): RemotePage {
  return {
    sort: `${sort.descending ? '-' : ''}${sort.param}` as RemoteSortName,
    ...(cursor === undefined ? {} : { after: { key: cursor.key, id: cursor.id } }),
    // Nothing to show (`_summary=count`): only the custodians' totals are needed.
    limit: count === 0 ? 0 : count + 1,
  };
}

const EVERYTHING_ID = new RegExp(`^(?:${SUPPORTED_TYPES.join('|')})/[A-Za-z0-9\\-.]{1,64}$`);

/** Whether `id` is a cursor id of a `kind` page: `Type/id` of a served type, or an id. */
export function isPageCursorId(kind: PagedKind, id: string): boolean {
  return kind === 'everything' ? EVERYTHING_ID.test(id) : FHIR_ID.test(id);
}

/**
 * Checks that a `_page` cursor names an item a `kind` page can hold, before anything is decided
 * or fetched: a forged cursor is a 400 OperationOutcome naming `_page`, never a remote query.
 */
export function checkPageCursorId(kind: PagedKind, cursor: Cursor): Cursor {
  if (!isPageCursorId(kind, cursor.id)) {
    const form = cursor.sort === EVERYTHING_SORT ? 'Type/id' : 'a resource id';
    throw new FhirError(
      badRequest(`Invalid _page cursor: its id is not ${form}; use the next link of a searchset Bundle`, '_page'),
    );
  }
  return cursor;
}
