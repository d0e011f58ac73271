/**
 * A Bloom filter over the (signer, nonce) pairs that committed blocks spent, keyed by the store's
 * 48-bit nonce key (a SHA-256 prefix). Every admitted transaction and every transaction another
 * node ordered is checked for replay; nearly all are fresh, and asking SQLite costs a read
 * transaction on a file another thread writes all the time (its page cache starts over after
 * every commit). A filter says "certainly not spent" without the file; "maybe" still asks the
 * store, so an answer is never wrong, only sometimes slower.
 */

/** Filter bits per spent pair when (re)built: 3 probes give ~0.07 % false "maybe" answers. */
const BITS_PER_ITEM = 32;
/** Rebuilt twice as large once it holds more than one item per this many bits (~0.5 % then). */
const MIN_BITS_PER_ITEM = 16;
const MIN_BITS = 2 ** 20;
/**
 * 8 MiB at most: ~2 million pairs at the best rate; past that the "maybe" answers grow (~5 % at
 * 10 million), each costing the store lookup every check cost before.
 */
const MAX_BITS = 2 ** 26;
const PROBES = 3;

export class SpentNonceFilter {
  private bits: Uint8Array;
  private mask: number;
  private items = 0;

  /**
   * @param source every nonce key spent so far (the store's `spentNonceKeys`), read again when the
   * filter grows.
   */
  constructor(private readonly source: () => Iterable<number>) {
    ({ bits: this.bits, mask: this.mask } = SpentNonceFilter.allocate(0));
    this.rebuild();
  }

  /** False only when no committed block spent the pair with this key. */
  mayContain(nonceKey: number): boolean {
    const { first, step } = probesOf(nonceKey);
    for (let i = 0; i < PROBES; i++) {
      const bit = (first + i * step) & this.mask;
      if ((this.bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }

  /** Records a pair a durable block spent. */
  add(nonceKey: number): void {
    this.set(nonceKey);
    this.items++;
    const size = this.bits.length * 8;
    if (size < MAX_BITS && this.items * MIN_BITS_PER_ITEM > size) this.rebuild();
  }

  private set(nonceKey: number): void {
    const { first, step } = probesOf(nonceKey);
    for (let i = 0; i < PROBES; i++) {
      const bit = (first + i * step) & this.mask;
      this.bits[bit >>> 3]! |= 1 << (bit & 7);
    }
  }

  private rebuild(): void {
    const keys = [...this.source()];
    ({ bits: this.bits, mask: this.mask } = SpentNonceFilter.allocate(keys.length));
    for (const key of keys) this.set(key);
    this.items = keys.length;
  }

  private static allocate(items: number): { bits: Uint8Array; mask: number } {
    let size = MIN_BITS;
    while (size < MAX_BITS && size < items * BITS_PER_ITEM) size *= 2;
    return { bits: new Uint8Array(size / 8), mask: size - 1 };
  }
}

/**
 * Double hashing (Kirsch–Mitzenmacher) from the 48-bit key: its low 26 bits and its high 22 bits
 * (odd, so the probes differ). Their sums stay below 2^31, as the bit operations need.
 */
function probesOf(nonceKey: number): { first: number; step: number } {
  return { first: nonceKey % MAX_BITS, step: Math.floor(nonceKey / MAX_BITS) | 1 };
}
