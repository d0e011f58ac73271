/**
 * The ledger state as the FHIR service reads it (access decisions, record keys, parties, record
 * anchors), through a cache that lives for one ledger head: when a block commits, the head moves
 * and the whole cache is dropped before the next read. So a request decides on the state of the
 * committed head, exactly as when it read the store, without paying a SQLite lookup and a JSON
 * parse for each grant, party and anchor that every request reads again (an audited read asks
 * for the same grants three times: access, record keys, audit).
 *
 * Cached values are deep-frozen, because they are shared between requests: code that changed one
 * would change what the next request decides on (strict mode makes such a write throw).
 */
import type { StateReader } from '../../contracts/index.js';

/** What the cache reads of the ledger: its committed head and state. */
export interface HeadStateSource {
  /** Height of the last committed block (it moves once the block is durable and announced). */
  readonly height: number;
  getState<T>(key: string): T | undefined;
  rangeState<T>(prefix: string): Array<[string, T]>;
  /** Many keys in one read (`get` per key without it). */
  getStates?<T>(keys: readonly string[]): Map<string, T>;
}

/** Most entries (values, and range rows) kept for one head before the cache starts over. */
export const HEAD_STATE_CACHE_ENTRIES = 100_000;
/** Longer ranges (e.g. a patient's whole audit trail) are read from the ledger every time. */
export const HEAD_STATE_CACHED_RANGE_ROWS = 2_000;

/**
 * A StateReader cached per ledger head (see the module comment).
 *
 * @example
 * const state = new HeadStateCache(ledger);
 * const grant = state.get<GrantRecord>(StateKey.grant(id)); // read once per block
 */
export class HeadStateCache implements StateReader {
  private height: number | undefined;
  private readonly values = new Map<string, unknown>();
  private readonly ranges = new Map<string, ReadonlyArray<readonly [string, unknown]>>();
  private entries = 0;

  constructor(
    private readonly ledger: HeadStateSource,
    private readonly maxEntries = HEAD_STATE_CACHE_ENTRIES,
  ) {}

  get<T>(key: string): T | undefined {
    this.followHead();
    if (this.values.has(key)) return this.values.get(key) as T | undefined;
    const value = deepFreeze(this.ledger.getState<T>(key));
    this.makeRoom(1);
    this.values.set(key, value);
    return value;
  }

  /**
   * As `get` for each of `keys`, the ones not cached read from the ledger in one query (a
   * roaming answer's hundreds of anchors, after a block moved the head).
   */
  getMany<T>(keys: readonly string[]): Map<string, T | undefined> {
    this.followHead();
    const out = new Map<string, T | undefined>();
    const missing: string[] = [];
    for (const key of keys) {
      if (this.values.has(key)) out.set(key, this.values.get(key) as T | undefined);
      else missing.push(key);
    }
    if (missing.length === 0) return out;
    const { ledger } = this;
    const read = ledger.getStates === undefined ? undefined : ledger.getStates<T>(missing);
    this.makeRoom(missing.length);
    for (const key of missing) {
      const value = deepFreeze(read === undefined ? ledger.getState<T>(key) : read.get(key));
      this.values.set(key, value);
      out.set(key, value);
    }
    return out;
  }

  range<T>(prefix: string): Array<[string, T]> {
    this.followHead();
    let rows = this.ranges.get(prefix) as ReadonlyArray<readonly [string, T]> | undefined;
    if (rows === undefined) {
      const read = this.ledger.rangeState<T>(prefix);
      if (read.length > HEAD_STATE_CACHED_RANGE_ROWS) return read;
      rows = read.map(([key, value]) => Object.freeze([key, deepFreeze(value)] as const));
      this.makeRoom(rows.length + 1);
      this.ranges.set(prefix, rows);
    }
    // A fresh array each time: the caller may sort or filter it; the rows themselves are frozen.
    return [...rows] as Array<[string, T]>;
  }

  /** Drops everything when a block has committed since the cache was filled. */
  private followHead(): void {
    const height = this.ledger.height;
    if (height === this.height) return;
    this.clear();
    this.height = height;
  }

  private makeRoom(entries: number): void {
    if (this.entries + entries > this.maxEntries) this.clear();
    this.entries += entries;
  }

  private clear(): void {
    this.values.clear();
    this.ranges.clear();
    this.entries = 0;
  }
}

/** `value` with every object and array in it frozen (JSON values: no cycles). */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const child of Object.values(value)) deepFreeze(child);
  return Object.freeze(value);
}
