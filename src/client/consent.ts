/**
 * Rules every party applies to a patient's grants as the ledger lists them (`/ledger/patients/
 * :did/consents`): the CLI and the web app both use them, so they cannot drift apart.
 */
import type { SensitivityClass } from '../ledger/types.js';

/** What a grant is at time `now`: a grant past its expiry is still `active` in state. */
export type GrantState = 'active' | 'revoked' | 'expired';

/**
 * The patient's current record-key epoch: how many of its grants are revoked plus how many times
 * it rotated on its own (`rotations` of the consents answer; the rule every party applies, as
 * `currentEpoch` of src/contracts/consent.ts does on the ledger's state).
 *
 * @example currentEpoch(consents.grants, consents.rotations)
 */
export function currentEpoch(grants: ReadonlyArray<{ readonly status: string }>, rotations = 0): number {
  return grants.filter((g) => g.status === 'revoked').length + rotations;
}

/** `active`, `revoked` or `expired` at `now` (ms since the epoch). */
export function grantState(grant: { status: string; expiresAt: number | null }, now: number): GrantState {
  if (grant.status === 'revoked') return 'revoked';
  return grant.expiresAt !== null && grant.expiresAt <= now ? 'expired' : 'active';
}

/** The record keys a new grant carries: each class in scope, at epochs 0..`epoch`. */
export function grantKeyRefs(
  classes: readonly SensitivityClass[],
  epoch: number,
): Array<{ class: SensitivityClass; epoch: number }> {
  return classes.flatMap((cls) => Array.from({ length: epoch + 1 }, (_, e) => ({ class: cls, epoch: e })));
}

/** A scope's resource types as text: `all` for `*`. */
export function scopeText(types: readonly string[]): string {
  return types.includes('*') ? 'all' : types.join(',');
}
