/**
 * The metrics of one node, in a registry of its own (never prom-client's global one: tests and
 * benchmarks run several nodes in one process). Label values are constants only — route
 * families, status classes, ledger result codes, outcomes — never a DID, id or path.
 *
 * Counters and histograms are updated as things happen (HTTP answers, committed blocks, peer
 * calls); gauges read the node when scraped. The registry also holds the process's metrics (CPU,
 * memory, heap, event-loop lag, GC, handles: process-metrics.ts).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CommittedBlock } from '../../ledger/index.js';
import { processMetrics } from './process-metrics.js';
import type { RouteFamily } from './route-family.js';

/** Seconds: from a millisecond HTTP answer to a multi-second roaming `$everything`. */
const HTTP_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds from a block's cut (its time) to its commit on this node. */
const COMMIT_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the gauges read from the node at each scrape (each may be absent: no network, closed). */
export interface NodeGaugeSources {
  readonly ledgerHeight: () => number;
  /** Messages of the ordering stream not yet received (network nodes only). */
  readonly ordererPendingMessages: () => number | undefined;
  readonly ordererConnected: () => boolean;
  /** Peers whose latest attestation agrees with this node's block, and all active peers. */
  readonly attestation: () =>
    { readonly agreeing: number; readonly total: number; readonly halted: boolean } | undefined;
  readonly auditOutboxDepth: () => number | undefined;
  readonly validationQueueDepth: () => number | undefined;
  /** Anchored versions of this node's records whose ciphertext its vault lacks (counted at start). */
  readonly missingCiphertexts: () => number | undefined;
  /** Versions the replica shipper still has to deliver to the other holder of records (undefined: closed). */
  readonly replicaOutboxDepth: () => number | undefined;
  /** 1 while the vault file's checkpoints fail (its WAL grows), else 0 (undefined: closed). */
  readonly checkpointsFailing: () => number | undefined;
}

/** How a call to another node ended: answered 2xx, refused (4xx), failed (5xx), or not reached. */
export type PeerCallOutcome = 'ok' | 'refused' | 'failed' | 'unreachable';
/** What the call was for: roaming record queries, ledger catch-up and status, or other. */
export type PeerCallKind = 'roaming' | 'ledger' | 'other';

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly httpRequests: Counter<'family' | 'status_class'>;
  private readonly httpDuration: Histogram<'family'>;
  private readonly transactions: Counter<'code'>;
  private readonly commitSeconds: Histogram;
  private readonly peerCalls: Counter<'kind' | 'outcome'>;

  constructor(sources: NodeGaugeSources) {
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'roam_http_requests_total',
      help: 'HTTP requests answered, by route family and status class',
      labelNames: ['family', 'status_class'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'roam_http_request_duration_seconds',
      help: 'Time from a request to its answer, by route family',
      labelNames: ['family'],
      buckets: HTTP_BUCKETS_S,
      registers,
    });
    this.transactions = new Counter({
      name: 'roam_ledger_transactions_total',
      help: 'Transactions committed in blocks, by result code (OK or the refusal code)',
      labelNames: ['code'],
      registers,
    });
    this.commitSeconds = new Histogram({
      name: 'roam_ledger_block_commit_seconds',
      help: "Time from a block's cut (its block time) to its commit on this node",
      buckets: COMMIT_BUCKETS_S,
      registers,
    });
    this.peerCalls = new Counter({
      name: 'roam_peer_requests_total',
      help: 'Calls to other nodes (roaming record queries, ledger catch-up), by kind and outcome',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    gauge(
      registers,
      'roam_ledger_height',
      'Height of the last block committed on this node',
      sources.ledgerHeight,
    );
    gauge(
      registers,
      'roam_orderer_pending_messages',
      'Messages of the ordering stream this node has not received yet (network nodes)',
      sources.ordererPendingMessages,
    );
    gauge(
      registers,
      'roam_orderer_connected',
      '1 when the node is connected to its orderer (always 1 with the local orderer)',
      () => (sources.ordererConnected() ? 1 : 0),
    );
    gauge(
      registers,
      'roam_attestation_peers_agreeing',
      'Active peers whose latest compared block agrees with this node (network nodes)',
      () => sources.attestation()?.agreeing,
    );
    gauge(
      registers,
      'roam_attestation_peers_total',
      'Active peers of this node (network nodes)',
      () => sources.attestation()?.total,
    );
    gauge(
      registers,
      'roam_attestation_halted',
      '1 when the attestation monitor halted this node (it diverged from the network)',
      () => {
        const status = sources.attestation();
        return status === undefined ? undefined : status.halted ? 1 : 0;
      },
    );
    gauge(
      registers,
      'roam_audit_outbox_depth',
      'Audit entries waiting in the outbox to be shipped to the ledger',
      sources.auditOutboxDepth,
    );
    gauge(
      registers,
      'roam_validation_queue_depth',
      'FHIR resources waiting for or in validation by the worker threads',
      sources.validationQueueDepth,
    );
    gauge(
      registers,
      'roam_vault_missing_ciphertexts',
      "Anchored versions of this node's records whose ciphertext its vault does not hold (a restore from an earlier backup)",
      sources.missingCiphertexts,
    );
    gauge(
      registers,
      'roam_replica_outbox_depth',
      "Record versions waiting to be shipped to (and acknowledged by) the other holder of the patient's records (the replica, or back to the custodian)",
      sources.replicaOutboxDepth,
    );
    gauge(
      registers,
      'roam_vault_checkpoints_failing',
      "1 while the vault file's WAL checkpoints fail or their worker stopped (the WAL then grows with every write), else 0",
      sources.checkpointsFailing,
    );
    for (const metric of processMetrics()) this.registry.registerMetric(metric);
  }

  /** One HTTP answer. */
  observeHttp(family: RouteFamily, statusClass: string, seconds: number): void {
    this.httpRequests.inc({ family, status_class: statusClass });
    this.httpDuration.observe({ family }, seconds);
  }

  /** One committed block: its transactions by result code, and how long it took since its cut. */
  observeBlock(block: CommittedBlock, now: number): void {
    for (const tx of block.txs) this.transactions.inc({ code: tx.code });
    this.commitSeconds.observe(Math.max(0, now - block.header.time) / 1000);
  }

  /** One call to another node. */
  observePeerCall(kind: PeerCallKind, outcome: PeerCallOutcome): void {
    this.peerCalls.inc({ kind, outcome });
  }

  /** The Prometheus text exposition of every metric, and its content type. */
  async exposition(): Promise<{ readonly contentType: string; readonly body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** A gauge set from `read` at each scrape; an undefined reading leaves the series out. */
function gauge(registers: Registry[], name: string, help: string, read: () => number | undefined): void {
  new Gauge({
    name,
    help,
    registers,
    collect() {
      this.reset();
      const value = read();
      if (value !== undefined) this.set(value);
    },
  });
}
