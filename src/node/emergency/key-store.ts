/**
 * The record keys a requesting node reconstructed under break-glass: kept in memory only, per
 * access, until the access's `end` (by this node's clock), then wiped. Never written to disk,
 * never logged; a restart forgets them (the releases stay on the ledger, so the node rebuilds
 * them while the access is still active).
 */
import type { RecordKeys } from '../fhir/grant-keys.js';

/** One access's keys. */
interface HeldKeys {
  readonly patient: string;
  readonly end: number;
  /** `<class>|<epoch>` → KEK. */
  readonly keys: Map<string, Uint8Array>;
  readonly timer: NodeJS.Timeout;
}

/** A record key opened from the escrow. */
export interface EscrowedRecordKey {
  readonly class: string;
  readonly epoch: number;
  readonly key: Uint8Array;
}

/**
 * Break-glass record keys of one node (see the module comment).
 *
 * @example
 * store.put({ access: id, patient, end, keys });
 * const keys = store.keysOf(patient); // empty once `end` passed
 */
export class EmergencyKeyStore {
  private readonly held = new Map<string, HeldKeys>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Keeps the keys of `access` until `end` (a second put for the same access is ignored). */
  put(entry: {
    readonly access: string;
    readonly patient: string;
    readonly end: number;
    readonly keys: readonly EscrowedRecordKey[];
  }): void {
    if (this.held.has(entry.access) || entry.end <= this.now()) return;
    const keys = new Map<string, Uint8Array>();
    for (const k of entry.keys) keys.set(`${k.class}|${k.epoch}`, k.key);
    // setTimeout holds at most ~24.8 days; an access lasts at most 24 h.
    const timer = setTimeout(() => this.drop(entry.access), Math.max(0, entry.end - this.now()));
    timer.unref();
    this.held.set(entry.access, { patient: entry.patient, end: entry.end, keys, timer });
  }

  /** Whether the keys of `access` are held (and not expired). */
  has(access: string): boolean {
    const held = this.held.get(access);
    return held !== undefined && held.end > this.now();
  }

  /** The keys held for `patient` now, from every unexpired access to them. */
  keysOf(patient: string): RecordKeys {
    const out: RecordKeys = new Map();
    const now = this.now();
    for (const [access, held] of this.held) {
      if (held.end <= now) {
        this.drop(access);
        continue;
      }
      if (held.patient !== patient) continue;
      for (const [name, key] of held.keys) out.set(name, key);
    }
    return out;
  }

  /** Forgets (and overwrites) the keys of `access`. */
  drop(access: string): void {
    const held = this.held.get(access);
    if (held === undefined) return;
    clearTimeout(held.timer);
    for (const key of held.keys.values()) key.fill(0);
    this.held.delete(access);
  }

  /** Forgets every key (the node closes). */
  clear(): void {
    for (const access of [...this.held.keys()]) this.drop(access);
  }
}
