import { StateKey, type Ledger, type OrgRecord, type PartyRecord } from '../../ledger/index.js';

/** Another node of the network, as the ledger knows it. */
export interface PeerNode {
  readonly did: string;
  readonly org: string;
  readonly orgName: string;
  readonly region: string;
  readonly url: string;
  readonly signingKey: string;
}

/** Active nodes of every member organization, from this node's copy of the ledger (itself excluded). */
export function peerNodes(ledger: Ledger, selfDid: string): PeerNode[] {
  return activeNodes(ledger).filter((node) => node.did !== selfDid);
}

/** Every active node registered on the ledger. */
export function activeNodes(ledger: Ledger): PeerNode[] {
  const nodes: PeerNode[] = [];
  for (const [, org] of ledger.rangeState<OrgRecord>(StateKey.ORG_PREFIX)) {
    const prefix = StateKey.orgNodesPrefix(org.did);
    for (const [key] of ledger.rangeState<string>(prefix)) {
      const party = ledger.getState<PartyRecord>(StateKey.party(key.slice(prefix.length)));
      if (!party || party.kind !== 'node' || party.status !== 'active' || !party.url) continue;
      nodes.push({
        did: party.did,
        org: org.did,
        orgName: org.name,
        region: party.region ?? org.region,
        url: party.url.replace(/\/+$/, ''),
        signingKey: party.signingKey,
      });
    }
  }
  return nodes;
}
