/**
 * The answer of `GET /ledger/patients/:did/emergency`: a patient's emergency policy and its
 * break-glass accesses as the ledger keeps them, without the sealed shares and the escrowed keys
 * (opaque, and of use only to trustee and requesting nodes, which read their own state).
 */
import type { EmergencyAccessRecord, EmergencyPolicy, StateReader } from '../../contracts/index.js';
import { StateKey, type OrgRecord } from '../../ledger/index.js';
import type { EmergencyAccessSummary, EmergencyPolicySummary, EmergencyResponse } from '../../wire/index.js';

export function emergencyView(state: StateReader, patient: string): EmergencyResponse {
  const policy = state.get<EmergencyPolicy>(StateKey.emergencyPolicy(patient));
  const prefix = StateKey.patientEmergencyPrefix(patient);
  const accesses = state
    .range<string>(prefix)
    .flatMap(([key]) => {
      const access = state.get<EmergencyAccessRecord>(StateKey.emergency(key.slice(prefix.length)));
      return access === undefined ? [] : [accessSummary(state, access)];
    })
    // Oldest first; ids break ties in key order (the sort is stable).
    .sort((a, b) => a.start - b.start);
  return { policy: policy === undefined ? null : policySummary(policy), accesses };
}

function policySummary(policy: EmergencyPolicy): EmergencyPolicySummary {
  if (policy.status !== 'enabled') return policy;
  const { trustees, escrow, ...rest } = policy;
  return {
    ...rest,
    trustees: trustees.map((t) => t.org),
    escrow: { commitment: escrow.commitment, epoch: escrow.epoch },
  };
}

function accessSummary(state: StateReader, access: EmergencyAccessRecord): EmergencyAccessSummary {
  // The escrow is left out (see above): only the rest travels.
  const { trustees, escrow, releases, ...rest } = access;
  void escrow;
  const org = state.get<OrgRecord>(StateKey.org(access.org));
  return {
    ...rest,
    ...(org === undefined ? {} : { orgName: org.name, region: org.region }),
    trustees: trustees.map((t) => t.org),
    releases: releases.map(({ org: releasedBy, node, at }) => ({ org: releasedBy, node, at })),
  };
}
