/**
 * `GET /emergency/accesses/:id/keys` (node → the practitioner who broke the glass): where the
 * break-glass keys stand on the practitioner's node. Counts and times only, never a share or key.
 */

/** The route, with `:id` the emergency access id. */
export const EMERGENCY_KEYS_PATH = '/emergency/accesses/:id/keys';

/** The path for access `id`. */
export function emergencyKeysPath(id: string): string {
  return EMERGENCY_KEYS_PATH.replace(':id', encodeURIComponent(id));
}

/** The answer. */
export interface EmergencyKeysResponse {
  readonly id: string;
  readonly patient: string;
  readonly start: number;
  readonly end: number;
  readonly threshold: number;
  /** Trustee organizations of the access (at most this many releases can come). */
  readonly trustees: number;
  /** Trustee releases on the node's ledger. */
  readonly releases: number;
  /**
   * `waiting`: fewer usable releases than the threshold so far; `ready`: the node holds the keys;
   * `invalid`: the releases do not reconstruct the committed escrow key; `ended`: the window is over.
   */
  readonly keys: 'waiting' | 'ready' | 'invalid' | 'ended';
  /** Why `invalid` (EMERGENCY_SHARES_INVALID). */
  readonly code?: string;
}
