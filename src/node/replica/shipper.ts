/**
 * The shipping side of the replica: every version this node anchors of a record with two holders
 * (custodian C and the patient's replica R, `holders.ts`) is shipped to the other holder.
 *
 * 1. **What to ship** comes from the ledger, block by block (`scan`): a committed
 *    `records.anchor` signed by this node queues each of its versions for the record's other
 *    holder, with the id of that transaction (how the receiver checks a version that is no
 *    longer the latest); a committed `records.replica` naming an organization queues the latest
 *    version of every live record this node's organization keeps of that patient (the replica
 *    starts with the current versions; it keeps every version shipped from then on); a committed
 *    `records.erase` deletes the copy held here. The queue rows and the last scanned height are
 *    written in one SQLite transaction (`ReplicaStore.enqueue`), so a killed node resumes where
 *    it was and no committed anchor is missed.
 * 2. **Shipping** (`pump`): due rows, grouped by target organization, in signed node requests
 *    (`POST /node/v1/replica/versions`, audience-bound) to the first of its nodes that answers. A
 *    row leaves the queue only when the receiver acknowledged it (stored, held already,
 *    superseded, or refused for good); a receiver whose ledger is behind, or that does not
 *    answer, is asked again later with exponential backoff (capped).
 * A version superseded before it was shipped is shipped all the same (the replica keeps every
 * version, so that a restored custodian gets each one back), unless it was queued without its
 * anchoring transaction (by an earlier build): then only the later one is.
 */
import type { RecordAnchorPayload, RecordEntry, StateReader } from '../../contracts/index.js';
import { StateKey } from '../../ledger/index.js';
import type { ReplicaOutboxRow, ReplicaShipment, ReplicaStore } from '../../store/index.js';
import type { RoamingClient } from '../roaming/client.js';
import { otherHolder } from './holders.js';
import { heldCopyOf } from './receiver.js';
import { MAX_VERSIONS_PER_SHIPMENT, REPLICA_VERSIONS_PATH, type ShipmentAnswer, type ShipmentResult, type ShippedVersion } from './wire.js';

/** How often due shipments are looked for (besides right after each block). */
export const SHIP_INTERVAL_MS = 250;
/** First retry delay; doubles with each attempt up to MAX_RETRY_MS. */
export const FIRST_RETRY_MS = 250;
export const MAX_RETRY_MS = 10_000;
/** Most queue rows looked at in one pass. */
const ROWS_PER_PASS = 500;
/** Most blocks scanned in one pass (a node far behind, or scanning a long chain the first time, catches up over several). */
const BLOCKS_PER_PASS = 200;

/** A version of this node's own records, ready to ship; `wait` while its index commit is pending. */
export type OwnVersionLookup = (recordId: string, version: number) => ShippedVersion | 'wait' | undefined;

export interface ReplicaShipperPort {
  readonly nodeDid: string;
  readonly orgDid: string;
  readonly state: StateReader;
  readonly replicas: ReplicaStore;
  /** The committed transactions of block `height` (id, signer, envelope JSON and result code). */
  blockTxs(
    height: number,
  ): ReadonlyArray<{ readonly id: string; readonly signer: string; readonly envelope: string; readonly code: string }>;
  /** The ledger's height. */
  height(): number;
  /** The version of a record this node holds in its own vault (see OwnVersionLookup). */
  readonly ownVersion: OwnVersionLookup;
  readonly client: Pick<RoamingClient, 'send'>;
  /** Operational lines (counts and codes only; never health data). */
  readonly log: (line: string) => void;
  /** ms since the epoch (default Date.now). */
  readonly now?: () => number;
}

/** Whether a transaction's envelope may be a `records.replica` or `records.erase` (a cheap test before parsing). */
function mayConcernHolders(envelope: string): boolean {
  return envelope.includes('"records.replica"') || envelope.includes('"records.erase"');
}

interface TxBody {
  readonly type?: unknown;
  readonly signer?: unknown;
  readonly payload?: unknown;
}

/** Ships versions to the other holder of each record (see the module comment). */
export class ReplicaShipper {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly port: ReplicaShipperPort) {
    this.now = port.now ?? Date.now;
  }

  /** Scans what was committed since the last run, then ships on a timer. */
  start(): void {
    void this.kick();
    this.timer = setInterval(() => void this.kick(), SHIP_INTERVAL_MS);
    this.timer.unref();
  }

  /** Scans new blocks and ships what is due (serialized: one pass at a time). */
  kick(): Promise<void> {
    if (this.stopped) return this.running;
    this.running = this.running.then(async () => {
      if (this.stopped) return;
      try {
        this.scan();
        await this.pump();
      } catch (error) {
        this.port.log(`replica shipping failed: ${(error as Error).message.slice(0, 200)}`);
      }
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.running;
  }

  /** Queues what the blocks committed since the last scan ask to ship (see the module comment). */
  scan(): void {
    const { replicas } = this.port;
    const from = replicas.scannedHeight() + 1;
    const head = Math.min(this.port.height(), from + BLOCKS_PER_PASS - 1);
    for (let height = from; height <= head; height++) {
      const items: ReplicaShipment[] = [];
      for (const stored of this.port.blockTxs(height)) {
        // Only this node's own transactions and the two types every holder acts on are parsed.
        if (stored.code !== 'OK' || !(stored.signer === this.port.nodeDid || mayConcernHolders(stored.envelope))) continue;
        const tx = (JSON.parse(stored.envelope) as { tx?: TxBody }).tx;
        if (tx === undefined) continue;
        if (tx.type === 'records.anchor' && tx.signer === this.port.nodeDid) items.push(...this.anchored(tx.payload, stored.id));
        else if (tx.type === 'records.replica' && typeof tx.signer === 'string') items.push(...this.named(tx.signer));
        else if (tx.type === 'records.erase') {
          const recordId = (tx.payload as { recordId?: unknown } | undefined)?.recordId;
          if (typeof recordId === 'string') replicas.erase(recordId);
        }
      }
      replicas.enqueue(items, height);
    }
  }

  /** The shipments of the versions of a `records.anchor` this node signed (transaction `txId`). */
  private anchored(payload: unknown, txId: string): ReplicaShipment[] {
    const anchors = (payload as { anchors?: RecordAnchorPayload[] }).anchors ?? [payload as RecordAnchorPayload];
    const now = this.now();
    const out: ReplicaShipment[] = [];
    for (const anchor of anchors) {
      const record = this.port.state.get<RecordEntry>(StateKey.record(anchor.recordId));
      if (record === undefined || record.status !== 'active') continue;
      const target = otherHolder(this.port.state, record, this.port.orgDid, now);
      if (target !== undefined) out.push({ recordId: anchor.recordId, version: anchor.version, target, anchorTx: txId });
    }
    return out;
  }

  /** When `patient` named a replica: every live record this node's organization keeps of it. */
  private named(patient: string): ReplicaShipment[] {
    const { state, orgDid } = this.port;
    const now = this.now();
    const out: ReplicaShipment[] = [];
    for (const [, recordId] of state.range<string>(StateKey.patientRecordsPrefix(patient))) {
      const record = state.get<RecordEntry>(StateKey.record(recordId));
      if (record === undefined || record.status !== 'active' || record.custodian !== orgDid) continue;
      const target = otherHolder(state, record, orgDid, now);
      if (target !== undefined) out.push({ recordId, version: record.latest.version, target, anchorTx: record.latest.txId });
    }
    return out;
  }

  /** Ships due rows, by target organization, in batches. */
  async pump(): Promise<void> {
    const { replicas } = this.port;
    const due = replicas.due(this.now(), ROWS_PER_PASS);
    const byTarget = new Map<string, ReplicaOutboxRow[]>();
    for (const row of due) byTarget.set(row.target, [...(byTarget.get(row.target) ?? []), row]);
    for (const [target, rows] of byTarget) {
      const ready: Array<{ row: ReplicaOutboxRow; version: ShippedVersion }> = [];
      for (const row of rows) {
        const version = this.versionToShip(row);
        if (version === 'wait') replicas.postpone([row.seq], this.retryAt(row.attempts));
        else if (version === undefined) replicas.settle([row.seq]);
        else ready.push({ row, version });
      }
      for (let i = 0; i < ready.length; i += MAX_VERSIONS_PER_SHIPMENT) {
        if (this.stopped) return;
        await this.ship(target, ready.slice(i, i + MAX_VERSIONS_PER_SHIPMENT));
      }
    }
  }

  /**
   * The version a row ships; undefined when it is no longer to be shipped (erased, not held, or
   * superseded and queued without its anchoring transaction).
   */
  private versionToShip(row: ReplicaOutboxRow): ShippedVersion | 'wait' | undefined {
    const record = this.port.state.get<RecordEntry>(StateKey.record(row.recordId));
    if (record === undefined || record.status !== 'active') return undefined;
    if (record.latest.version > row.version && row.anchorTx === null) return undefined;
    const own = this.port.ownVersion(row.recordId, row.version);
    const version = typeof own === 'object' && row.anchorTx !== null ? { ...own, anchorTx: row.anchorTx } : own;
    // A version this node wrote as the replica of another custodian's record: its held copy
    // moves on too, so that it serves the latest version while that custodian is down.
    if (typeof version === 'object' && version.custodian !== this.port.orgDid)
      this.port.replicas.put(heldCopyOf(version, new Uint8Array(Buffer.from(version.ciphertext, 'base64url')), row.anchorTx));
    return version;
  }

  private async ship(target: string, batch: ReadonlyArray<{ row: ReplicaOutboxRow; version: ShippedVersion }>): Promise<void> {
    const { replicas } = this.port;
    const answer = await this.port.client.send<ShipmentAnswer>(target, REPLICA_VERSIONS_PATH, {
      versions: batch.map((b) => b.version),
    });
    const later = (rows: ReadonlyArray<{ row: ReplicaOutboxRow }>): void => {
      for (const { row } of rows) replicas.postpone([row.seq], this.retryAt(row.attempts));
    };
    if (answer.kind === 'unreachable') return later(batch);
    if (answer.kind === 'refused') {
      // A clock or quota refusal passes; any other refusal is for good (the ledger decided).
      if (answer.status === 401 || answer.status === 429) return later(batch);
      this.port.log(`replica shipment of ${batch.length} version(s) refused: ${answer.code}`);
      replicas.settle(batch.map((b) => b.row.seq));
      return;
    }
    const results: readonly ShipmentResult[] = Array.isArray(answer.answer.results) ? answer.answer.results : [];
    const settled: number[] = [];
    for (const [i, { row }] of batch.entries()) {
      const result = results[i];
      if (result === undefined || result.id !== row.recordId || result.status === 'behind') later([{ row }]);
      else settled.push(row.seq);
    }
    replicas.settle(settled);
  }

  private retryAt(attempts: number): number {
    return this.now() + Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(attempts, 16));
  }
}
