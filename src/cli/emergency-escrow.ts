/**
 * The patient's emergency escrow from the CLI: enabling it (`roam emergency enable`) and
 * refreshing it after the key epoch moved (`roam consent revoke`, `roam consent rotate`), so that
 * a break-glass opens the records written under the newest keys too.
 */
import { buildEmergencyEnable, buildEscrowRefresh, selectTrustees } from '../client/emergency.js';
import { currentEpoch } from '../client/consent.js';
import { RoamApiError } from '../client/errors.js';
import { TxType, type SensitivityClass } from '../ledger/index.js';
import { deriveRecordKeySeed, type Wallet } from '../wallet/index.js';
import { usage } from './common.js';
import type { NodeApi } from './connect.js';
import { describeError } from './output.js';

export interface EscrowChoice {
  /** Trustee organizations by DID or name; default: every active member (at most seven). */
  readonly trustees?: readonly string[];
  /** Default: a strict majority of the trustees. */
  readonly threshold?: number;
  /** Default: `general` only. */
  readonly classes?: readonly SensitivityClass[];
}

export interface EnabledEscrow {
  readonly txId: string;
  readonly height: number;
  readonly epoch: number;
  readonly classes: readonly SensitivityClass[];
  readonly threshold: number;
  readonly trustees: ReadonlyArray<{ readonly did: string; readonly name: string }>;
  readonly commitment: string;
}

/** Builds the escrow in the wallet and submits `emergency.enable`. */
export async function enableEmergency(api: NodeApi, wallet: Wallet, choice: EscrowChoice): Promise<EnabledEscrow> {
  const [orgs, consents] = await Promise.all([api.orgs(), api.consents(wallet.did)]);
  let trustees;
  try {
    trustees = selectTrustees(orgs, choice.trustees);
  } catch (error) {
    if (error instanceof RoamApiError) throw usage(error.message);
    throw error;
  }
  if (choice.threshold !== undefined && (choice.threshold < 1 || choice.threshold > trustees.length)) {
    throw usage(`--threshold must be from 1 to the number of trustees (${trustees.length})`);
  }
  const epoch = currentEpoch(consents.grants, consents.rotations);
  const recordKeySeed = deriveRecordKeySeed(wallet);
  let tx;
  try {
    tx = await buildEmergencyEnable({
      patient: wallet.did,
      recordKeySeed,
      trustees,
      epoch,
      ...(choice.threshold === undefined ? {} : { threshold: choice.threshold }),
      ...(choice.classes === undefined ? {} : { classes: choice.classes }),
    });
  } finally {
    recordKeySeed.fill(0);
  }
  const committed = await api.submit(wallet, TxType.EmergencyEnable, tx.payload);
  return {
    txId: committed.id,
    height: committed.height,
    epoch,
    classes: tx.payload.classes,
    threshold: tx.payload.threshold,
    trustees: trustees.map((org) => ({ did: org.did, name: org.name })),
    commitment: tx.payload.escrow.commitment,
  };
}

/** What became of an enabled policy's escrow after the epoch moved. */
export type EscrowRefresh =
  | { readonly status: 'unchanged' }
  | { readonly status: 'refreshed'; readonly epoch: number; readonly commitment: string; readonly txId: string }
  | { readonly status: 'failed'; readonly code: string; readonly message: string };

/**
 * Re-enables the patient's emergency policy (same classes and trustees) with a fresh escrow at
 * the current epoch, when it is enabled. Failures are returned, not thrown: the caller's own
 * transaction (a revocation, a rotation) has committed already.
 */
export async function refreshEmergencyEscrow(api: NodeApi, wallet: Wallet): Promise<EscrowRefresh> {
  try {
    const [emergency, consents, orgs] = await Promise.all([
      api.emergency(wallet.did),
      api.consents(wallet.did),
      api.orgs(),
    ]);
    const epoch = currentEpoch(consents.grants, consents.rotations);
    const recordKeySeed = deriveRecordKeySeed(wallet);
    let tx;
    try {
      tx = await buildEscrowRefresh({ policy: emergency.policy, orgs, patient: wallet.did, recordKeySeed, epoch });
    } finally {
      recordKeySeed.fill(0);
    }
    if (tx === undefined) return { status: 'unchanged' };
    const committed = await api.submit(wallet, TxType.EmergencyEnable, tx.payload);
    return { status: 'refreshed', epoch, commitment: tx.payload.escrow.commitment, txId: committed.id };
  } catch (error) {
    const { code, message } = describeError(error);
    return { status: 'failed', code, message };
  }
}

/** Lines telling what became of the escrow. */
export function escrowRefreshLines(refresh: EscrowRefresh): string[] {
  switch (refresh.status) {
    case 'unchanged':
      return [];
    case 'refreshed':
      return [`Emergency escrow refreshed at epoch ${refresh.epoch} (commitment ${refresh.commitment.slice(0, 16)}…, tx ${refresh.txId})`];
    case 'failed':
      return [`Emergency escrow NOT refreshed: ${refresh.code}: ${refresh.message} (run roam emergency enable again)`];
  }
}
