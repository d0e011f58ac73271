/**
 * State keys by folder. A folder is a prefix of a key that ends in '/' (`idx/`,
 * `idx/org-grant/`, `idx/org-grant/<org>/`, …): the prefixes contracts range over for every
 * transaction (a patient's grants, its epoch). Looking up the keys under a folder instead of
 * scanning every write keeps execution linear in the size of a block, and tells a cache which
 * ranges a write changes.
 */

/** Whether a range prefix is a folder (ends in '/'), so `FolderIndex` can answer for it. */
export function isFolder(prefix: string): boolean {
  return prefix.endsWith('/');
}

/** Calls `visit` with every folder `key` lies in, outermost first. */
export function forEachFolderOf(key: string, visit: (folder: string) => void): void {
  for (let at = key.indexOf('/'); at !== -1; at = key.indexOf('/', at + 1)) visit(key.slice(0, at + 1));
}

const NO_KEYS: ReadonlySet<string> = new Set();

/** The keys added so far, by each folder they lie in. */
export class FolderIndex {
  private readonly keysByFolder = new Map<string, Set<string>>();

  add(key: string): void {
    forEachFolderOf(key, (folder) => {
      let keys = this.keysByFolder.get(folder);
      if (keys === undefined) this.keysByFolder.set(folder, (keys = new Set()));
      keys.add(key);
    });
  }

  /** Every added key under `folder` (at any depth). */
  keysUnder(folder: string): ReadonlySet<string> {
    return this.keysByFolder.get(folder) ?? NO_KEYS;
  }
}

/** What readers of a finished index use. */
export type FolderLookup = Pick<FolderIndex, 'keysUnder'>;
