import type { StateSource } from './state-view.js';

/** Entries kept before the cache starts over; a party or grant record is a few hundred bytes. */
export const STATE_CACHE_MAX_ENTRIES = 200_000;

/**
 * Read-through cache of committed world state (raw canonical JSON, and misses). Every write
 * reaches the store through a committed block, and `apply` is called with each block's writes
 * right after its commit, so the cache never serves a value the store no longer holds.
 */
export class CachedStateSource implements StateSource {
  private readonly cache = new Map<string, string | null>();

  constructor(
    private readonly source: StateSource,
    private readonly maxEntries = STATE_CACHE_MAX_ENTRIES,
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
    return this.source.range(prefix);
  }

  /** Records a committed block's writes (null = deleted). */
  apply(writes: ReadonlyMap<string, string | null>): void {
    for (const [key, value] of writes) if (this.cache.has(key)) this.cache.set(key, value);
  }
}
