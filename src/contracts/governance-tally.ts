/**
 * How governance proposals are decided: one vote per member organization, accepted at
 * ceil(joinQuorum × voters) yes-votes. Pure functions of the state they are given.
 */
import { StateKey } from '../ledger/keys.js';
import type { OrgRecord } from '../ledger/types.js';
import type { StateReader } from './common.js';

export type ProposalStatus = 'open' | 'accepted' | 'rejected';

/**
 * Yes-votes needed to accept a proposal among `memberCount` voters: ceil(joinQuorum × N), at
 * least 1 and at most N. The product is snapped to the nearest integer when within 1e-9 of it,
 * so that binary rounding (0.7 × 10 = 7.000000000000001) does not demand one vote too many.
 */
export function requiredYesVotes(memberCount: number, joinQuorum: number): number {
  const exact = joinQuorum * memberCount;
  const nearest = Math.round(exact);
  const needed = Math.abs(exact - nearest) < 1e-9 ? nearest : Math.ceil(exact);
  return Math.min(memberCount, Math.max(1, needed));
}

/**
 * The state of a proposal given the organizations entitled to vote at tally time (votes of
 * anyone else are ignored): accepted once yes-votes reach {@link requiredYesVotes}; rejected once
 * the voters who have not voted could no longer bring it there; open otherwise. Pure.
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
