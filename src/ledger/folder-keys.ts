/**
 * The keys of a folder read a page at a time, so that a contract looking for the first key that
 * qualifies stops reading there. `findCoveringGrant` ranged over all of a patient's grants to an
 * organization for every record anchor, and usually takes the first: with 264 grants per patient
 * (the 568k-transaction bench ledger) each anchor read 264 index rows, mostly from SQLite (the
 * range cache cannot hold every busy patient's folders).
 *
 * Keys are compared as JavaScript strings (UTF-16 code units), as `BlockStateView.range` sorts,
 * while SQLite orders by bytes: the two agree on every key below U+D800, which state keys under
 * the folders read this way are (DIDs, and ids of `[A-Za-z0-9_-]`).
 */

/**
 * One page of a folder's keys: every key under the folder in (`after`, `next`], ascending —
 * (`after`, end) when `next` is undefined (the last page). A page may be empty while `next` is
 * defined (its keys were deleted above the layer that read them): read on after `next`.
 */
export interface FolderPage {
  readonly keys: readonly string[];
  readonly next: string | undefined;
}

/** A layer's reader of folder pages (`after` undefined: from the folder's start). */
export type FolderPageReader = (folder: string, after: string | undefined, limit: number) => FolderPage;

/** First page size; each next page doubles it, so a full scan takes O(log n) reads. */
const FIRST_PAGE_KEYS = 4;
const MAX_PAGE_KEYS = 1024;

/** The folder's keys in order, read lazily: stop iterating and no further page is read. */
export function* folderKeys(read: FolderPageReader, folder: string): Generator<string, void, undefined> {
  let after: string | undefined;
  let limit = FIRST_PAGE_KEYS;
  for (;;) {
    const page = read(folder, after, limit);
    yield* page.keys;
    if (page.next === undefined) return;
    after = page.next;
    limit = Math.min(limit * 2, MAX_PAGE_KEYS);
  }
}

/**
 * A page of the state below overlaid by pending writes (a block's, or in-flight blocks'): the
 * lower page's keys plus the pending keys in the same interval, minus pending deletions, sorted.
 * `pendingValue` answers the newest pending value of a key (null = deleted, undefined = none).
 */
export function overlayFolderPage(options: {
  readonly lower: FolderPage;
  readonly after: string | undefined;
  readonly pendingKeys: Iterable<string>;
  readonly pendingValue: (key: string) => string | null | undefined;
}): FolderPage {
  const { lower, after } = options;
  const inPage = (key: string): boolean => (after === undefined || key > after) && (lower.next === undefined || key <= lower.next);
  const keys = new Set<string>();
  for (const key of lower.keys) if (options.pendingValue(key) !== null) keys.add(key);
  for (const key of options.pendingKeys) {
    if (inPage(key) && options.pendingValue(key) !== null) keys.add(key);
  }
  return { keys: [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), next: lower.next };
}

/** A page cut from a whole folder's rows, sorted by key. */
export function pageOfSortedRows(rows: ReadonlyArray<readonly [string, unknown]>, after: string | undefined, limit: number): FolderPage {
  let low = 0;
  if (after !== undefined) {
    let high = rows.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (rows[middle]![0] <= after) low = middle + 1;
      else high = middle;
    }
  }
  const keys = rows.slice(low, low + limit).map(([key]) => key);
  return { keys, next: low + limit < rows.length ? keys[keys.length - 1] : undefined };
}
