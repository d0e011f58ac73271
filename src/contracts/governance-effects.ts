/**
 * What each kind of governance proposal requires of the state and what it does once accepted.
 * The same checks run when a proposal is opened and again when it is accepted: the state may have
 * changed in between, and a proposal that no longer applies is not carried out (the deciding vote
 * is refused with the check's code and the proposal stays open until enough members vote no).
 */
import { ResultCode } from '../ledger/codes.js';
import { TxRejected, type ContractContext } from '../ledger/contract.js';
import { StateKey } from '../ledger/keys.js';
import type { OrgRecord, OrgStatus } from '../ledger/types.js';
import { getParty, writePractitioner, type StateReader } from './common.js';
import type { OrgAddProposal, ProposalRecord } from './governance.js';
import { activeNodesOf } from './governance-nodes.js';

/** The organization a proposal is about (not the proposer's), if it is already on the ledger. */
export function subjectOrg(proposal: ProposalRecord): string | undefined {
  return proposal.kind === 'org.add' ? undefined : proposal.target;
}

/**
 * Whether the organization concerned is left out of the vote: it does not decide on its own
 * suspension or expulsion (it may vote on its own key rotations).
 */
export function subjectAbstains(proposal: ProposalRecord): boolean {
  return proposal.kind === 'org.suspend' || proposal.kind === 'org.expel';
}

/** The statuses from which each change of standing may be made, and its verb for messages. */
const STANDING_CHANGES: Readonly<Record<'org.suspend' | 'org.reinstate' | 'org.expel', { from: readonly OrgStatus[]; verb: string }>> = {
  'org.suspend': { from: ['active'], verb: 'suspend it' },
  'org.reinstate': { from: ['suspended'], verb: 'reinstate it' },
  'org.expel': { from: ['active', 'suspended'], verb: 'expel it' },
};

function requireOrg(reader: Pick<StateReader, 'get'>, did: string, allowed: readonly OrgStatus[], action: string): OrgRecord {
  const org = reader.get<OrgRecord>(StateKey.org(did));
  if (org === undefined) throw new TxRejected(ResultCode.UNKNOWN_ORG, `organization ${did} is not on the ledger`);
  if (!allowed.includes(org.status)) {
    throw new TxRejected(ResultCode.WRONG_ORG_STATUS, `organization ${did} is ${org.status}: cannot ${action}`);
  }
  return org;
}

/**
 * Throws the TxRejected that says why `proposal` cannot be carried out on the current state:
 * ORG_EXISTS / ALREADY_REGISTERED (org.add), UNKNOWN_ORG / WRONG_ORG_STATUS (standing, org key),
 * UNKNOWN_PARTY / PARTY_DEACTIVATED (node key), SAME_KEY (a rotation to the current key).
 */
export function checkApplicable(ctx: ContractContext, proposal: ProposalRecord): void {
  switch (proposal.kind) {
    case 'org.add':
      checkAdmissible(ctx, proposal);
      return;
    case 'org.suspend':
    case 'org.reinstate':
    case 'org.expel':
      requireOrg(ctx, proposal.target, STANDING_CHANGES[proposal.kind].from, STANDING_CHANGES[proposal.kind].verb);
      return;
    case 'org.rotate-key': {
      const org = requireOrg(ctx, proposal.target, ['active'], 'rotate its key');
      if (org.encryptionKey === proposal.encryptionKey)
        throw new TxRejected(ResultCode.SAME_KEY, `"encryptionKey" is organization ${org.did}'s current key`);
      return;
    }
    case 'node.rotate-key': {
      const node = getParty(ctx, proposal.node);
      if (node?.kind !== 'node' || node.org !== proposal.target)
        throw new TxRejected(ResultCode.UNKNOWN_PARTY, `${proposal.node} is not a node of ${proposal.target}`);
      if (node.status !== 'active') throw new TxRejected(ResultCode.PARTY_DEACTIVATED, `node ${node.did} is deactivated`);
      requireOrg(ctx, proposal.target, ['active'], "rotate its node's keys");
      const changes =
        (proposal.signingKey !== undefined && proposal.signingKey !== node.signingKey) ||
        (proposal.encryptionKey !== undefined && proposal.encryptionKey !== node.encryptionKey);
      if (!changes) throw new TxRejected(ResultCode.SAME_KEY, `the keys proposed are node ${node.did}'s current keys`);
      return;
    }
  }
}

/** The organization and its first admin must both still be free. */
function checkAdmissible(ctx: ContractContext, proposal: OrgAddProposal): void {
  if (ctx.get(StateKey.org(proposal.org.did)) !== undefined) {
    throw new TxRejected(ResultCode.ORG_EXISTS, `organization ${proposal.org.did} is already on the ledger`);
  }
  if (getParty(ctx, proposal.admin.did) !== undefined) {
    throw new TxRejected(ResultCode.ALREADY_REGISTERED, `admin ${proposal.admin.did} is already registered`);
  }
}

function setOrgStatus(ctx: ContractContext, did: string, status: OrgStatus): void {
  const org = ctx.get<OrgRecord>(StateKey.org(did));
  if (org !== undefined) ctx.put(StateKey.org(did), { ...org, status, statusChangedAt: ctx.block.time });
}

/** Carries out an accepted proposal (after {@link checkApplicable} passed on the same state). */
export function applyAccepted(ctx: ContractContext, proposal: ProposalRecord): void {
  switch (proposal.kind) {
    case 'org.add': {
      const org: OrgRecord = { ...proposal.org, status: 'active', joinedAt: ctx.block.time };
      ctx.put(StateKey.org(org.did), org);
      writePractitioner(ctx, { ...proposal.admin, org: org.did, roles: ['admin'], registeredAt: ctx.block.time });
      return;
    }
    case 'org.suspend':
      setOrgStatus(ctx, proposal.target, 'suspended');
      return;
    case 'org.reinstate':
      setOrgStatus(ctx, proposal.target, 'active');
      return;
    case 'org.expel':
      // Final: its nodes are deactivated too, so that a later mistake cannot bring them back.
      for (const node of activeNodesOf(ctx, proposal.target))
        ctx.put(StateKey.party(node.did), { ...node, status: 'deactivated' });
      setOrgStatus(ctx, proposal.target, 'expelled');
      return;
    case 'org.rotate-key': {
      const org = ctx.get<OrgRecord>(StateKey.org(proposal.target));
      if (org !== undefined) ctx.put(StateKey.org(org.did), { ...org, encryptionKey: proposal.encryptionKey });
      return;
    }
    case 'node.rotate-key': {
      const node = getParty(ctx, proposal.node);
      if (node === undefined) return;
      ctx.put(StateKey.party(node.did), {
        ...node,
        ...(proposal.signingKey === undefined ? {} : { signingKey: proposal.signingKey }),
        ...(proposal.encryptionKey === undefined ? {} : { encryptionKey: proposal.encryptionKey }),
      });
      return;
    }
  }
}
