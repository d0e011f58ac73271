/**
 * Discovery from the ledger: which organizations keep records of a patient (record anchors name
 * their custodian) and where their nodes are (node parties carry their URL and region).
 */
import { isMemberOrg, type RecordEntry, type StateReader } from '../../contracts/index.js';
import { StateKey } from '../../ledger/index.js';
import type { PartyRecord } from '../../ledger/types.js';

/** A node of a custodian organization, as the ledger lists it. */
export interface CustodianNode {
  readonly did: string;
  readonly org: string;
  readonly url: string;
  readonly region: string | undefined;
}

/** Most record → custodian pairs a `CustodianDirectory` remembers before it starts over. */
export const MAX_REMEMBERED_RECORDS = 200_000;

/**
 * Which organizations keep a patient's records, from the record anchors on the ledger. A record's
 * custodian never changes (version 1 fixes it), so it is remembered per record id: a lookup
 * reads the patient's record index and only the anchors it has not seen yet.
 */
export class CustodianDirectory {
  private readonly custodianOf = new Map<string, string>();

  constructor(
    private readonly state: StateReader,
    private readonly maxRemembered = MAX_REMEMBERED_RECORDS,
  ) {}

  /**
   * Organizations other than `exceptOrg` that keep anchored records of `patient`, in DID
   * order (erased records included: their custodian answers with nothing). Nothing when no other
   * organization is a member.
   */
  custodiansOf(patient: string, exceptOrg: string): string[] {
    const others = this.state
      .range<unknown>(StateKey.ORG_PREFIX)
      .some(([key]) => key !== StateKey.org(exceptOrg));
    if (!others) return [];
    if (this.custodianOf.size > this.maxRemembered) this.custodianOf.clear();
    const orgs = new Set<string>();
    for (const [, recordId] of this.state.range<string>(StateKey.patientRecordsPrefix(patient))) {
      let custodian = this.custodianOf.get(recordId);
      if (custodian === undefined) {
        custodian = this.state.get<RecordEntry>(StateKey.record(recordId))?.custodian;
        if (custodian === undefined) continue;
        this.custodianOf.set(recordId, custodian);
      }
      if (custodian !== exceptOrg) orgs.add(custodian);
    }
    return [...orgs].sort();
  }
}

/** The active nodes of an active member organization that publish a URL, in DID order. */
export function nodesOfOrg(state: StateReader, org: string): CustodianNode[] {
  if (!isMemberOrg(state, org)) return [];
  const out: CustodianNode[] = [];
  const prefix = StateKey.orgNodesPrefix(org);
  for (const [key] of state.range<unknown>(prefix)) {
    const party = state.get<PartyRecord>(StateKey.party(key.slice(prefix.length)));
    if (party?.kind !== 'node' || party.status !== 'active' || party.org !== org) continue;
    if (party.url === undefined || !/^https?:\/\//.test(party.url)) continue;
    out.push({ did: party.did, org, url: party.url.replace(/\/+$/, ''), region: party.region });
  }
  return out;
}
