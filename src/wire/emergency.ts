/**
 * `GET /ledger/patients/:did/emergency`: a patient's emergency (break-glass) policy and every
 * break-glass of its record, as the patient's portal and `roam emergency show` list them. Sealed
 * shares and the escrowed keys are left out (opaque, and of use only to trustee and requesting
 * nodes, which read their own ledger).
 */
import type {
  EmergencyAccessRecord,
  EmergencyReason,
  EnabledEmergencyPolicy,
  DisabledEmergencyPolicy,
} from '../contracts/emergency.js';
import type { SensitivityClass } from '../ledger/types.js';

/** An enabled policy with its trustees' DIDs and the escrow's commitment and epoch only. */
export interface EnabledEmergencyPolicySummary
  extends Omit<EnabledEmergencyPolicy, 'trustees' | 'escrow'> {
  readonly trustees: readonly string[];
  readonly escrow: { readonly commitment: string; readonly epoch: number };
}

export type EmergencyPolicySummary = EnabledEmergencyPolicySummary | DisabledEmergencyPolicy;

/** A release without its sealed share. */
export interface EmergencyReleaseSummary {
  readonly org: string;
  readonly node: string;
  readonly at: number;
}

/** A break-glass without shares or escrow, with its organization's name and region. */
export interface EmergencyAccessSummary
  extends Omit<EmergencyAccessRecord, 'trustees' | 'escrow' | 'releases'> {
  readonly reason: EmergencyReason;
  readonly classes: readonly SensitivityClass[];
  /** The requesting organization's name and region, as the ledger has them. */
  readonly orgName?: string;
  readonly region?: string;
  readonly trustees: readonly string[];
  readonly releases: readonly EmergencyReleaseSummary[];
}

export interface EmergencyResponse {
  /** The patient's policy, or null when it never enabled emergency access. */
  readonly policy: EmergencyPolicySummary | null;
  /** Every break-glass of the patient's record, oldest first. */
  readonly accesses: readonly EmergencyAccessSummary[];
}
