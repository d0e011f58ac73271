/**
 * The requesting node's side of break-glass: once the releases of an active access of THIS
 * organization reach its threshold, the node opens each released share (re-sealed to the
 * organization's X25519 key, bound to the access, the organization and the escrow commitment),
 * reconstructs the escrow key from `threshold` of them — trying combinations until one matches
 * the commitment on the ledger, so a forged or wrong share is skipped — opens the escrowed record
 * keys, and hands them to the in-memory `EmergencyKeyStore` until the access ends.
 *
 * A share that does not open counts as absent. Fewer good shares than the threshold leave the
 * access waiting (more releases may come); enough shares that never match the commitment make it
 * `invalid` (EMERGENCY_SHARES_INVALID) until a new release arrives. Nothing secret is logged.
 */
import type { StateReader } from '../../contracts/index.js';
import { EscrowError, openEscrowedKeys, openReleasedShare, reconstructEscrowKey } from '../../vault/index.js';
import { isEmergencyActive, type EmergencyAccessRecord } from '../../contracts/index.js';
import type { EmergencyKeyStore } from './key-store.js';

/** Where the keys of one access stand on this node. */
export type EmergencyKeyStatus =
  /** Fewer releases than the threshold so far (or no attempt yet). */
  | { readonly state: 'waiting'; readonly releases: number; readonly threshold: number }
  | { readonly state: 'ready' }
  /** The releases at hand do not reconstruct the committed key (the code says why). */
  | {
      readonly state: 'invalid';
      readonly code: string;
      readonly releases: number;
      readonly threshold: number;
    }
  | { readonly state: 'ended' };

/** What the reconstruction needs of its node. */
export interface ReconstructionPort {
  readonly orgDid: string;
  readonly orgEncryptionSecretKey: Uint8Array;
  readonly state: StateReader;
}

/**
 * Reconstructs break-glass keys (see the module comment).
 *
 * @example
 * await reconstruction.reconstruct(access, Date.now());
 * reconstruction.statusOf(access, Date.now()); // { state: 'ready' }
 */
export class KeyReconstruction {
  /** Accesses whose releases did not reconstruct: how many releases were tried, and why not. */
  private readonly failed = new Map<string, { readonly releases: number; readonly code: string }>();
  private readonly inProgress = new Set<string>();

  constructor(
    private readonly port: ReconstructionPort,
    private readonly keys: EmergencyKeyStore,
  ) {}

  /** Where the keys of `access` stand at `now`. */
  statusOf(access: EmergencyAccessRecord, now: number): EmergencyKeyStatus {
    if (!isEmergencyActive(access, now)) return { state: 'ended' };
    if (this.keys.has(access.id)) return { state: 'ready' };
    const failed = this.failed.get(access.id);
    const counts = { releases: access.releases.length, threshold: access.threshold };
    if (failed !== undefined && failed.releases === access.releases.length)
      return { state: 'invalid', code: failed.code, ...counts };
    return { state: 'waiting', ...counts };
  }

  /** Reconstructs the keys of `access` when it is this organization's, active, and has enough releases. */
  async reconstruct(access: EmergencyAccessRecord, now: number): Promise<EmergencyKeyStatus> {
    const status = this.statusOf(access, now);
    if (
      access.org !== this.port.orgDid ||
      status.state !== 'waiting' ||
      access.releases.length < access.threshold ||
      this.inProgress.has(access.id)
    )
      return status;
    this.inProgress.add(access.id);
    try {
      await this.open(access);
      this.failed.delete(access.id);
    } catch (error) {
      if (!(error instanceof EscrowError)) throw error;
      this.failed.set(access.id, { releases: access.releases.length, code: error.code });
    } finally {
      this.inProgress.delete(access.id);
    }
    return this.statusOf(access, now);
  }

  private async open(access: EmergencyAccessRecord): Promise<void> {
    const { commitment } = access.escrow;
    const shares: Uint8Array[] = [];
    for (const release of access.releases) {
      try {
        shares.push(
          await openReleasedShare({
            secretKey: this.port.orgEncryptionSecretKey,
            sealed: release.share,
            access: access.id,
            requester: this.port.orgDid,
            commitment,
          }),
        );
      } catch {
        // A release that does not open to this organization is no share at all.
      }
    }
    let escrowKey: Uint8Array | undefined;
    try {
      escrowKey = await reconstructEscrowKey({
        shares,
        threshold: access.threshold,
        commitment,
        patient: access.patient,
      });
      const opened = await openEscrowedKeys({
        escrowKey,
        keys: access.escrow.keys,
        patient: access.patient,
        commitment,
      });
      this.keys.put({ access: access.id, patient: access.patient, end: access.end, keys: opened });
    } finally {
      escrowKey?.fill(0);
      for (const share of shares) share.fill(0);
    }
  }
}
