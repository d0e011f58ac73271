/**
 * Outstanding sign-in challenges, in memory: single use, expiring, and bounded (the oldest is
 * dropped when the store is full, so a flood of challenge requests costs memory only up to the
 * bound). A node restart forgets them all, which only means signing in again.
 */
import { constantTimeEqual, fromBase64Url, randomBytes, sha256Hex, toBase64Url } from '../../crypto/index.js';

/** Bytes of randomness in a nonce. */
export const NONCE_BYTES = 32;
/** Characters of a nonce in base64url without padding. */
export const NONCE_LENGTH = 43;

interface Entry {
  readonly did: string;
  readonly nonce: Uint8Array;
  readonly expiresAt: number;
}

export interface IssuedChallenge {
  /** base64url of NONCE_BYTES random bytes. */
  readonly nonce: string;
  /** ms since the epoch. */
  readonly expiresAt: number;
}

export class ChallengeStore {
  /**
   * Keyed by SHA-256 of the nonce, in issue order (a Map keeps insertion order, so the first
   * entries are the oldest). Looking up by a hash of what the caller sent means the lookup's
   * timing says nothing about stored nonces; the nonce itself is then compared in constant time.
   */
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxOutstanding: number,
  ) {
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0)
      throw new RangeError(`"ttlMs" expected a positive integer, got ${ttlMs}`);
    if (!Number.isSafeInteger(maxOutstanding) || maxOutstanding <= 0) {
      throw new RangeError(`"maxOutstanding" expected a positive integer, got ${maxOutstanding}`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** A new challenge for `did`, issued at `now` (ms). */
  issue(did: string, now: number): IssuedChallenge {
    this.prune(now);
    while (this.entries.size >= this.maxOutstanding) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    const nonce = randomBytes(NONCE_BYTES);
    const expiresAt = now + this.ttlMs;
    this.entries.set(sha256Hex(nonce), { did, nonce, expiresAt });
    return { nonce: toBase64Url(nonce), expiresAt };
  }

  /**
   * Consumes the challenge `nonce` of `did`: true when it was issued for `did` and has not expired
   * at `now`. A challenge that is named is removed whatever the outcome: one attempt per nonce.
   */
  take(did: string, nonce: string, now: number): boolean {
    if (typeof nonce !== 'string' || nonce.length !== NONCE_LENGTH) return false;
    let presented: Uint8Array;
    try {
      presented = fromBase64Url(nonce);
    } catch {
      return false;
    }
    const key = sha256Hex(presented);
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    return constantTimeEqual(entry.nonce, presented) && entry.did === did && now < entry.expiresAt;
  }

  /** Drops expired entries from the oldest on (entries share one lifetime, so they expire in order). */
  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now < entry.expiresAt) break;
      this.entries.delete(key);
    }
  }
}
