/** What the portal makes of a patient's emergency policy and break-glass accesses (pure). */
import type { EmergencyAccessSummary, EmergencyResponse } from '../../../src/wire/index.js';

/**
 * Break-glass accesses that ended while the keys they opened are still the escrowed ones: the
 * policy version has not moved since the access was granted under it (a rotation re-enables the
 * escrow, which moves it). Each is a reason to offer the patient a key rotation.
 */
export function endedSinceRotation(data: EmergencyResponse, now: number): EmergencyAccessSummary[] {
  const { policy } = data;
  if (policy === null) return [];
  return data.accesses.filter((a) => a.end <= now && a.policyVersion === policy.version);
}
