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

/** DIDs of the active member organizations (suspended and expelled ones are not members). */
export function memberOrgDids(ledger: Ledger): string[] {
  return ledger
    .rangeState<OrgRecord>(StateKey.ORG_PREFIX)
    .filter(([, org]) => org.status === 'active')
    .map(([, org]) => org.did);
}

/**
 * Every active node of an active member organization: the nodes of a suspended or expelled
 * organization are no peers, their attestations do not count and they are not synced from.
 */
export function activeNodes(ledger: Ledger): PeerNode[] {
  const nodes: PeerNode[] = [];
  for (const [, org] of ledger.rangeState<OrgRecord>(StateKey.ORG_PREFIX)) {
    if (org.status !== 'active') continue;
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
