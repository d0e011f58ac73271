/**
 * The record keys a node holds: the patients' KEKs sealed to its organization in their active,
 * unexpired grants, opened once per grant and kept in memory only (the most recently used
 * `maxOpenedGrants` grants: a key evicted is opened again from its grant when next needed); and, while a break-glass
 * access of this organization to the patient is active, the keys reconstructed for it (held by
 * `EmergencyKeyStore`, in memory until the access ends). Who may USE them is the access
 * policy's to decide; this ring only answers which keys the node has.
 */
import type { StateReader } from '../../contracts/index.js';
import { StateKey } from '../../ledger/index.js';
import type { GrantRecord, SensitivityClass } from '../../ledger/types.js';
import { openGrantKeys, type OpenedRecordKey } from '../../vault/index.js';

/** Record keys by `<class>|<epoch>`. */
export type RecordKeys = Map<string, Uint8Array>;

/** Break-glass keys of the node (`EmergencyKeyStore`). */
export interface EmergencyKeySource {
  keysOf(patient: string): RecordKeys;
}

/**
 * Grants whose opened keys stay in memory by default: a node's working set of patients (each
 * usually one grant to this organization) with a few keys each, ~0.5 KB per grant, so ~25 MB.
 */
export const DEFAULT_MAX_OPENED_GRANTS = 50_000;

/** How the key ring is sized. */
export interface GrantKeyRingOptions {
  /** Keys reconstructed under break-glass (none: grants only). */
  readonly emergency?: EmergencyKeySource | undefined;
  /** Most grants whose opened keys are kept (least recently used evicted first). */
  readonly maxOpenedGrants?: number;
}

/** Keys opened from one grant, and which sealed keys of the grant they came from. */
interface OpenedGrant {
  readonly sealed: string;
  readonly keys: readonly OpenedRecordKey[];
}

/**
 * Which sealed keys a grant holds: `consent.rekey` appends keys to a grant (a rotation's new
 * epoch), so opened keys are good only for the list they were opened from. Each seal has a fresh
 * HPKE ephemeral key (`enc`), so the count and the last one's `enc` name the list.
 */
function sealedKeysTag(keys: readonly unknown[]): string {
  const last = keys.at(-1) as { readonly enc?: unknown } | undefined;
  return `${keys.length}|${typeof last?.enc === 'string' ? last.enc : ''}`;
}

/** What the key ring reads of its node. */
export interface GrantKeySource {
  readonly orgDid: string;
  readonly orgEncryptionSecretKey: Uint8Array;
  readonly state: StateReader;
}

/**
 * The record keys of one node (see the module comment).
 *
 * @example
 * const keys = await new GrantKeyRing(node).keysOf(patientDid);
 * const kek = keys.get(`general|${GrantKeyRing.highestEpoch(keys, 'general')}`);
 */
export class GrantKeyRing {
  /**
   * Keys opened from grants, by grant id (memory only), least recently used first (a Map keeps
   * insertion order: a hit moves its entry to the end).
   */
  private readonly opened = new Map<string, OpenedGrant>();
  private readonly emergency: EmergencyKeySource | undefined;
  private readonly maxOpenedGrants: number;

  constructor(
    private readonly node: GrantKeySource,
    options: GrantKeyRingOptions = {},
  ) {
    this.emergency = options.emergency;
    this.maxOpenedGrants = Math.max(1, options.maxOpenedGrants ?? DEFAULT_MAX_OPENED_GRANTS);
  }

  /** Grants whose opened keys are in memory now (for metrics and tests). */
  get openedGrants(): number {
    return this.opened.size;
  }

  /**
   * The record keys this node holds for `patient` now, from the patient's active grants. The
   * grant is read from the ledger state at every call, so a revoked or expired grant gives no key
   * whether or not its keys are still in memory.
   */
  async keysOf(patient: string): Promise<RecordKeys> {
    const org = this.node.orgDid;
    const prefix = StateKey.orgPatientGrantsPrefix(org, patient);
    const now = Date.now();
    // Grant keys win over break-glass ones of the same class and epoch (they are the same key).
    const keys: RecordKeys = new Map(this.emergency?.keysOf(patient));
    for (const [key] of this.node.state.range<unknown>(prefix)) {
      const grant = this.node.state.get<GrantRecord>(StateKey.grant(key.slice(prefix.length)));
      if (grant === undefined || grant.status !== 'active') continue;
      if (grant.expiresAt !== null && grant.expiresAt <= now) continue;
      if (grant.keys === undefined || grant.keys.length === 0) continue;
      for (const k of await this.openedKeys(grant, grant.keys, patient))
        keys.set(`${k.class}|${k.epoch}`, k.kek);
    }
    return keys;
  }

  /** The keys of `grant` opened (from memory while its sealed keys are those opened before). */
  private async openedKeys(
    grant: GrantRecord,
    sealedKeys: readonly unknown[],
    patient: string,
  ): Promise<readonly OpenedRecordKey[]> {
    const sealed = sealedKeysTag(sealedKeys);
    const held = this.opened.get(grant.id);
    this.opened.delete(grant.id);
    if (held !== undefined && held.sealed === sealed) {
      this.opened.set(grant.id, held);
      return held.keys;
    }
    let keys: readonly OpenedRecordKey[];
    try {
      keys = await openGrantKeys(this.node.orgEncryptionSecretKey, sealedKeys, {
        patient,
        grantee: this.node.orgDid,
      });
    } catch {
      keys = []; // keys sealed to another key or context: useless to this node
    }
    this.opened.delete(grant.id); // opened meanwhile by a concurrent call: this one is as new
    this.opened.set(grant.id, { sealed, keys });
    while (this.opened.size > this.maxOpenedGrants) {
      const oldest = this.opened.keys().next().value;
      if (oldest === undefined) break;
      this.opened.delete(oldest);
    }
    return keys;
  }

  /** The highest epoch of class `cls` among `keys`, if any. */
  static highestEpoch(keys: RecordKeys, cls: SensitivityClass): number | undefined {
    let best: number | undefined;
    for (const name of keys.keys()) {
      const [c, e] = name.split('|');
      if (c === cls && (best === undefined || Number(e) > best)) best = Number(e);
    }
    return best;
  }
}
