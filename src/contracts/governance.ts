/**
 * Governance contract: the consortium's membership. Genesis names the founding organizations;
 * further organizations join by an M-of-N vote of the member organizations (one vote per
 * organization, cast by any of its admins); each organization registers its own nodes.
 */
import { z } from 'zod';
import { ResultCode } from '../ledger/codes.js';
import { TxRejected, type ContractContext, type GenesisContext } from '../ledger/contract.js';
import { StateKey } from '../ledger/keys.js';
import type { GenesisDocument, OrgRecord } from '../ledger/types.js';
import {
  describeIssue,
  didSchema,
  getParty,
  idSchema,
  key32Schema,
  nodeUrlRefusal,
  parsePayload,
  regionSchema,
  requireOrgAdmin,
  urlSchema,
  writeNode,
  writePractitioner,
  type Contract,
  type Payload,
  type StateReader,
} from './common.js';

// ---------------------------------------------------------------------------------------------
// Schemas and payload types
// ---------------------------------------------------------------------------------------------

const orgSchema = z.strictObject({
  did: didSchema,
  name: z.string().min(1).max(200),
  region: regionSchema,
  encryptionKey: key32Schema,
});

const adminSchema = z.strictObject({ did: didSchema, encryptionKey: key32Schema });

const nodeSchema = z.strictObject({
  did: didSchema,
  url: urlSchema,
  region: regionSchema,
  encryptionKey: key32Schema,
});

export const orgProposeSchema = z.strictObject({
  proposalId: idSchema(),
  org: orgSchema,
  admin: adminSchema,
});
/** `gov.org.propose`: proposes a new member organization and its first admin. */
export type OrgProposePayload = Payload<typeof orgProposeSchema>;

export const orgVoteSchema = z.strictObject({ proposalId: idSchema(), approve: z.boolean() });
/** `gov.org.vote`: the signer's organization votes on an open proposal. */
export type OrgVotePayload = Payload<typeof orgVoteSchema>;

export const nodeRegisterSchema = z.strictObject({
  node: didSchema,
  url: urlSchema,
  region: regionSchema,
  encryptionKey: key32Schema,
});
/** `gov.node.register`: registers (or moves) a node of the signer's organization. */
export type NodeRegisterPayload = Payload<typeof nodeRegisterSchema>;

const genesisSchema = z.strictObject({
  format: z.literal('roam-genesis'),
  version: z.literal(1),
  chainId: z.string().min(1).max(128),
  time: z.number().int().nonnegative(),
  params: z.strictObject({
    txValidityMs: z.number().int().positive(),
    txFutureSkewMs: z.number().int().nonnegative(),
    joinQuorum: z.number().gt(0).lte(1),
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

// ---------------------------------------------------------------------------------------------
// State records
// ---------------------------------------------------------------------------------------------

export type ProposalStatus = 'open' | 'accepted' | 'rejected';

/** `proposal/<id>`: a proposal to admit an organization. */
export interface ProposalRecord {
  readonly id: string;
  readonly kind: 'org.add';
  readonly org: OrgProposePayload['org'];
  readonly admin: OrgProposePayload['admin'];
  /** DID of the proposing organization. */
  readonly proposer: string;
  /** DID of the admin who signed the proposal. */
  readonly proposedBy: string;
  /** Organization DID → its vote. */
  readonly votes: Readonly<Record<string, boolean>>;
  readonly status: ProposalStatus;
  readonly openedAt: number;
  /** Block time at which the proposal was accepted or rejected. */
  readonly closedAt?: number;
}

// ---------------------------------------------------------------------------------------------
// Tally
// ---------------------------------------------------------------------------------------------

/**
 * Yes-votes needed to admit an organization among `memberCount` members: ceil(joinQuorum × N),
 * at least 1 and at most N. The product is snapped to the nearest integer when within 1e-9 of it,
 * so that binary rounding (0.7 × 10 = 7.000000000000001) does not demand one vote too many.
 */
export function requiredYesVotes(memberCount: number, joinQuorum: number): number {
  const exact = joinQuorum * memberCount;
  const nearest = Math.round(exact);
  const needed = Math.abs(exact - nearest) < 1e-9 ? nearest : Math.ceil(exact);
  return Math.min(memberCount, Math.max(1, needed));
}

/**
 * The state of a proposal given the active member organizations at tally time (votes of
 * non-members are ignored): accepted once yes-votes reach {@link requiredYesVotes}; rejected once
 * the members who have not voted could no longer bring it there; open otherwise. Pure.
 */
export function tallyVotes(
  members: readonly string[],
  votes: Readonly<Record<string, boolean>>,
  joinQuorum: number,
): ProposalStatus {
  let yes = 0;
  let no = 0;
  for (const org of members) {
    if (!Object.hasOwn(votes, org)) continue;
    if (votes[org] === true) yes++;
    else no++;
  }
  const needed = requiredYesVotes(members.length, joinQuorum);
  if (yes >= needed) return 'accepted';
  if (members.length - no < needed) return 'rejected';
  return 'open';
}

/** DIDs of the active member organizations, in key order. */
export function memberOrgs(reader: Pick<StateReader, 'range'>): string[] {
  const out: string[] = [];
  for (const [, org] of reader.range<OrgRecord>(StateKey.ORG_PREFIX))
    if (org.status === 'active') out.push(org.did);
  return out;
}

/** Tallies `proposal`, admits the organization on acceptance, and stores the proposal. */
function settle(ctx: ContractContext, proposal: ProposalRecord): void {
  const status = tallyVotes(memberOrgs(ctx), proposal.votes, ctx.params.joinQuorum);
  if (status === 'accepted') admit(ctx, proposal);
  const stored: ProposalRecord =
    status === 'open' ? proposal : { ...proposal, status, closedAt: ctx.block.time };
  ctx.put(StateKey.proposal(proposal.id), stored);
}

/**
 * Writes the admitted organization and its first admin. Both were free when the proposal was
 * opened; if another transaction took either since, the deciding vote is rejected (ORG_EXISTS or
 * ALREADY_REGISTERED) and the proposal stays open until enough members vote no.
 */
function admit(ctx: ContractContext, proposal: ProposalRecord): void {
  if (ctx.get(StateKey.org(proposal.org.did)) !== undefined) {
    throw new TxRejected(
      ResultCode.ORG_EXISTS,
      `organization ${proposal.org.did} became a member while proposal ${proposal.id} was open`,
    );
  }
  if (getParty(ctx, proposal.admin.did) !== undefined) {
    throw new TxRejected(
      ResultCode.ALREADY_REGISTERED,
      `admin ${proposal.admin.did} was registered while proposal ${proposal.id} was open`,
    );
  }
  const org: OrgRecord = { ...proposal.org, status: 'active', joinedAt: ctx.block.time };
  ctx.put(StateKey.org(org.did), org);
  writePractitioner(ctx, { ...proposal.admin, org: org.did, roles: ['admin'], registeredAt: ctx.block.time });
}

// ---------------------------------------------------------------------------------------------
// Contracts
// ---------------------------------------------------------------------------------------------

export const orgPropose: Contract<OrgProposePayload> = {
  parse: (payload) => parsePayload(orgProposeSchema, payload),
  execute(ctx, payload) {
    const admin = requireOrgAdmin(ctx);
    if (ctx.get(StateKey.proposal(payload.proposalId)) !== undefined) {
      throw new TxRejected(ResultCode.PROPOSAL_EXISTS, `proposal ${payload.proposalId} already exists`);
    }
    if (ctx.get(StateKey.org(payload.org.did)) !== undefined) {
      throw new TxRejected(ResultCode.ORG_EXISTS, `organization ${payload.org.did} is already a member`);
    }
    if (getParty(ctx, payload.admin.did) !== undefined) {
      throw new TxRejected(
        ResultCode.ALREADY_REGISTERED,
        `"payload.admin.did" ${payload.admin.did} is already registered`,
      );
    }
    settle(ctx, {
      id: payload.proposalId,
      kind: 'org.add',
      org: payload.org,
      admin: payload.admin,
      proposer: admin.org,
      proposedBy: ctx.signer,
      votes: { [admin.org]: true },
      status: 'open',
      openedAt: ctx.block.time,
    });
  },
};

export const orgVote: Contract<OrgVotePayload> = {
  parse: (payload) => parsePayload(orgVoteSchema, payload),
  execute(ctx, payload) {
    const admin = requireOrgAdmin(ctx);
    const proposal = ctx.get<ProposalRecord>(StateKey.proposal(payload.proposalId));
    if (proposal === undefined) {
      throw new TxRejected(ResultCode.PROPOSAL_NOT_FOUND, `proposal ${payload.proposalId} does not exist`);
    }
    if (proposal.status !== 'open') {
      throw new TxRejected(
        ResultCode.PROPOSAL_CLOSED,
        `proposal ${payload.proposalId} is ${proposal.status}`,
      );
    }
    if (Object.hasOwn(proposal.votes, admin.org)) {
      throw new TxRejected(
        ResultCode.ALREADY_VOTED,
        `organization ${admin.org} already voted on proposal ${payload.proposalId}`,
      );
    }
    settle(ctx, { ...proposal, votes: { ...proposal.votes, [admin.org]: payload.approve } });
  },
};

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

// ---------------------------------------------------------------------------------------------
// Genesis
// ---------------------------------------------------------------------------------------------

function genesisError(field: string, reason: string): Error {
  return new Error(`invalid genesis document: "${field}" ${reason}`);
}

/**
 * Validates a genesis document, throwing a plain `Error` naming the bad field (genesis is not a
 * transaction: a bad one stops the node). Checks the shape and that no organization or party DID
 * appears twice or already exists in `state`.
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
  const orgs = new Set<string>();
  const parties = new Set<string>();
  doc.founders.forEach((founder, f) => {
    const orgField = `genesis.founders[${f}].org.did`;
    if (orgs.has(founder.org.did) || state?.get(StateKey.org(founder.org.did)) !== undefined) {
      throw genesisError(orgField, 'names an organization twice');
    }
    orgs.add(founder.org.did);
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
