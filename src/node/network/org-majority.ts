/**
 * The network's majority, counted per member organization: each organization has one voice
 * however many nodes it runs, so that one member cannot outvote the others by adding nodes or by
 * having its nodes repeat a forged attestation.
 */

/** A node that may speak at a height: its organization and the value it attested, if any. */
export interface NodeVote {
  readonly org: string;
  /** `<block hash> <state root>` the node attested at the height, or undefined when it did not. */
  readonly value: string | undefined;
}

/**
 * Each organization's voice: the value attested by strictly more of its nodes than any other
 * value (organizations whose attesting nodes are split evenly, or that did not attest, have none).
 */
export function organizationVoices(votes: readonly NodeVote[]): Map<string, string> {
  const counts = new Map<string, Map<string, number>>();
  for (const { org, value } of votes) {
    if (value === undefined) continue;
    let values = counts.get(org);
    if (!values) counts.set(org, (values = new Map<string, number>()));
    values.set(value, (values.get(value) ?? 0) + 1);
  }
  const voices = new Map<string, string>();
  for (const [org, values] of counts) {
    let best: string | undefined;
    let bestCount = 0;
    let tied = false;
    for (const [value, count] of values) {
      if (count > bestCount) [best, bestCount, tied] = [value, count, false];
      else if (count === bestCount) tied = true;
    }
    if (best !== undefined && !tied) voices.set(org, best);
  }
  return voices;
}

/**
 * The value other than `ours` that a strict majority of the `memberCount` member organizations
 * voice, with how many voice it; undefined when there is none.
 */
export function outvotingValue(
  voices: ReadonlyMap<string, string>,
  ours: string,
  memberCount: number,
): { value: string; orgs: number } | undefined {
  const tally = new Map<string, number>();
  for (const value of voices.values()) tally.set(value, (tally.get(value) ?? 0) + 1);
  for (const [value, orgs] of tally) if (value !== ours && orgs > memberCount / 2) return { value, orgs };
  return undefined;
}
