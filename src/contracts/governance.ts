/**
 * Governance contract: the consortium's membership, decided by vote. Genesis names the founding
 * organizations; every other change to who is a member, or to a member's keys, is a proposal
 * (`proposal/<id>`, with a `kind`) that the member organizations vote on, one vote per
 * organization cast by any of its admins, accepted at ceil(joinQuorum × voters) yes-votes:
 * - `org.add` (`gov.org.propose`): admits an organization and its first admin;
 * - `org.suspend` / `org.reinstate` / `org.expel` (`gov.proposal.open`): changes a member's
 *   standing; the organization concerned neither proposes nor votes on its own suspension or
 *   expulsion, and is not counted among the voters;
 * - `org.rotate-key`: a new organization encryption key (grants sealed to the old key stay
 *   sealed to it: the organization keeps the old private key to open them);
 * - `node.rotate-key`: a node's new signing and/or encryption key (its DID stays).
 * Each organization registers its own nodes (src/contracts/governance-nodes.ts).
 */
import { z } from 'zod';
import { ResultCode } from '../ledger/codes.js';
import { TxRejected, type ContractContext } from '../ledger/contract.js';
import { StateKey } from '../ledger/keys.js';
import {
  didSchema,
  getParty,
  idSchema,
  key32Schema,
  parsePayload,
  requireOrgAdmin,
  type Contract,
  type Payload,
} from './common.js';
import { applyAccepted, checkApplicable, subjectAbstains, subjectOrg } from './governance-effects.js';
import { adminSchema, orgSchema } from './governance-genesis.js';
import { memberOrgs, tallyVotes, type ProposalStatus } from './governance-tally.js';

export { applyGenesis, validateGenesis } from './governance-genesis.js';
export { nodeRegister, nodeRegisterSchema, type NodeRegisterPayload } from './governance-nodes.js';
export { memberOrgs, requiredYesVotes, tallyVotes, type ProposalStatus } from './governance-tally.js';

// ---------------------------------------------------------------------------------------------
// Payloads
// ---------------------------------------------------------------------------------------------

export const orgProposeSchema = z.strictObject({
  proposalId: idSchema(),
  org: orgSchema,
  admin: adminSchema,
});
/** `gov.org.propose`: proposes a new member organization and its first admin. */
export type OrgProposePayload = Payload<typeof orgProposeSchema>;

export const orgVoteSchema = z.strictObject({ proposalId: idSchema(), approve: z.boolean() });
/** `gov.org.vote`: the signer's organization votes on an open proposal, of any kind. */
export type OrgVotePayload = Payload<typeof orgVoteSchema>;

export const STANDING_KINDS = ['org.suspend', 'org.reinstate', 'org.expel'] as const;
export type StandingKind = (typeof STANDING_KINDS)[number];

export const proposalOpenSchema = z.discriminatedUnion('kind', [
  z.strictObject({ proposalId: idSchema(), kind: z.enum(STANDING_KINDS), org: didSchema }),
  z.strictObject({
    proposalId: idSchema(),
    kind: z.literal('org.rotate-key'),
    org: didSchema,
    encryptionKey: key32Schema,
  }),
  z.strictObject({
    proposalId: idSchema(),
    kind: z.literal('node.rotate-key'),
    node: didSchema,
    signingKey: key32Schema.optional(),
    encryptionKey: key32Schema.optional(),
  }),
]);
/** `gov.proposal.open`: opens a proposal about a member organization or one of its nodes. */
export type ProposalOpenPayload = Payload<typeof proposalOpenSchema>;
export type ProposalKind = 'org.add' | ProposalOpenPayload['kind'];

// ---------------------------------------------------------------------------------------------
// State records
// ---------------------------------------------------------------------------------------------

interface ProposalBase {
  readonly id: string;
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

/** A proposal to admit an organization. */
export interface OrgAddProposal extends ProposalBase {
  readonly kind: 'org.add';
  readonly org: OrgProposePayload['org'];
  readonly admin: OrgProposePayload['admin'];
}

/** A proposal to suspend, reinstate or expel the member `target`. */
export interface OrgStandingProposal extends ProposalBase {
  readonly kind: StandingKind;
  readonly target: string;
}

/** A proposal to replace the encryption key of the member `target`. */
export interface OrgRotateKeyProposal extends ProposalBase {
  readonly kind: 'org.rotate-key';
  readonly target: string;
  readonly encryptionKey: string;
}

/** A proposal to replace the keys of `node`, a node of `target`. */
export interface NodeRotateKeyProposal extends ProposalBase {
  readonly kind: 'node.rotate-key';
  readonly target: string;
  readonly node: string;
  readonly signingKey?: string;
  readonly encryptionKey?: string;
}

/** `proposal/<id>`. */
export type ProposalRecord = OrgAddProposal | OrgStandingProposal | OrgRotateKeyProposal | NodeRotateKeyProposal;

// ---------------------------------------------------------------------------------------------
// Settling
// ---------------------------------------------------------------------------------------------

/** The organizations whose votes count on `proposal` now: the members, less an abstaining subject. */
function votersOf(ctx: ContractContext, proposal: ProposalRecord): string[] {
  const members = memberOrgs(ctx);
  return subjectAbstains(proposal) ? members.filter((org) => org !== subjectOrg(proposal)) : members;
}

/** Tallies `proposal`, carries it out on acceptance, and stores it. */
function settle(ctx: ContractContext, proposal: ProposalRecord): void {
  const status = tallyVotes(votersOf(ctx, proposal), proposal.votes, ctx.params.joinQuorum);
  if (status === 'accepted') {
    checkApplicable(ctx, proposal);
    applyAccepted(ctx, proposal);
  }
  const stored: ProposalRecord =
    status === 'open' ? proposal : { ...proposal, status, closedAt: ctx.block.time };
  ctx.put(StateKey.proposal(proposal.id), stored);
}

/** PROPOSAL_EXISTS unless the id is free. */
function requireFreeProposalId(ctx: ContractContext, proposalId: string): void {
  if (ctx.get(StateKey.proposal(proposalId)) !== undefined) {
    throw new TxRejected(ResultCode.PROPOSAL_EXISTS, `proposal ${proposalId} already exists`);
  }
}

/** The record of a new proposal, before its first tally: the proposer's organization votes yes. */
function opened(ctx: ContractContext, admin: { org: string }, id: string) {
  return {
    id,
    proposer: admin.org,
    proposedBy: ctx.signer,
    votes: { [admin.org]: true },
    status: 'open' as const,
    openedAt: ctx.block.time,
  };
}

// ---------------------------------------------------------------------------------------------
// Contracts
// ---------------------------------------------------------------------------------------------

/** NOT_ORG_ADMIN, PROPOSAL_EXISTS, ORG_EXISTS, ALREADY_REGISTERED. */
export const orgPropose: Contract<OrgProposePayload> = {
  parse: (payload) => parsePayload(orgProposeSchema, payload),
  execute(ctx, payload) {
    const admin = requireOrgAdmin(ctx);
    requireFreeProposalId(ctx, payload.proposalId);
    const proposal: OrgAddProposal = {
      ...opened(ctx, admin, payload.proposalId),
      kind: 'org.add',
      org: payload.org,
      admin: payload.admin,
    };
    checkApplicable(ctx, proposal);
    settle(ctx, proposal);
  },
};

/** The record `gov.proposal.open` stores for `payload` (the node's organization read from state). */
function proposalOf(ctx: ContractContext, admin: { org: string }, payload: ProposalOpenPayload): ProposalRecord {
  const base = opened(ctx, admin, payload.proposalId);
  switch (payload.kind) {
    case 'org.rotate-key':
      return { ...base, kind: payload.kind, target: payload.org, encryptionKey: payload.encryptionKey };
    case 'node.rotate-key': {
      if (payload.signingKey === undefined && payload.encryptionKey === undefined) {
        throw new TxRejected(ResultCode.INVALID_PAYLOAD, '"payload" expected signingKey, encryptionKey or both');
      }
      const target = getParty(ctx, payload.node)?.org;
      if (target === undefined) throw new TxRejected(ResultCode.UNKNOWN_PARTY, `${payload.node} is not a node`);
      return {
        ...base,
        kind: payload.kind,
        target,
        node: payload.node,
        ...(payload.signingKey === undefined ? {} : { signingKey: payload.signingKey }),
        ...(payload.encryptionKey === undefined ? {} : { encryptionKey: payload.encryptionKey }),
      };
    }
    case 'org.suspend':
    case 'org.reinstate':
    case 'org.expel':
      return { ...base, kind: payload.kind, target: payload.org };
  }
}

/**
 * NOT_ORG_ADMIN, PROPOSAL_EXISTS, NOT_AUTHORIZED (an organization proposing its own suspension or
 * expulsion), and the codes of {@link checkApplicable}.
 */
export const proposalOpen: Contract<ProposalOpenPayload> = {
  parse: (payload) => parsePayload(proposalOpenSchema, payload),
  execute(ctx, payload) {
    const admin = requireOrgAdmin(ctx);
    requireFreeProposalId(ctx, payload.proposalId);
    const proposal = proposalOf(ctx, admin, payload);
    if (subjectAbstains(proposal) && subjectOrg(proposal) === admin.org) {
      throw new TxRejected(ResultCode.NOT_AUTHORIZED, `organization ${admin.org} cannot propose its own ${proposal.kind}`);
    }
    checkApplicable(ctx, proposal);
    settle(ctx, proposal);
  },
};

/** NOT_ORG_ADMIN, PROPOSAL_NOT_FOUND, PROPOSAL_CLOSED, ALREADY_VOTED, NOT_AUTHORIZED (own standing). */
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
    if (subjectAbstains(proposal) && subjectOrg(proposal) === admin.org) {
      throw new TxRejected(
        ResultCode.NOT_AUTHORIZED,
        `organization ${admin.org} does not vote on its own ${proposal.kind}`,
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
