/**
 * Emergency access (break-glass) for clients: builders of the emergency transactions and
 * `consent.rotate`, and readers of `GET /ledger/patients/:did/emergency`. The CLI and the web app
 * both use them. A builder returns the transaction's type and payload; sign it with `signedTx`
 * (or `signedTxAsync` in a browser) and submit it.
 *
 * `buildEmergencyEnable` makes the escrow (src/vault/escrow.ts) where the patient's wallet is:
 * the record keys never leave it unencrypted.
 */
import type { TxPayloads } from '../contracts/index.js';
import { fromBase64Url, randomBytes, toBase64Url } from '../crypto/index.js';
import type { SensitivityClass, TxType } from '../ledger/types.js';
import {
  createEscrow,
  DEFAULT_EMERGENCY_CLASSES,
  defaultEmergencyThreshold,
  MAX_ESCROW_TRUSTEES,
} from '../vault/escrow.js';
import type {
  EmergencyAccessSummary,
  EmergencyPolicySummary,
  EmergencyResponse,
  OrgSummary,
} from '../wire/index.js';
import { ClientErrorCode, RoamApiError } from './errors.js';

/** A transaction before signing: its type and payload. */
export interface UnsignedTx<T extends TxType> {
  readonly type: T;
  readonly payload: TxPayloads[T];
}

/** An organization as `GET /ledger/orgs` lists it (what a trustee needs). */
export interface TrusteeCandidate {
  readonly did: string;
  readonly name?: string;
  readonly encryptionKey: string;
  readonly status: OrgSummary['status'];
}

function invalid(message: string): RoamApiError {
  return new RoamApiError(0, ClientErrorCode.INVALID_ARGUMENT, message);
}

/**
 * The trustees of an escrow: the organizations named in `wanted` (by DID or name), or by default
 * every active member organization, at most {@link MAX_ESCROW_TRUSTEES}, in ledger order.
 *
 * @throws RoamApiError INVALID_ARGUMENT naming an organization that is not an active member, a
 *   repeated one, or more than seven
 */
export function selectTrustees<O extends TrusteeCandidate>(orgs: readonly O[], wanted?: readonly string[]): O[] {
  const active = orgs.filter((org) => org.status === 'active');
  if (wanted === undefined || wanted.length === 0) {
    if (active.length === 0) throw invalid('no active member organization to hold the escrow');
    return active.slice(0, MAX_ESCROW_TRUSTEES);
  }
  if (wanted.length > MAX_ESCROW_TRUSTEES) throw invalid(`at most ${MAX_ESCROW_TRUSTEES} trustees`);
  const chosen = wanted.map((name) => {
    const org = active.find((o) => o.did === name || o.name === name);
    if (org === undefined) throw invalid(`trustee ${JSON.stringify(name)} is not an active member organization`);
    return org;
  });
  if (new Set(chosen.map((o) => o.did)).size !== chosen.length) throw invalid('a trustee is named twice');
  return chosen;
}

export interface BuildEmergencyEnableOptions {
  /** The patient's DID. */
  readonly patient: string;
  /** The patient's 32-byte record-key seed (`deriveRecordKeySeed(wallet)`); not kept. */
  readonly recordKeySeed: Uint8Array;
  /** Trustee organizations (see {@link selectTrustees}). */
  readonly trustees: readonly TrusteeCandidate[];
  /** The patient's current epoch (`currentEpoch(consents.grants, consents.rotations)`). */
  readonly epoch: number;
  /** Default: a strict majority of the trustees. */
  readonly threshold?: number;
  /** Default: `general` only. */
  readonly classes?: readonly SensitivityClass[];
}

/**
 * `emergency.enable` with a fresh escrow of the patient's record keys of `classes` for epochs
 * 0..`epoch`, split among `trustees`.
 *
 * @throws VaultError VAULT_INVALID_ARGUMENT for a malformed argument (see `createEscrow`)
 * @example
 * const tx = await buildEmergencyEnable({ patient: wallet.did, recordKeySeed, trustees: selectTrustees(orgs), epoch });
 * await client.submit(signedTx(wallet, tx.type, tx.payload, { chainId }), { wait: 'commit' });
 */
export async function buildEmergencyEnable(
  options: BuildEmergencyEnableOptions,
): Promise<UnsignedTx<'emergency.enable'>> {
  const classes = options.classes ?? DEFAULT_EMERGENCY_CLASSES;
  const threshold = options.threshold ?? defaultEmergencyThreshold(options.trustees.length);
  const { trustees, escrow } = await createEscrow({
    patient: options.patient,
    recordKeySeed: options.recordKeySeed,
    classes,
    epoch: options.epoch,
    trustees: options.trustees.map((org) => ({ org: org.did, publicKey: fromBase64Url(org.encryptionKey) })),
    threshold,
  });
  return {
    type: 'emergency.enable',
    payload: {
      classes: [...classes],
      threshold,
      trustees: trustees.map((t) => ({ org: t.org, share: { ...t.share } })),
      escrow,
    },
  };
}

/**
 * After the patient's epoch moved (a revocation, `consent.rotate`): the `emergency.enable` that
 * refreshes an enabled policy's escrow at `epoch` with the same classes and trustees (those still
 * active members; the threshold lowered to their number if fewer remain), or undefined when
 * the policy is not enabled or already escrows `epoch`.
 */
export async function buildEscrowRefresh(options: {
  readonly policy: EmergencyPolicySummary | null;
  readonly orgs: readonly TrusteeCandidate[];
  readonly patient: string;
  readonly recordKeySeed: Uint8Array;
  readonly epoch: number;
}): Promise<UnsignedTx<'emergency.enable'> | undefined> {
  const { policy } = options;
  if (policy?.status !== 'enabled' || policy.escrow.epoch === options.epoch) return undefined;
  const trustees = options.orgs.filter((org) => org.status === 'active' && policy.trustees.includes(org.did));
  if (trustees.length === 0) throw invalid('none of the emergency trustees is an active member any more');
  return buildEmergencyEnable({
    patient: options.patient,
    recordKeySeed: options.recordKeySeed,
    trustees,
    epoch: options.epoch,
    threshold: Math.min(policy.threshold, trustees.length),
    classes: policy.classes,
  });
}

/** `emergency.disable`: the patient opts out. */
export function emergencyDisableTx(): UnsignedTx<'emergency.disable'> {
  return { type: 'emergency.disable', payload: {} };
}

/** A fresh emergency access id (`e-` and 16 random bytes, base64url). */
export function newEmergencyId(): string {
  return `e-${toBase64Url(randomBytes(16))}`;
}

/** `emergency.access`: a practitioner with the emergency role breaks the glass (id: a fresh one by default). */
export function emergencyAccessTx(options: {
  readonly id?: string;
  readonly patient: string;
  readonly reason: TxPayloads['emergency.access']['reason'];
  readonly durationMs: number;
}): UnsignedTx<'emergency.access'> {
  return {
    type: 'emergency.access',
    payload: {
      id: options.id ?? newEmergencyId(),
      patient: options.patient,
      reason: options.reason,
      durationMs: options.durationMs,
    },
  };
}

/** `emergency.flag`: the patient (or an admin of an organization it granted) flags an access. */
export function emergencyFlagTx(options: { readonly access: string }): UnsignedTx<'emergency.flag'> {
  return { type: 'emergency.flag', payload: { access: options.access } };
}

/** `consent.rotate`: the patient moves its record keys to a new epoch. */
export function consentRotateTx(): UnsignedTx<'consent.rotate'> {
  return { type: 'consent.rotate', payload: {} };
}

/** What the readers need of a client: `RoamClient` has it. */
export interface EmergencyReader {
  emergency(patientDid: string): Promise<EmergencyResponse>;
}

/** The patient's emergency policy (null when it never enabled one). */
export async function getEmergencyPolicy(
  client: EmergencyReader,
  patient: string,
): Promise<EmergencyPolicySummary | null> {
  return (await client.emergency(patient)).policy;
}

/** Every break-glass of the patient's record, oldest first. */
export async function listEmergencyAccesses(
  client: EmergencyReader,
  patient: string,
): Promise<readonly EmergencyAccessSummary[]> {
  return (await client.emergency(patient)).accesses;
}
