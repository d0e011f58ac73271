/**
 * A break-glass access as a node reads it from its own ledger (`emergency/<id>`, written by the
 * `emergency.access` contract, releases appended by `emergency.release`), and when it is active:
 * `start ≤ t < end` by THIS node's clock (contracts use the block time; nodes decide with their
 * own clock, so a custodian refuses once its clock passes `end` whatever the requester thinks).
 */
import type { StateReader } from '../../contracts/index.js';

/** A trustee's share of the escrow key, sealed to the trustee organization (HPKE, base64url parts). */
export interface SealedEscrowShare {
  readonly v: number;
  readonly suite: string;
  readonly enc: string;
  readonly ct: string;
}

/** One trustee's release: its share re-sealed to the requesting organization. */
export interface EmergencyReleaseRecord {
  readonly org: string;
  readonly node: string;
  readonly share: SealedEscrowShare;
  readonly at: number;
}

/** `emergency/<id>` (see the shared emergency spec). */
export interface EmergencyAccessRecord {
  readonly id: string;
  readonly patient: string;
  /** The practitioner who broke the glass. */
  readonly requester: string;
  /** The requester's organization: only its nodes may use the access. */
  readonly org: string;
  readonly reason: string;
  readonly start: number;
  readonly end: number;
  readonly policyVersion: number;
  readonly classes: readonly string[];
  readonly threshold: number;
  readonly trustees: ReadonlyArray<{ readonly org: string; readonly share: SealedEscrowShare }>;
  readonly escrow: {
    readonly commitment: string;
    readonly keys: { readonly iv: string; readonly ct: string };
    readonly epoch: number;
  };
  readonly releases: readonly EmergencyReleaseRecord[];
  readonly flagged?: { readonly by: string; readonly at: number };
}

/** The state key of access `id`. */
export function emergencyAccessKey(id: string): string {
  return `emergency/${id}`;
}

/** The prefix of the index of `patient`'s accesses (`idx/patient-emergency/<patient>/<id>`). */
export function patientEmergencyPrefix(patient: string): string {
  return `idx/patient-emergency/${patient}/`;
}

/** Whether `access` is active at `t` (ms). */
export function isActiveAt(access: Pick<EmergencyAccessRecord, 'start' | 'end'>, t: number): boolean {
  return access.start <= t && t < access.end;
}

/** Access `id`, if the ledger has it. */
export function emergencyAccessOf(state: Pick<StateReader, 'get'>, id: string): EmergencyAccessRecord | undefined {
  return state.get<EmergencyAccessRecord>(emergencyAccessKey(id));
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
  const prefix = patientEmergencyPrefix(who.patient);
  for (const [key] of state.range<unknown>(prefix)) {
    const access = emergencyAccessOf(state, key.slice(prefix.length));
    if (
      access === undefined ||
      access.patient !== who.patient ||
      access.requester !== who.requester ||
      access.org !== who.org ||
      !isActiveAt(access, who.at)
    )
      continue;
    if (best === undefined || access.end > best.end) best = access;
  }
  return best;
}

/** TEMPORARY until the contract lands (core helper): the IPS section types an emergency reaches. */
export const EMERGENCY_RESOURCE_TYPES: readonly string[] = [
  'Patient',
  'AllergyIntolerance',
  'Condition',
  'MedicationStatement',
  'MedicationRequest',
  'Medication',
  'Immunization',
  'Procedure',
  'Device',
  'DeviceUseStatement',
  'Observation',
  'DiagnosticReport',
];
