/**
 * The receiving side of replica shipments (`POST /node/v1/replica/versions`): a node of one
 * holder of a record ships versions it anchored to this node, of the record's other holder. The
 * receiver decides on ITS OWN ledger:
 * - every version must be of a record whose two holders are the sender's organization and this
 *   node's (else the whole shipment is refused, 403 REPLICA_NOT_HOLDER, and nothing is stored);
 * - each version must match its anchor: the record's live anchor (patient, custodian, type) and
 *   the anchor of that version — the latest in state, an older one in the transaction the
 *   sender names (anchor-check.ts) — class, epoch and the SHA-256 of its ciphertext (else
 *   `refused` with a code); a version the ledger does not know yet is `behind` (the sender
 *   retries); an older one without its anchoring transaction (a sender of an earlier build)
 *   `superseded`.
 * Every version is kept (a restored custodian may need any of them back), not only the latest.
 * A version of a record this node's organization keeps (written by the replica while it was
 * down) goes to its own vault and index; any other goes to the replica store. Storing is
 * idempotent: the same version again is `exists`.
 */
import type { RecordEntry, StateReader } from '../../contracts/index.js';
import { StateKey } from '../../ledger/index.js';
import type { ReplicaStore, ReplicaVersionRow } from '../../store/index.js';
import { decodeWrappedDek, encodeWrappedDek } from '../../vault/index.js';
import type { SensitivityClass } from '../../ledger/types.js';
import { HttpError } from '../http/errors.js';
import type { VerifiedNode } from '../roaming/verify.js';
import { checkAgainstAnchor, identityMismatch, type CommittedTxLookup } from './anchor-check.js';
import { otherHolder } from './holders.js';
import type { Shipment, ShipmentAnswer, ShipmentResult, ShippedVersion } from './wire.js';

/**
 * The replica store's row of a shipped version whose ciphertext is `blob`; `anchorTx` the
 * transaction that anchored it (as checked, or as this node knows it).
 */
export function heldCopyOf(version: ShippedVersion, blob: Uint8Array, anchorTx: string | null): ReplicaVersionRow {
  return {
    recordId: version.id,
    version: version.version,
    patient: version.patient,
    custodian: version.custodian,
    resourceType: version.type,
    class: version.class,
    epoch: version.epoch,
    contentHash: version.contentHash,
    wrappedDek: encodeWrappedDek(version.wrappedDek),
    lastUpdated: version.lastUpdated,
    date: version.date,
    anchorTx,
    blob,
  };
}

/** A held copy as the version its custodian once shipped (the inverse of `heldCopyOf`). */
export function shippedOf(held: ReplicaVersionRow): ShippedVersion {
  const { iv, ct } = decodeWrappedDek(held.wrappedDek);
  return {
    id: held.recordId,
    type: held.resourceType,
    version: held.version,
    patient: held.patient,
    custodian: held.custodian,
    class: held.class as SensitivityClass,
    epoch: held.epoch,
    contentHash: held.contentHash,
    ciphertext: Buffer.from(held.blob.buffer, held.blob.byteOffset, held.blob.byteLength).toString('base64url'),
    wrappedDek: { iv, ct },
    lastUpdated: held.lastUpdated,
    date: held.date,
    ...(held.anchorTx === null ? {} : { anchorTx: held.anchorTx }),
  };
}

/** How a node takes a version of a record its own organization keeps (into its vault and index); `author` from its anchor. */
export type AdoptOwnVersion = (version: ShippedVersion, blob: Uint8Array, author: string) => Promise<'stored' | 'exists'>;

export interface ReplicaReceiverPort {
  readonly orgDid: string;
  readonly state: StateReader;
  readonly replicas: ReplicaStore;
  /** Committed transactions of this node's ledger (the anchors of older versions). */
  readonly txById: CommittedTxLookup;
  readonly adoptOwn: AdoptOwnVersion;
  /** ms since the epoch (default Date.now). */
  readonly now?: () => number;
}

/** Takes shipments from the other holder of records (see the module comment). */
export class ReplicaReceiver {
  private readonly now: () => number;

  constructor(private readonly port: ReplicaReceiverPort) {
    this.now = port.now ?? Date.now;
  }

  /**
   * @throws HttpError REPLICA_NOT_HOLDER (403) when a version is of a record the sender and this
   *   node do not hold together (nothing is stored then)
   */
  async receive(sender: VerifiedNode, shipment: Shipment): Promise<ShipmentAnswer> {
    const now = this.now();
    const anchors = shipment.versions.map((v) => this.port.state.get<RecordEntry>(StateKey.record(v.id)));
    // The sender must hold every record it ships, together with this node, before anything is stored.
    anchors.forEach((anchor) => {
      if (anchor !== undefined && otherHolder(this.port.state, anchor, this.port.orgDid, now) !== sender.org) {
        throw new HttpError('REPLICA_NOT_HOLDER', `${sender.org} and this node's organization do not both hold the records shipped`);
      }
    });
    const results: ShipmentResult[] = [];
    for (const [i, version] of shipment.versions.entries()) {
      results.push(await this.take(version, anchors[i]));
    }
    return { results };
  }

  private async take(version: ShippedVersion, anchor: RecordEntry | undefined): Promise<ShipmentResult> {
    const result = (status: ShipmentResult['status'], code?: string): ShipmentResult => ({
      id: version.id,
      version: version.version,
      status,
      ...(code === undefined ? {} : { code }),
    });
    // Not anchored here yet (this ledger is behind the sender's): asked again later.
    if (anchor === undefined || (anchor.status === 'active' && anchor.latest.version < version.version)) return result('behind');
    if (anchor.status === 'erased') {
      this.port.replicas.erase(version.id);
      return result('refused', 'RECORD_ERASED');
    }
    const notThisRecord = identityMismatch(version, anchor);
    if (notThisRecord !== undefined) return result('refused', notThisRecord);
    // A version older than the latest that names no anchoring transaction cannot be checked.
    if (anchor.latest.version > version.version && version.anchorTx === undefined) return result('superseded');
    const blob = new Uint8Array(Buffer.from(version.ciphertext, 'base64url'));
    const checked = checkAgainstAnchor(version, blob, anchor, this.port.txById);
    if (typeof checked === 'string') return result('refused', checked);
    if (anchor.custodian === this.port.orgDid) return result(await this.port.adoptOwn(version, blob, checked.author));
    return result(this.port.replicas.put(heldCopyOf(version, blob, checked.txId)));
  }
}
