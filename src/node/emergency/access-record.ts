/**
 * A break-glass access as a node reads it from its own ledger (`emergency/<id>`, written by the
 * `emergency.access` contract, releases appended by `emergency.release`), and the active access
 * of a practitioner to a patient. Nodes decide activity (`start ≤ t < end`) with their own clock,
 * so a custodian refuses once its clock passes `end`, whatever the requester thinks.
 */
import { isEmergencyActive, type EmergencyAccessRecord, type StateReader } from '../../contracts/index.js';
import { StateKey } from '../../ledger/index.js';

export type { EmergencyAccessRecord } from '../../contracts/index.js';

/** Access `id`, if the ledger has it. */
export function emergencyAccessOf(
  state: Pick<StateReader, 'get'>,
  id: string,
): EmergencyAccessRecord | undefined {
  return state.get<EmergencyAccessRecord>(StateKey.emergency(id));
}

/**
 * The active access of `requester` (of `org`) to `patient` at `at`, the one ending last when
 * there are several; undefined when none is active.
 */
export function activeEmergencyOf(
  state: StateReader,
  who: { readonly patient: string; readonly requester: string; readonly org: string; readonly at: number },
): EmergencyAccessRecord | undefined {
  let best: EmergencyAccessRecord | undefined;
  const prefix = StateKey.patientEmergencyPrefix(who.patient);
  for (const [key] of state.range<unknown>(prefix)) {
    const access = emergencyAccessOf(state, key.slice(prefix.length));
    if (
      access === undefined ||
      access.patient !== who.patient ||
      access.requester !== who.requester ||
      access.org !== who.org ||
      !isEmergencyActive(access, who.at)
    )
      continue;
    if (best === undefined || access.end > best.end) best = access;
  }
  return best;
}
