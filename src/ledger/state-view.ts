import { canonicalJson } from '../crypto/index.js';
import { FolderIndex, isFolder, type FolderLookup } from './folder-index.js';
import { folderKeys, overlayFolderPage, type FolderPageReader } from './folder-keys.js';
import { GrantTouches, withTouchedGrants } from './revoked-grants.js';

/** Read access to committed world state (values are canonical JSON text). */
export interface StateSource {
  get(key: string): string | undefined;
  range(prefix: string): Array<[string, string]>;
  /**
   * A patient's revoked grant ids, from an index kept beside the state (see `revoked-grants.ts`);
   * absent, or undefined, when this source keeps none (readers scan the grant folder instead).
   */
  revokedGrantsOf?(patient: string): ReadonlySet<string> | undefined;
  /** A page of a folder's keys (see `folder-keys.ts`); absent when this source reads whole ranges only. */
  folderPage?: FolderPageReader;
}

/**
 * World state during the execution of one block: committed state, overlaid by the writes of the
 * block's earlier transactions, overlaid by the current transaction's writes (dropped when the
 * transaction is rejected).
 */
export class BlockStateView {
  private readonly blockWrites = new Map<string, string | null>();
  /**
   * The keys of `blockWrites` by folder. Contracts range over folders for every transaction (a
   * patient's grants, its epoch); scanning the whole block's write-set each time made a block's
   * execution quadratic in its size.
   */
  private readonly blockFolders = new FolderIndex();
  private txWrites = new Map<string, string | null>();
  /** The grants the block's and the transaction's writes touch, by patient (see `revokedGrantsOf`). */
  private readonly blockGrantTouches = new GrantTouches();
  private txGrantTouches = new GrantTouches();

  constructor(private readonly source: StateSource) {}

  getRaw(key: string): string | undefined {
    const pending = this.txWrites.has(key) ? this.txWrites.get(key) : this.blockWrites.get(key);
    if (pending === null) return undefined;
    if (pending !== undefined) return pending;
    return this.source.get(key);
  }

  get<T>(key: string): T | undefined {
    const raw = this.getRaw(key);
    // Parsed afresh on every read so a contract can never mutate what another one sees.
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  put(key: string, value: unknown): void {
    const text = canonicalJson(value);
    this.txWrites.set(key, text);
    this.txGrantTouches.note(key, text);
  }

  del(key: string): void {
    this.txWrites.set(key, null);
    this.txGrantTouches.note(key, null);
  }

  /**
   * The patient's revoked grant ids as of this point of the block: the source's index, with the
   * grants this block and transaction wrote re-decided here. Undefined when the source keeps no
   * index (or a write could not be placed): then the caller scans the grant folder.
   */
  revokedGrantsOf(patient: string): ReadonlySet<string> | undefined {
    if (this.blockGrantTouches.unknown || this.txGrantTouches.unknown) return undefined;
    const base = this.source.revokedGrantsOf?.(patient);
    if (base === undefined) return undefined;
    const touched = [...this.blockGrantTouches.idsOf(patient), ...this.txGrantTouches.idsOf(patient)];
    return touched.length === 0 ? base : withTouchedGrants(base, touched, patient, (key) => this.getRaw(key));
  }

  range<T>(prefix: string): Array<[string, T]> {
    const merged = new Map<string, string | null>(this.source.range(prefix));
    if (isFolder(prefix)) {
      for (const key of this.blockFolders.keysUnder(prefix)) merged.set(key, this.blockWrites.get(key)!);
    } else {
      for (const [key, value] of this.blockWrites) if (key.startsWith(prefix)) merged.set(key, value);
    }
    for (const [key, value] of this.txWrites) if (key.startsWith(prefix)) merged.set(key, value);
    const out: Array<[string, T]> = [];
    for (const [key, value] of merged) if (value !== null) out.push([key, JSON.parse(value) as T]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /**
   * The folder's keys as of this point, read a page at a time from the source (a caller that stops
   * early reads no further); undefined when the source cannot page (then range over the folder).
   */
  folderKeys(folder: string): Iterable<string> | undefined {
    const source = this.source;
    if (source.folderPage === undefined || !isFolder(folder)) return undefined;
    const pendingValue = (key: string): string | null | undefined =>
      this.txWrites.has(key) ? this.txWrites.get(key) : this.blockWrites.get(key);
    const read: FolderPageReader = (f, after, limit) => {
      const pendingKeys = [...this.blockFolders.keysUnder(f)];
      for (const key of this.txWrites.keys()) if (key.startsWith(f)) pendingKeys.push(key);
      return overlayFolderPage({ lower: source.folderPage!(f, after, limit), after, pendingKeys, pendingValue });
    };
    return folderKeys(read, folder);
  }

  commitTx(): void {
    for (const [key, value] of this.txWrites) {
      if (!this.blockWrites.has(key)) this.blockFolders.add(key);
      this.blockWrites.set(key, value);
    }
    this.txWrites = new Map();
    this.blockGrantTouches.merge(this.txGrantTouches);
    this.txGrantTouches = new GrantTouches();
  }

  rollbackTx(): void {
    this.txWrites = new Map();
    this.txGrantTouches = new GrantTouches();
  }

  /** The block's write-set, sorted by key. */
  writeSet(): Array<[string, string | null]> {
    return [...this.blockWrites].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  get writes(): ReadonlyMap<string, string | null> {
    return this.blockWrites;
  }

  /** The keys of `writes` by folder (what a later block's state overlay ranges over). */
  get writeFolders(): FolderLookup {
    return this.blockFolders;
  }
}
