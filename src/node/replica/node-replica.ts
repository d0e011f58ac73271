/**
 * The replica custodian of one node, wired: the replica store (`DATA/replica.sqlite`), the
 * shipper (this node's anchored versions to the other holder), the receiver (the other holder's
 * shipments), the server (roaming queries for a custodian that does not answer), the refill
 * server (a restored custodian asking its lost ciphertexts back) and this node's own refill
 * (asking them back after a restore).
 */
import { join } from 'node:path';
import { replicaInEffect, type RecordEntry, type StateReader } from '../../contracts/index.js';
import { StateKey } from '../../ledger/index.js';
import { ReplicaStore, type FhirResourceRow } from '../../store/index.js';
import { encodeWrappedDek } from '../../vault/index.js';
import type { FhirService } from '../fhir/fhir-service.js';
import type { PeerHttpClient } from '../network/peer-http.js';
import { RoamingClient } from '../roaming/client.js';
import { ReplicaReceiver, type AdoptOwnVersion } from './receiver.js';
import { CiphertextRefill } from './refill.js';
import { RefillServer } from './refill-server.js';
import { ReplicaServer } from './replica-server.js';
import { ReplicaShipper } from './shipper.js';
import type { ShippedVersion } from './wire.js';

/** The replica file of a node's data folder. */
export function replicaPath(dataDir: string): string {
  return join(dataDir, 'replica.sqlite');
}

export interface NodeReplicaOptions {
  readonly dataDir: string;
  readonly nodeDid: string;
  readonly orgDid: string;
  readonly nodeSecretKey: Uint8Array;
  readonly state: StateReader;
  readonly peerHttp: PeerHttpClient;
  readonly fhir: FhirService;
  blockTxs(
    height: number,
  ): ReadonlyArray<{ readonly id: string; readonly signer: string; readonly envelope: string; readonly code: string }>;
  /** A committed transaction by id (envelope JSON and result code): the anchors of older versions. */
  txById(id: string): { readonly envelope: string; readonly code: string } | undefined;
  height(): number;
  /** Calls `listener` after each committed block; returns the unsubscribe. */
  onBlock(listener: () => void): () => void;
  readonly log: (line: string) => void;
}

/** The replica parts of one node (see the module comment). */
export class NodeReplica {
  private constructor(
    readonly store: ReplicaStore,
    readonly shipper: ReplicaShipper,
    readonly receiver: ReplicaReceiver,
    readonly server: ReplicaServer,
    readonly refillServer: RefillServer,
    readonly refill: CiphertextRefill,
    private readonly unsubscribe: () => void,
  ) {}

  /** Opens the replica file, scans the blocks not yet scanned and starts shipping. */
  static open(options: NodeReplicaOptions): NodeReplica {
    const store = ReplicaStore.open(replicaPath(options.dataDir));
    const { fhir, state, orgDid } = options;
    const client = new RoamingClient({ nodeDid: options.nodeDid, secretKey: options.nodeSecretKey, state, http: options.peerHttp });
    const shipper = new ReplicaShipper({
      nodeDid: options.nodeDid,
      orgDid,
      state,
      replicas: store,
      blockTxs: (height) => options.blockTxs(height),
      height: () => options.height(),
      ownVersion: (recordId, version) => ownVersion(fhir, recordId, version),
      client,
      log: options.log,
    });
    const adoptOwn = adoptInto(fhir);
    const txById = (id: string) => options.txById(id);
    const receiver = new ReplicaReceiver({ orgDid, state, replicas: store, txById, adoptOwn });
    const server = new ReplicaServer({ orgDid, state, replicas: store, custodian: fhir.roaming.custodian, patientCustodian: fhir.roaming.patientCustodian, audit: fhir.audit });
    fhir.repository.useReplica((recordId) => continuable({ state, orgDid, store }, recordId));
    const refillServer = new RefillServer({ state, replicas: store, audit: fhir.audit });
    const refill = new CiphertextRefill({
      orgDid,
      state,
      client,
      missing: () => fhir.missingCiphertexts.missingList(),
      txById,
      gapLog: store.refillLog,
      adopt: adoptOwn,
      log: options.log,
    });
    const unsubscribe = options.onBlock(() => {
      void shipper.kick();
      // A patient naming a replica, or a gap that appeared, starts (or hastens) the refill.
      refill.wake();
    });
    shipper.start();
    refill.start();
    return new NodeReplica(store, shipper, receiver, server, refillServer, refill, unsubscribe);
  }

  /** Versions waiting to be acknowledged by the other holder. */
  get backlog(): number {
    return this.store.backlog();
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.refill.stop();
    await this.shipper.stop();
    this.store.close();
  }
}

/**
 * The held copy of `recordId` as an index row, when this node's organization may continue it:
 * the patient's replica in effect here, and the copy is the latest version anchored.
 */
function continuable(
  parts: { readonly state: StateReader; readonly orgDid: string; readonly store: ReplicaStore },
  recordId: string,
): (FhirResourceRow & { readonly custodian: string }) | undefined {
  const held = parts.store.get(recordId);
  if (held === undefined) return undefined;
  const anchor = parts.state.get<RecordEntry>(StateKey.record(recordId));
  if (anchor?.status !== 'active' || anchor.latest.version !== held.version) return undefined;
  if (replicaInEffect(parts.state, held.patient, Date.now()) !== parts.orgDid) return undefined;
  return {
    recordId,
    type: held.resourceType,
    version: held.version,
    patient: held.patient,
    lastUpdated: held.lastUpdated,
    class: held.class,
    epoch: held.epoch,
    custodian: held.custodian,
  };
}

/**
 * How a version of a record this node's organization keeps, written elsewhere and checked against
 * its anchor, enters this node's vault and index (a version the replica wrote, or one it gives back).
 */
function adoptInto(fhir: FhirService): AdoptOwnVersion {
  return (version, blob, author) =>
    fhir.repository.adoptAnchoredVersion(
      {
        recordId: version.id,
        version: version.version,
        patient: version.patient,
        resourceType: version.type,
        class: version.class,
        epoch: version.epoch,
        wrappedDek: encodeWrappedDek(version.wrappedDek),
        custodian: version.custodian,
        author,
        createdAt: Date.now(),
      },
      blob,
    );
}

/** A version of this node's own records as shipped: ciphertext, wrapped data key, index sort keys. */
function ownVersion(fhir: FhirService, recordId: string, version: number): ShippedVersion | 'wait' | undefined {
  const row = fhir.index.getResource(recordId);
  // The index commit follows the anchor's: until then the sort keys are not known.
  if (row === undefined || row.version < version) return 'wait';
  let ciphertext;
  try {
    ciphertext = fhir.vault.readCiphertext(recordId, version);
  } catch {
    return undefined; // erased meanwhile
  }
  const { info, blob, wrappedDek } = ciphertext;
  const date = fhir.index.datesOf([recordId], ['date']).get(recordId)?.find((d) => d.param === 'date')?.start ?? null;
  return {
    id: recordId,
    type: info.resourceType,
    version,
    patient: info.patient,
    custodian: info.custodian,
    class: info.class,
    epoch: info.epoch,
    contentHash: info.contentHash,
    ciphertext: Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('base64url'),
    wrappedDek: { iv: wrappedDek.iv, ct: wrappedDek.ct },
    // The index keeps the sort keys of the current version only; an older version is never
    // answered to a roaming query (those serve the latest), so its creation time does.
    lastUpdated: row.version === version ? row.lastUpdated : info.createdAt,
    date: row.version === version ? date : null,
  };
}
