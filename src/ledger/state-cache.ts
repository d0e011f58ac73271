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
 * longer holds: a written key updates its cached value and drops the cached range of every folder
 * it lies in. (A read that races a commit on the writer thread caches either the old or the new
 * state; `apply` then brings it to the new one.)
 */
export class CachedStateSource implements StateSource {
  private readonly cache = new Map<string, string | null>();
  private readonly ranges = new Map<string, ReadonlyArray<[string, string]>>();
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
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(key, value ?? null);
    return value;
  }

  range(prefix: string): Array<[string, string]> {
    // Only folders are cached: a write names the folders it lies in, not every prefix.
    if (!isFolder(prefix)) return this.source.range(prefix);
    const cached = this.ranges.get(prefix);
    // A copy: callers own the array they get.
    if (cached !== undefined) return cached.slice();
    const rows = this.source.range(prefix);
    if (this.rangeRows + rows.length > this.maxRangeRows) {
      this.ranges.clear();
      this.rangeRows = 0;
    }
    this.ranges.set(prefix, rows.slice());
    this.rangeRows += rows.length;
    return rows;
  }

  /** Records a committed block's writes (null = deleted). */
  apply(writes: ReadonlyMap<string, string | null>): void {
    for (const [key, value] of writes) {
      if (this.cache.has(key)) this.cache.set(key, value);
      if (this.ranges.size > 0) forEachFolderOf(key, (folder) => this.dropRange(folder));
    }
  }

  private dropRange(folder: string): void {
    const rows = this.ranges.get(folder);
    if (rows === undefined) return;
    this.rangeRows -= rows.length;
    this.ranges.delete(folder);
  }
}
