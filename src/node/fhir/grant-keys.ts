/**
 * The record keys a node holds: the patients' KEKs sealed to its organization in their active,
 * unexpired grants, opened once per grant and kept in memory only; and, while a break-glass
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
  /** Keys opened from grants, by grant id (memory only). */
  private readonly opened = new Map<string, readonly OpenedRecordKey[]>();

  constructor(
    private readonly node: GrantKeySource,
    /** Keys reconstructed under break-glass (none: grants only). */
    private readonly emergency?: EmergencyKeySource,
  ) {}

  /** The record keys this node holds for `patient` now, from the patient's active grants. */
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
      let opened = this.opened.get(grant.id);
      if (opened === undefined) {
        try {
          opened = await openGrantKeys(this.node.orgEncryptionSecretKey, grant.keys, {
            patient,
            grantee: org,
          });
        } catch {
          opened = []; // keys sealed to another key or context: useless to this node
        }
        this.opened.set(grant.id, opened);
      }
      for (const k of opened) keys.set(`${k.class}|${k.epoch}`, k.kek);
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
