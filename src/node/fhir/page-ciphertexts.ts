/**
 * The ciphertexts of a search page's candidates, read from the vault a window at a time: the
 * entries the page still needs are read in one statement (`Vault.readCiphertexts`) instead of two
 * lookups each, and nothing past them is read. Decrypting stays one candidate at a time, in
 * order, so a page still decrypts only what it may show (issue 14 §4: a page's cost follows its
 * size, not the patient's or the node's).
 */
import type { FhirResourceRow } from '../../store/index.js';
import { versionKey } from '../../store/index.js';
import type { RecordCiphertext, Vault } from '../../vault/index.js';

/**
 * A page's ciphertexts (see the module comment).
 *
 * @example
 * const window = new PageCiphertexts(vault, candidates.map((c) => c.row));
 * const ciphertext = window.at(i, pageSize + 1 - shown); // reads i … i+need-1 when i is past the window
 */
export class PageCiphertexts {
  private read = new Map<string, RecordCiphertext>();
  /** Candidates before this index have been read already. */
  private readUpTo = 0;

  constructor(
    private readonly vault: Pick<Vault, 'readCiphertexts'>,
    /** The candidates in page order: a row kept here, or undefined (another custodian's record). */
    private readonly rows: readonly (FhirResourceRow | undefined)[],
  ) {}

  /**
   * The ciphertext of candidate `i` (undefined when it is another custodian's, or its version is
   * no longer kept: erased meanwhile). Past the window read so far, it first reads the next
   * `need` candidates (at least one) from `i` on.
   */
  at(i: number, need: number): RecordCiphertext | undefined {
    if (i >= this.readUpTo) {
      this.readUpTo = i + Math.max(1, need);
      const refs = this.rows.slice(i, this.readUpTo).filter((row) => row !== undefined);
      this.read = this.vault.readCiphertexts(refs);
    }
    const row = this.rows[i];
    return row === undefined ? undefined : this.read.get(versionKey(row));
  }
}
