/**
 * The operator's view of one running node: its metrics (fed by the ledger's block events and the
 * peer client's calls, gauges read at each scrape) and its readiness, both read from the node's
 * parts. One observer per HTTP server; `stop` detaches it from the node.
 */
import type { CommittedBlock } from '../../ledger/index.js';
import { JetStreamOrderer } from '../../ordering/index.js';
import type { RoamNode } from '../roam-node.js';
import { RECORDS_QUERY_PATH } from '../roaming/wire.js';
import { NodeMetrics, type NodeGaugeSources, type PeerCallKind, type PeerCallOutcome } from './metrics.js';
import { followOrderingLink } from './ordering-link.js';
import { checkReadiness, type Readiness, type ReadinessSources } from './readiness.js';
import type { RefillStatus } from '../replica/refill.js';

/** `/readyz`'s detail of the CIPHERTEXT_MISSING warning: counts only, never a record or patient. */
export interface MissingCiphertextsDetail {
  /** Anchored versions of this node's records whose ciphertext its vault lacks. */
  readonly versions: number;
  /** Records with at least one such version. */
  readonly records: number;
  /** What the refill from the patients' replicas still expects (absent while the replica part is closed). */
  readonly refill?: RefillStatus;
}

export interface NodeObserver {
  readonly metrics: NodeMetrics;
  readiness(): Readiness;
  /** What is still missing after a restore, in counts only (undefined: nothing is, or the node is closed). */
  missingCiphertexts(): MissingCiphertextsDetail | undefined;
  stop(): void;
}

/** Starts observing `node` (its ledger events and peer calls) until `stop`. */
export function observeNode(node: RoamNode): NodeObserver {
  const jetstream = node.orderer instanceof JetStreamOrderer ? node.orderer : undefined;
  const link = followOrderingLink(jetstream?.connection);
  const fhir = () => {
    try {
      return node.fhir;
    } catch {
      return undefined; // closed: the node is stopping
    }
  };
  const replica = () => {
    try {
      return node.replica;
    } catch {
      return undefined; // closed: the node is stopping
    }
  };
  const attestation = () => {
    const status = node.attestations?.status();
    if (status === undefined) return undefined;
    const agreeing = status.peers.filter((peer) => peer.agreement === 'agrees').length;
    return { agreeing, total: status.peers.length, halted: status.diverged };
  };
  const gauges: NodeGaugeSources = {
    ledgerHeight: () => node.ledger.height,
    ordererPendingMessages: () => jetstream?.streamStatus.pendingMessages,
    ordererConnected: () => link.connected,
    attestation,
    auditOutboxDepth: () => (storesOpen(node) ? fhir()?.index.auditBacklog() : undefined),
    validationQueueDepth: () => fhir()?.validationQueueDepth,
    missingCiphertexts: () => fhir()?.missingCiphertexts.missingVersions,
    replicaOutboxDepth: () => (storesOpen(node) ? replica()?.backlog : undefined),
    checkpointsFailing: () => {
      const failing = fhir()?.checkpoints.failing;
      return failing === undefined ? undefined : Number(failing);
    },
  };
  const readinessSources: ReadinessSources = {
    storesOpen: () => storesOpen(node),
    ordererConnected: () => link.connected,
    ordering: () => jetstream?.streamStatus,
    ledgerHalted: () => node.ledger.haltReason !== undefined || attestation()?.halted === true,
    blocksBehindPeers: () => {
      const heights = (node.attestations?.status().peers ?? []).map((peer) => peer.latest?.height ?? 0);
      return Math.max(0, ...heights.map((height) => height - node.ledger.height));
    },
    missingCiphertexts: () => fhir()?.missingCiphertexts.missingVersions,
    checkpointsFailing: () => fhir()?.checkpoints.failing,
  };
  const metrics = new NodeMetrics(gauges);
  const onBlock = (block: CommittedBlock) => metrics.observeBlock(block, Date.now());
  node.ledger.on('block', onBlock);
  const stopObservingPeers = node.peerHttp.observe(({ path, status }) =>
    metrics.observePeerCall(peerCallKind(path), peerCallOutcome(status)),
  );
  return {
    metrics,
    readiness: () => checkReadiness(readinessSources),
    missingCiphertexts: () => {
      const gaps = fhir()?.missingCiphertexts;
      if (gaps === undefined || gaps.missingVersions === 0) return undefined;
      const refill = replica()?.refill.status();
      return {
        versions: gaps.missingVersions,
        records: gaps.records,
        ...(refill === undefined ? {} : { refill }),
      };
    },
    stop() {
      node.ledger.off('block', onBlock);
      stopObservingPeers();
      link.stop();
    },
  };
}

function storesOpen(node: RoamNode): boolean {
  try {
    return node.store.db.open && node.fhir.vault.store.db.open;
  } catch {
    return false; // the FHIR service is closed
  }
}

function peerCallKind(path: string): PeerCallKind {
  if (path === RECORDS_QUERY_PATH) return 'roaming';
  if (path === '/ledger' || path.startsWith('/ledger/')) return 'ledger';
  return 'other';
}

function peerCallOutcome(status: number | undefined): PeerCallOutcome {
  if (status === undefined) return 'unreachable';
  if (status >= 200 && status < 300) return 'ok';
  return status >= 500 ? 'failed' : 'refused';
}
