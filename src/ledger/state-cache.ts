import { forEachFolderOf, isFolder } from './folder-index.js';
import { pageOfSortedRows, type FolderPage } from './folder-keys.js';
import { RevokedGrantIndex } from './revoked-grants.js';
import type { StateSource } from './state-view.js';

/**
 * Bytes of cached values (with their keys) kept by default: ~80k party, grant or record entries.
 * The cache was bounded by entries (200,000) before; at a 100k-transaction ledger that was ~85 MB
 * of the node's heap and, with the ranges, ~125 MB, for a working set that is far smaller (the
 * grants and parties of the patients being written, the records just anchored).
 */
export const STATE_CACHE_MAX_BYTES = 32 * 2 ** 20;
/** Bytes of cached folder ranges kept by default (index rows are ~150 bytes). */
export const RANGE_CACHE_MAX_BYTES = 16 * 2 ** 20;
/**
 * What V8 spends on one cached entry or range row besides its characters (a Map slot or a
 * [key, value] array, and two string headers). Characters count one byte each: state is canonical
 * JSON of DIDs, hashes and codes, which V8 stores one byte per character.
 */
const ENTRY_OVERHEAD_BYTES = 64;
/**
 * A full cache evicts down to this fraction of its budget at once, in one pass of a Map iterator.
 * Evicting one entry per miss (`keys().next()` each time) made every miss of a full cache
 * O(entries): a Map iterator starts at the first slot and steps over every slot freed since the
 * table was last rebuilt. The larger the ledger, the more misses, the slower each transaction.
 */
const EVICT_TO_FRACTION = 0.9;

/**
 * A cached value or range and whether it was read since the last eviction pass looked at it.
 * Recency is this flag, not the Map's order: moving an entry to the end on each hit (delete, then
 * set) leaves a freed slot in the key's hash chain every time, so a hot key (an organization, read
 * for every anchor) was looked up through thousands of its own dead slots until the next rehash.
 * An eviction pass gives a flagged entry a second chance (moved to the end, unflagged) instead —
 * the CLOCK approximation of least-recently-used.
 */
interface Slot<T> {
  value: T;
  used: boolean;
}

/** Bounds of a `CachedStateSource`, in (estimated) bytes of heap. */
export interface StateCacheLimits {
  /** Values and misses, with their keys. */
  readonly maxBytes: number;
  /** Rows of cached folder ranges. */
  readonly maxRangeBytes: number;
}

/**
 * Read-through cache of committed world state (raw canonical JSON, and misses), and of the
 * ranges over folders (see `folder-index.ts`) that contracts read for every transaction — a
 * patient's grants for its epoch and for a covering grant: two SQLite range queries per record
 * anchor otherwise. Every write reaches the store through a committed block, and `apply` is called
 * with each block's writes right after its commit, so the cache never serves a value the store no
 * longer holds: a written key is cached with its new value (what was just written is what the next
 * transactions read: a grant, then the anchors under it) and updated in the cached range of every
 * folder it lies in. (A read that races a commit on the writer thread caches either the old or the
 * new state; `apply` then brings it to the new one.) Both caches are bounded by bytes, not entries,
 * so that the node's memory does not grow with its ledger: when full, the least recently used
 * entries go first.
 */
export class CachedStateSource implements StateSource {
  /** Key → value; Map order is insertion order, with a second chance for entries read since (see `Slot`). */
  private readonly cache = new Map<string, Slot<string | null>>();
  private cacheBytes = 0;
  /** Folder → its rows in key order (kept up to date by `apply`), evicted as `cache`. */
  private readonly ranges = new Map<string, Slot<Array<[string, string]>>>();
  private rangeBytes = 0;
  private readonly limits: StateCacheLimits;
  /** Revoked grants by patient, read through this cache and kept up to date by `apply`. */
  private readonly revokedGrants = new RevokedGrantIndex(this);

  constructor(
    private readonly source: StateSource,
    limits: Partial<StateCacheLimits> = {},
  ) {
    this.limits = { maxBytes: STATE_CACHE_MAX_BYTES, maxRangeBytes: RANGE_CACHE_MAX_BYTES, ...limits };
  }

  revokedGrantsOf(patient: string): ReadonlySet<string> {
    return this.revokedGrants.revokedGrantsOf(patient);
  }

  /** Estimated heap bytes held now (values, ranges). */
  get bytes(): { values: number; ranges: number } {
    return { values: this.cacheBytes, ranges: this.rangeBytes };
  }

  get(key: string): string | undefined {
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      cached.used = true;
      return cached.value ?? undefined;
    }
    const value = this.source.get(key);
    this.remember(key, value ?? null);
    return value;
  }

  range(prefix: string): Array<[string, string]> {
    // Only folders are cached: a write names the folders it lies in, not every prefix.
    if (!isFolder(prefix)) return this.source.range(prefix);
    const cached = this.ranges.get(prefix);
    if (cached !== undefined) {
      cached.used = true;
      // A copy: callers own the array they get.
      return cached.value.slice();
    }
    const rows = this.source.range(prefix);
    const bytes = rows.reduce((sum, [key, value]) => sum + entryBytes(key, value), 0);
    // A range larger than the whole budget (an outer folder) would only push out the others.
    if (bytes > this.limits.maxRangeBytes) return rows;
    if (this.rangeBytes + bytes > this.limits.maxRangeBytes) this.evictRanges(this.limits.maxRangeBytes * EVICT_TO_FRACTION - bytes);
    // In JavaScript's string order, as `updateRange` searches (SQLite's differs past U+FFFF).
    this.ranges.set(prefix, { value: rows.slice().sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)), used: false });
    this.rangeBytes += bytes;
    return rows;
  }

  /**
   * A page of a folder's keys: from the cached range when there is one, else from the source
   * (not cached: a reader that stops after a few keys should not load the whole folder), else
   * from the whole range.
   */
  folderPage(folder: string, after: string | undefined, limit: number): FolderPage {
    const cached = this.ranges.get(folder);
    if (cached !== undefined) {
      cached.used = true;
      return pageOfSortedRows(cached.value, after, limit);
    }
    if (this.source.folderPage !== undefined) return this.source.folderPage(folder, after, limit);
    return pageOfSortedRows(
      this.range(folder).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
      after,
      Number.MAX_SAFE_INTEGER,
    );
  }

  /** Records a committed block's writes (null = deleted). */
  apply(writes: ReadonlyMap<string, string | null>): void {
    for (const [key, value] of writes) {
      this.remember(key, value);
      if (this.ranges.size > 0) forEachFolderOf(key, (folder) => this.updateRange(folder, key, value));
    }
    // The writes may have grown cached ranges past their budget.
    if (this.rangeBytes > this.limits.maxRangeBytes) this.evictRanges(this.limits.maxRangeBytes * EVICT_TO_FRACTION);
    // After the values: the index re-reads the grants the block touched through this cache.
    this.revokedGrants.apply(writes);
  }

  private remember(key: string, value: string | null): void {
    const previous = this.cache.get(key);
    if (previous !== undefined) {
      // Updated in place: what was just written is what the next transactions read.
      this.cacheBytes += entryBytes(key, value) - entryBytes(key, previous.value);
      previous.value = value;
      previous.used = true;
    } else {
      this.cache.set(key, { value, used: false });
      this.cacheBytes += entryBytes(key, value);
    }
    if (this.cacheBytes > this.limits.maxBytes) this.evictValues(this.limits.maxBytes * EVICT_TO_FRACTION);
  }

  /** Drops values, oldest unread first, until at most `bytes` remain (one pass: see EVICT_TO_FRACTION and `Slot`). */
  private evictValues(bytes: number): void {
    for (const [key, slot] of this.cache) {
      if (this.cacheBytes <= bytes) break;
      this.cache.delete(key);
      // Read since the last pass: a second chance at the end (the iterator meets it again, unflagged).
      if (slot.used) {
        slot.used = false;
        this.cache.set(key, slot);
      } else this.cacheBytes -= entryBytes(key, slot.value);
    }
  }

  /** Drops ranges, oldest unread first, until at most `bytes` remain (one pass). */
  private evictRanges(bytes: number): void {
    for (const [folder, slot] of this.ranges) {
      if (this.rangeBytes <= bytes) break;
      if (slot.used) {
        slot.used = false;
        this.ranges.delete(folder);
        this.ranges.set(folder, slot);
      } else this.dropRange(folder);
    }
  }

  /** Puts a written key into the cached range of `folder` (sorted by key), or takes it out. */
  private updateRange(folder: string, key: string, value: string | null): void {
    const rows = this.ranges.get(folder)?.value;
    if (rows === undefined) return;
    let low = 0;
    let high = rows.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (rows[middle]![0] < key) low = middle + 1;
      else high = middle;
    }
    const present = low < rows.length && rows[low]![0] === key;
    if (present) {
      this.rangeBytes -= entryBytes(key, rows[low]![1]);
      if (value === null) rows.splice(low, 1);
      else rows[low] = [key, value];
    } else if (value !== null) rows.splice(low, 0, [key, value]);
    if (value !== null) this.rangeBytes += entryBytes(key, value);
  }

  private dropRange(folder: string): void {
    const rows = this.ranges.get(folder)?.value;
    if (rows === undefined) return;
    for (const [key, value] of rows) this.rangeBytes -= entryBytes(key, value);
    this.ranges.delete(folder);
  }
}

/** Estimated heap bytes of one cached entry or range row (see ENTRY_OVERHEAD_BYTES). */
function entryBytes(key: string, value: string | null): number {
  return ENTRY_OVERHEAD_BYTES + key.length + (value?.length ?? 0);
}
