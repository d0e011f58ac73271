import { forEachFolderOf, isFolder } from './folder-index.js';
import type { StateSource } from './state-view.js';

/** Entries kept before the cache starts over; a party or grant record is a few hundred bytes. */
export const STATE_CACHE_MAX_ENTRIES = 200_000;
/** Rows of cached folder ranges kept before that cache starts over (index rows are small). */
export const RANGE_CACHE_MAX_ROWS = 200_000;

/**
 * Read-through cache of committed world state (raw canonical JSON, and misses), and of the
 * ranges over folders (see `folder-index.ts`) that contracts read for every transaction — a
 * patient's grants for its epoch and for a covering grant: two SQLite range queries per record
 * anchor otherwise. Every write reaches the store through a committed block, and `apply` is called
 * with each block's writes right after its commit, so the cache never serves a value the store no
 * longer holds: a written key is cached with its new value (what was just written is what the next
 * transactions read: a grant, then the anchors under it) and updated in the cached range of every
 * folder it lies in. (A read that races a commit on the writer thread caches either the old or the
 * new state; `apply` then brings it to the new one.) When full, the oldest entries go first.
 */
export class CachedStateSource implements StateSource {
  private readonly cache = new Map<string, string | null>();
  /** Folder → its rows in key order (kept up to date by `apply`). */
  private readonly ranges = new Map<string, Array<[string, string]>>();
  private rangeRows = 0;

  constructor(
    private readonly source: StateSource,
    private readonly maxEntries = STATE_CACHE_MAX_ENTRIES,
    private readonly maxRangeRows = RANGE_CACHE_MAX_ROWS,
  ) {}

  get(key: string): string | undefined {
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const value = this.source.get(key);
    this.remember(key, value ?? null);
    return value;
  }

  range(prefix: string): Array<[string, string]> {
    // Only folders are cached: a write names the folders it lies in, not every prefix.
    if (!isFolder(prefix)) return this.source.range(prefix);
    const cached = this.ranges.get(prefix);
    // A copy: callers own the array they get.
    if (cached !== undefined) return cached.slice();
    const rows = this.source.range(prefix);
    while (this.ranges.size > 0 && this.rangeRows + rows.length > this.maxRangeRows) this.dropRange(this.ranges.keys().next().value!);
    // In JavaScript's string order, as `updateRange` searches (SQLite's differs past U+FFFF).
    this.ranges.set(prefix, rows.slice().sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
    this.rangeRows += rows.length;
    return rows;
  }

  /** Records a committed block's writes (null = deleted). */
  apply(writes: ReadonlyMap<string, string | null>): void {
    for (const [key, value] of writes) {
      this.remember(key, value);
      if (this.ranges.size > 0) forEachFolderOf(key, (folder) => this.updateRange(folder, key, value));
    }
  }

  private remember(key: string, value: string | null): void {
    // Map order is insertion order: the first key is the oldest.
    if (!this.cache.has(key) && this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, value);
  }

  /** Puts a written key into the cached range of `folder` (sorted by key), or takes it out. */
  private updateRange(folder: string, key: string, value: string | null): void {
    const rows = this.ranges.get(folder);
    if (rows === undefined) return;
    let low = 0;
    let high = rows.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (rows[middle]![0] < key) low = middle + 1;
      else high = middle;
    }
    const present = low < rows.length && rows[low]![0] === key;
    if (value === null) {
      if (present) {
        rows.splice(low, 1);
        this.rangeRows--;
      }
    } else if (present) rows[low] = [key, value];
    else {
      rows.splice(low, 0, [key, value]);
      this.rangeRows++;
    }
  }

  private dropRange(folder: string): void {
    const rows = this.ranges.get(folder);
    if (rows === undefined) return;
    this.rangeRows -= rows.length;
    this.ranges.delete(folder);
  }
}
