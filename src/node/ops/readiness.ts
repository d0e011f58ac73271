/**
 * Readiness of a node (`GET /readyz`): ready only when its stores are open, it is connected to
 * its orderer and follows the ordering stream closely, it is not far behind its peers, and the
 * attestation monitor has not halted it. Each reason for not being ready is a stable code; none
 * names a peer, a height or any identifier.
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
}

export interface Readiness {
  readonly ready: boolean;
  /** Why not, in a fixed order; empty when ready. */
  readonly reasons: readonly NotReadyCode[];
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
  return { ready: reasons.length === 0, reasons };
}
