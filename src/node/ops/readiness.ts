/**
 * Readiness of a node (`GET /readyz`): ready only when its stores are open, it is connected to
 * its orderer and follows the ordering stream closely, it is not far behind its peers, and the
 * attestation monitor has not halted it. Each reason for not being ready is a stable code; none
 * names a peer, a height or any identifier. A ready node may carry warnings (stable codes too).
 */

export const NotReadyCode = {
  /** The ledger store, the vault or the FHIR service is closed (the node is stopping). */
  STORE_CLOSED: 'STORE_CLOSED',
  /** The NATS connection of a network node is down (it reconnects by itself). */
  ORDERER_DISCONNECTED: 'ORDERER_DISCONNECTED',
  /** Ordering stopped on a block this node could not commit: restart it. */
  ORDERING_STOPPED: 'ORDERING_STOPPED',
  /** More than READY_MAX_PENDING_MESSAGES messages of the ordering stream still to receive. */
  ORDERING_BEHIND: 'ORDERING_BEHIND',
  /** A peer attests a block more than READY_MAX_BLOCKS_BEHIND_PEERS above this node's height. */
  BEHIND_PEERS: 'BEHIND_PEERS',
  /** This node's blocks differ from the network's majority: it stopped committing. */
  LEDGER_HALTED: 'LEDGER_HALTED',
} as const;
export type NotReadyCode = (typeof NotReadyCode)[keyof typeof NotReadyCode];

/** What a ready node still tells its operator: it serves, but not everything. */
export const ReadyWarningCode = {
  /** Anchored versions of records kept here have no ciphertext in the vault (restored from an earlier backup). */
  CIPHERTEXT_MISSING: 'CIPHERTEXT_MISSING',
  /** The vault file's checkpoints fail (or their worker stopped): its WAL grows with every write. */
  CHECKPOINTS_FAILING: 'CHECKPOINTS_FAILING',
} as const;
export type ReadyWarningCode = (typeof ReadyWarningCode)[keyof typeof ReadyWarningCode];

/** Stream messages a ready node may still have to receive (a busy network is never at 0). */
export const READY_MAX_PENDING_MESSAGES = 64;
/** Blocks a ready node may be behind the highest peer attestation (attestations lag by seconds). */
export const READY_MAX_BLOCKS_BEHIND_PEERS = 100;

/** What readiness reads of the node. */
export interface ReadinessSources {
  readonly storesOpen: () => boolean;
  readonly ordererConnected: () => boolean;
  /** The ordering stream as a network node follows it; undefined with the local orderer. */
  readonly ordering: () => { readonly pendingMessages: number; readonly stopped: boolean } | undefined;
  readonly ledgerHalted: () => boolean;
  /** Blocks the highest attesting peer is above this node (0 when none is, or no network). */
  readonly blocksBehindPeers: () => number;
  /** Anchored versions of this node's records whose ciphertext its vault lacks (undefined: closed). */
  readonly missingCiphertexts: () => number | undefined;
  /** Whether the vault file's checkpoints fail now (undefined: closed). */
  readonly checkpointsFailing: () => boolean | undefined;
}

export interface Readiness {
  readonly ready: boolean;
  /** Why not, in a fixed order; empty when ready. */
  readonly reasons: readonly NotReadyCode[];
  /** What the operator should know even so (the node is not taken out of service for it). */
  readonly warnings: readonly ReadyWarningCode[];
}

/** Checks every condition (not only the first failing) so an operator sees all reasons at once. */
export function checkReadiness(sources: ReadinessSources): Readiness {
  const reasons: NotReadyCode[] = [];
  if (!sources.storesOpen()) reasons.push(NotReadyCode.STORE_CLOSED);
  if (!sources.ordererConnected()) reasons.push(NotReadyCode.ORDERER_DISCONNECTED);
  const ordering = sources.ordering();
  if (ordering?.stopped === true) reasons.push(NotReadyCode.ORDERING_STOPPED);
  if (ordering !== undefined && ordering.pendingMessages > READY_MAX_PENDING_MESSAGES)
    reasons.push(NotReadyCode.ORDERING_BEHIND);
  if (sources.blocksBehindPeers() > READY_MAX_BLOCKS_BEHIND_PEERS) reasons.push(NotReadyCode.BEHIND_PEERS);
  if (sources.ledgerHalted()) reasons.push(NotReadyCode.LEDGER_HALTED);
  // A warning, not a reason: the node serves every other record, and a load balancer taking it
  // out would not bring the missing ciphertexts back.
  const warnings: ReadyWarningCode[] = [];
  if ((sources.missingCiphertexts() ?? 0) > 0) warnings.push(ReadyWarningCode.CIPHERTEXT_MISSING);
  if (sources.checkpointsFailing() === true) warnings.push(ReadyWarningCode.CHECKPOINTS_FAILING);
  return { ready: reasons.length === 0, reasons, warnings };
}
