/**
 * `gov.node.register`: an organization's admin registers (or moves) its own nodes, at most
 * `maxNodesPerOrg` active ones. The cap is what keeps one member's admin, acting alone, from
 * adding nodes without bound (the network's majority is counted per organization, but every node
 * still gets to attest, sync and serve).
 */
import { z } from 'zod';
import { ResultCode } from '../ledger/codes.js';
import { TxRejected } from '../ledger/contract.js';
import { StateKey } from '../ledger/keys.js';
import type { PartyRecord } from '../ledger/types.js';
import {
  didSchema,
  getParty,
  key32Schema,
  nodeUrlRefusal,
  parsePayload,
  regionSchema,
  requireOrgAdmin,
  urlSchema,
  writeNode,
  type Contract,
  type Payload,
  type StateReader,
} from './common.js';

export const nodeRegisterSchema = z.strictObject({
  node: didSchema,
  url: urlSchema,
  region: regionSchema,
  encryptionKey: key32Schema,
});
/** `gov.node.register`: registers (or moves) a node of the signer's organization. */
export type NodeRegisterPayload = Payload<typeof nodeRegisterSchema>;

/** The active nodes of `org`, in DID order (deactivated ones no longer take a place). */
export function activeNodesOf(reader: StateReader, org: string): PartyRecord[] {
  const prefix = StateKey.orgNodesPrefix(org);
  const out: PartyRecord[] = [];
  for (const [key] of reader.range<unknown>(prefix)) {
    const party = getParty(reader, key.slice(prefix.length));
    if (party?.kind === 'node' && party.status === 'active' && party.org === org) out.push(party);
  }
  return out;
}

/** NOT_ORG_ADMIN, NODE_EXISTS, PARTY_DEACTIVATED, NODE_LIMIT_REACHED. */
export const nodeRegister: Contract<NodeRegisterPayload> = {
  parse: (payload) => parsePayload(nodeRegisterSchema, payload),
  execute(ctx, payload) {
    const admin = requireOrgAdmin(ctx);
    const refused = nodeUrlRefusal(payload.url, { allowHttp: ctx.params.allowHttpNodeUrls });
    if (refused !== undefined) throw new TxRejected(ResultCode.INVALID_PAYLOAD, `"payload.url" ${refused}`);
    const existing = getParty(ctx, payload.node);
    if (existing !== undefined) {
      if (existing.kind !== 'node' || existing.org !== admin.org) {
        throw new TxRejected(
          ResultCode.NODE_EXISTS,
          `"payload.node" ${payload.node} is already registered as another party`,
        );
      }
      if (existing.status !== 'active') {
        throw new TxRejected(ResultCode.PARTY_DEACTIVATED, `node ${payload.node} is deactivated`);
      }
      // Re-registration moves the node; its keys are unchanged.
      ctx.put(StateKey.party(payload.node), { ...existing, url: payload.url, region: payload.region });
      return;
    }
    const active = activeNodesOf(ctx, admin.org).length;
    if (active >= ctx.params.maxNodesPerOrg) {
      throw new TxRejected(
        ResultCode.NODE_LIMIT_REACHED,
        `organization ${admin.org} already has ${active} active nodes (maxNodesPerOrg ${ctx.params.maxNodesPerOrg})`,
      );
    }
    writeNode(ctx, {
      did: payload.node,
      encryptionKey: payload.encryptionKey,
      org: admin.org,
      url: payload.url,
      region: payload.region,
      registeredAt: ctx.block.time,
    });
  },
};
