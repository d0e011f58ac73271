/**
 * Outstanding sign-in challenges, in memory: single use, expiring, and bounded twice: per DID
 * (that DID's oldest is dropped, so asking again and again for one DID cannot push out other
 * parties' challenges) and in all (the oldest is dropped, so a flood costs memory only up to the
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

export interface ChallengeStoreOptions {
  /** How long a challenge may be answered, in ms. */
  readonly ttlMs: number;
  /** Most challenges outstanding in all. */
  readonly maxOutstanding: number;
  /** Most challenges outstanding for one DID. */
  readonly maxOutstandingPerDid: number;
}

export class ChallengeStore {
  /**
   * Keyed by SHA-256 of the nonce, in issue order (a Map keeps insertion order, so the first
   * entries are the oldest). Looking up by a hash of what the caller sent means the lookup's
   * timing says nothing about stored nonces; the nonce itself is then compared in constant time.
   */
  private readonly entries = new Map<string, Entry>();
  /** The keys of `entries` of each DID, oldest first. */
  private readonly byDid = new Map<string, string[]>();
  private readonly ttlMs: number;
  private readonly maxOutstanding: number;
  private readonly maxOutstandingPerDid: number;

  constructor(options: ChallengeStoreOptions) {
    for (const name of ['ttlMs', 'maxOutstanding', 'maxOutstandingPerDid'] as const) {
      const value = options[name];
      if (!Number.isSafeInteger(value) || value <= 0)
        throw new RangeError(`"${name}" expected a positive integer, got ${value}`);
    }
    this.ttlMs = options.ttlMs;
    this.maxOutstanding = options.maxOutstanding;
    this.maxOutstandingPerDid = options.maxOutstandingPerDid;
  }

  /** Challenges outstanding for `did` (expired ones included until the next issue prunes them). */
  outstandingFor(did: string): number {
    return this.byDid.get(did)?.length ?? 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A new challenge for `did`, issued at `now` (ms). */
  issue(did: string, now: number): IssuedChallenge {
    this.prune(now);
    const own = this.byDid.get(did) ?? [];
    while (own.length >= this.maxOutstandingPerDid) {
      const oldest = own[0];
      if (oldest === undefined) break;
      this.delete(oldest);
    }
    while (this.entries.size >= this.maxOutstanding) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
    }
    const nonce = randomBytes(NONCE_BYTES);
    const expiresAt = now + this.ttlMs;
    const key = sha256Hex(nonce);
    this.entries.set(key, { did, nonce, expiresAt });
    const keys = this.byDid.get(did);
    if (keys === undefined) this.byDid.set(did, [key]);
    else keys.push(key);
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
    this.delete(key);
    return constantTimeEqual(entry.nonce, presented) && entry.did === did && now < entry.expiresAt;
  }

  /** Drops expired entries from the oldest on (entries share one lifetime, so they expire in order). */
  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now < entry.expiresAt) break;
      this.delete(key);
    }
  }

  /** Removes one entry from both maps. */
  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    const keys = this.byDid.get(entry.did);
    if (keys === undefined) return;
    const at = keys.indexOf(key);
    if (at >= 0) keys.splice(at, 1);
    if (keys.length === 0) this.byDid.delete(entry.did);
  }
}
