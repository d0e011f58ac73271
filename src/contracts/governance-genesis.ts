/**
 * The genesis document: its schema (with the organization, admin and node shapes that proposals
 * reuse), its validation, and the writer of the founders into empty state.
 */
import { z } from 'zod';
import type { GenesisContext } from '../ledger/contract.js';
import { StateKey } from '../ledger/keys.js';
import { DEFAULT_MAX_NODES_PER_ORG, type GenesisDocument, type OrgRecord } from '../ledger/types.js';
import {
  describeIssue,
  didSchema,
  key32Schema,
  nodeUrlRefusal,
  regionSchema,
  urlSchema,
  writeNode,
  writePractitioner,
} from './common.js';

export const orgSchema = z.strictObject({
  did: didSchema,
  name: z.string().min(1).max(200),
  region: regionSchema,
  encryptionKey: key32Schema,
});

export const adminSchema = z.strictObject({ did: didSchema, encryptionKey: key32Schema });

const nodeSchema = z.strictObject({
  did: didSchema,
  url: urlSchema,
  region: regionSchema,
  encryptionKey: key32Schema,
});

/** Largest `maxNodesPerOrg` a genesis may set: a bound, not a target. */
const MAX_NODES_PER_ORG_LIMIT = 64;

const genesisSchema = z.strictObject({
  format: z.literal('roam-genesis'),
  version: z.literal(1),
  chainId: z.string().min(1).max(128),
  time: z.number().int().nonnegative(),
  params: z.strictObject({
    txValidityMs: z.number().int().positive(),
    txFutureSkewMs: z.number().int().nonnegative(),
    joinQuorum: z.number().gt(0).lte(1),
    maxNodesPerOrg: z.number().int().min(1).max(MAX_NODES_PER_ORG_LIMIT).optional(),
    allowHttpNodeUrls: z.boolean().optional(),
  }),
  founders: z
    .array(
      z.strictObject({
        org: orgSchema,
        admins: z.array(adminSchema).min(1),
        nodes: z.array(nodeSchema),
      }),
    )
    .min(1),
});

// The schema and the ledger's GenesisDocument must describe the same document (a change to one
// without the other fails the typecheck here).
type Mutable<T> = T extends readonly (infer U)[]
  ? Array<Mutable<U>>
  : T extends object
    ? { -readonly [K in keyof T]: Mutable<T[K]> }
    : T;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const genesisSchemaMatchesType: Same<z.output<typeof genesisSchema>, Mutable<GenesisDocument>> = true;
void genesisSchemaMatchesType;

function genesisError(field: string, reason: string): Error {
  return new Error(`invalid genesis document: "${field}" ${reason}`);
}

/**
 * Validates a genesis document, throwing a plain `Error` naming the bad field (genesis is not a
 * transaction: a bad one stops the node). Checks the shape, that no founder lists more nodes than
 * `maxNodesPerOrg`, and that no organization or party DID appears twice or already exists in
 * `state`.
 */
export function validateGenesis(genesis: unknown, state?: Pick<GenesisContext, 'get'>): GenesisDocument {
  const result = genesisSchema.safeParse(genesis);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(
      `invalid genesis document: ${issue ? describeIssue('genesis', issue) : '"genesis" is invalid'}`,
    );
  }
  const doc = result.data;
  const maxNodes = doc.params.maxNodesPerOrg ?? DEFAULT_MAX_NODES_PER_ORG;
  const orgs = new Set<string>();
  const parties = new Set<string>();
  doc.founders.forEach((founder, f) => {
    const orgField = `genesis.founders[${f}].org.did`;
    if (orgs.has(founder.org.did) || state?.get(StateKey.org(founder.org.did)) !== undefined) {
      throw genesisError(orgField, 'names an organization twice');
    }
    orgs.add(founder.org.did);
    if (founder.nodes.length > maxNodes) {
      throw genesisError(`genesis.founders[${f}].nodes`, `lists more than maxNodesPerOrg (${maxNodes}) nodes`);
    }
    const members: Array<[string, string]> = [
      ...founder.admins.map((a, i): [string, string] => [`genesis.founders[${f}].admins[${i}].did`, a.did]),
      ...founder.nodes.map((n, i): [string, string] => [`genesis.founders[${f}].nodes[${i}].did`, n.did]),
    ];
    for (const [field, did] of members) {
      if (parties.has(did) || state?.get(StateKey.party(did)) !== undefined)
        throw genesisError(field, 'names a party twice');
      parties.add(did);
    }
    founder.nodes.forEach((node, n) => {
      const refused = nodeUrlRefusal(node.url, { allowHttp: doc.params.allowHttpNodeUrls === true });
      if (refused !== undefined) throw genesisError(`genesis.founders[${f}].nodes[${n}].url`, refused);
    });
  });
  return doc;
}

/**
 * Writes the founders of a network into empty state: each founding organization (`org/<did>`),
 * its admins as practitioners with role `admin`, and its nodes, with their index entries.
 *
 * @throws Error naming the bad field when the document is invalid.
 * @example applyGenesis({ get: (k) => state.get(k), put: (k, v) => state.put(k, v) }, genesis)
 */
export function applyGenesis(ctx: GenesisContext, genesis: GenesisDocument): void {
  const doc = validateGenesis(genesis, ctx);
  for (const founder of doc.founders) {
    const org: OrgRecord = { ...founder.org, status: 'active', joinedAt: 0 };
    ctx.put(StateKey.org(org.did), org);
    for (const admin of founder.admins) {
      writePractitioner(ctx, { ...admin, org: org.did, roles: ['admin'], registeredAt: 0 });
    }
    for (const node of founder.nodes) writeNode(ctx, { ...node, org: org.did, registeredAt: 0 });
  }
}
