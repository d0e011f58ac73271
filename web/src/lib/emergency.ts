/**
 * Emergency access (break-glass) from the browser. The patient's side: enable it (the escrow of
 * the record keys is made here, in the wallet, and split among the trustee organizations), disable
 * it, flag a break-glass for review, rotate the keys after one, and refresh the escrow whenever
 * the key epoch moves. The practitioner's side: break the glass and wait until the node holds the
 * keys the trustees released. Every transaction is signed here (see submit.ts).
 */
import { currentEpoch } from '../../../src/client/consent.js';
import {
  buildEmergencyEnable,
  buildEscrowRefresh,
  consentRotateTx,
  emergencyAccessTx,
  emergencyDisableTx,
  emergencyFlagTx,
  selectTrustees,
} from '../../../src/client/emergency.js';
import { waitForEmergencyKeys, type EmergencyKeysResponse } from '../../../src/client/emergency-keys.js';
import {
  isEmergencyActive,
  MAX_EMERGENCY_DURATION_MS,
  type EmergencyReason,
} from '../../../src/contracts/emergency.js';
import { TxType, type SensitivityClass } from '../../../src/ledger/types.js';
import type { EmergencyAccessSummary, OrgSummary } from '../../../src/wire/index.js';
import { deriveRecordKeySeed, type Wallet } from '../../../src/wallet/wallet.js';
import { browserFetch, ledger, NODE_URL } from './node.js';
export { endedSinceRotation } from './emergency-state.js';
import { submit } from './submit.js';

export { isEmergencyActive, MAX_EMERGENCY_DURATION_MS };

/** The reasons a practitioner can give (HL7 v3 ActReason, coded: no free text on the chain). */
export const REASON_WORDS: Readonly<Record<EmergencyReason, string>> = {
  ETREAT: 'Emergency treatment (ETREAT)',
  BTG: 'Break the glass (BTG)',
};

/** Runs `build` with the wallet's record-key seed, wiped afterwards. */
async function withRecordKeySeed<T>(wallet: Wallet, build: (seed: Uint8Array) => Promise<T>): Promise<T> {
  const seed = deriveRecordKeySeed(wallet);
  try {
    return await build(seed);
  } finally {
    seed.fill(0);
  }
}

/**
 * Allows emergency access to the records of `classes`: escrows their keys (epochs 0..current)
 * under a fresh key split among every active member organization (at most seven), a strict
 * majority needed to open it.
 */
export async function enableEmergencyAccess(
  wallet: Wallet,
  classes: readonly SensitivityClass[],
): Promise<void> {
  const [{ orgs }, consents] = await Promise.all([ledger.orgs(), ledger.consents(wallet.did)]);
  const tx = await withRecordKeySeed(wallet, (recordKeySeed) =>
    buildEmergencyEnable({
      patient: wallet.did,
      recordKeySeed,
      trustees: selectTrustees(orgs),
      epoch: currentEpoch(consents.grants, consents.rotations),
      classes,
    }),
  );
  await submit(wallet, TxType.EmergencyEnable, tx.payload);
}

/** The patient opts out: no break-glass from now on (the escrow leaves the ledger state). */
export async function disableEmergencyAccess(wallet: Wallet): Promise<void> {
  await submit(wallet, TxType.EmergencyDisable, emergencyDisableTx().payload);
}

/** Marks a break-glass for review by the patient's organizations. */
export async function flagEmergencyAccess(wallet: Wallet, access: string): Promise<void> {
  await submit(wallet, TxType.EmergencyFlag, emergencyFlagTx({ access }).payload);
}

/**
 * After the key epoch moved: an enabled policy's escrow is made again at the new epoch (same
 * classes and trustees), so a break-glass opens what is written from now on too.
 */
export async function refreshEmergencyEscrow(wallet: Wallet, orgs: readonly OrgSummary[]): Promise<void> {
  const [emergency, consents] = await Promise.all([
    ledger.emergency(wallet.did),
    ledger.consents(wallet.did),
  ]);
  const tx = await withRecordKeySeed(wallet, (recordKeySeed) =>
    buildEscrowRefresh({
      policy: emergency.policy,
      orgs,
      patient: wallet.did,
      recordKeySeed,
      epoch: currentEpoch(consents.grants, consents.rotations),
    }),
  );
  if (tx !== undefined) await submit(wallet, TxType.EmergencyEnable, tx.payload);
}

/**
 * Moves the patient's record keys to a new epoch (`consent.rotate`), hands the new keys to the
 * active grants (`rekey`) and refreshes the escrow: whoever held the old keys during a
 * break-glass cannot open what is written from now on.
 */
export async function rotateKeys(
  wallet: Wallet,
  orgs: readonly OrgSummary[],
  rekey: (wallet: Wallet, orgs: readonly OrgSummary[]) => Promise<void>,
): Promise<void> {
  await submit(wallet, TxType.ConsentRotate, consentRotateTx().payload);
  await rekey(wallet, orgs);
  await refreshEmergencyEscrow(wallet, orgs);
}

/** Durations offered to the practitioner (the ledger allows up to 24 hours). */
export const DURATIONS: ReadonlyArray<readonly [number, string]> = [
  [60 * 60_000, '1 hour'],
  [4 * 60 * 60_000, '4 hours'],
  [12 * 60 * 60_000, '12 hours'],
  [MAX_EMERGENCY_DURATION_MS, '24 hours'],
];

/** How long the console waits for the trustees' releases before it says how many came. */
const RELEASE_WAIT_MS = 60_000;

/**
 * A practitioner with the emergency role breaks the glass for `patient`: the access goes on the
 * ledger, the trustee nodes release their shares, and this waits until the node holds the keys
 * (or says why not).
 */
export async function breakGlass(
  wallet: Wallet,
  token: string,
  input: { readonly patient: string; readonly reason: EmergencyReason; readonly durationMs: number },
): Promise<EmergencyKeysResponse> {
  const tx = emergencyAccessTx(input);
  await submit(wallet, TxType.EmergencyAccess, tx.payload);
  return waitForEmergencyKeys({
    baseUrl: NODE_URL,
    token,
    id: tx.payload.id,
    fetch: browserFetch,
    timeoutMs: RELEASE_WAIT_MS,
  });
}

/** The practitioner's own break-glass of `patient` that is active now, if any (from the ledger). */
export async function activeBreakGlass(
  patient: string,
  practitioner: string,
  now: number,
): Promise<EmergencyAccessSummary | undefined> {
  const { accesses } = await ledger.emergency(patient);
  return accesses.find((a) => a.requester === practitioner && isEmergencyActive(a, now));
}
