/**
 * The trustee side of break-glass: when an active `emergency.access` names this node's
 * organization as a trustee, the node opens its organization's share of the patient's escrow key
 * (sealed to the organization's X25519 key) and submits `emergency.release` with the share
 * re-sealed to the REQUESTING organization's key, bound to the access, that organization and the
 * escrow commitment. Once per access and organization: the access's `releases` on the ledger say
 * whether this organization released already (so a restart, or a second node of the same
 * organization, does not release twice; the contract refuses a second release anyway). Nothing
 * is released for an access that is not active by this node's clock.
 */
import { fromBase64Url } from '../../crypto/index.js';
import { StateKey, createTx, signTx } from '../../ledger/index.js';
import type { OrgRecord } from '../../ledger/types.js';
import { openEscrowShare, sealReleasedShare } from '../../vault/index.js';
import type { FhirNodePort } from '../fhir/request.js';
import { isEmergencyActive, type EmergencyAccessRecord } from '../../contracts/index.js';

/** How long a release waits for its commit. */
export const RELEASE_COMMIT_WAIT_MS = 15_000;

/** What the trustee side needs of its node (its keys, ledger state and transaction submission). */
export type TrusteePort = Pick<
  FhirNodePort,
  | 'did'
  | 'chainId'
  | 'orgDid'
  | 'nodeSecretKey'
  | 'orgEncryptionSecretKey'
  | 'state'
  | 'submit'
  | 'waitForCommit'
>;

/** How one release attempt ended. */
export type ReleaseOutcome =
  | { readonly kind: 'released' }
  /** Not this node's to release: not a trustee, already released, in progress, or not active. */
  | { readonly kind: 'skipped' }
  /** It failed; another attempt may succeed (the code says why, never the share). */
  | { readonly kind: 'failed'; readonly code: string };

/**
 * Releases this organization's shares (see the module comment).
 *
 * @example
 * await new TrusteeRelease(port).release(access, Date.now());
 */
export class TrusteeRelease {
  /** Accesses whose release this node is submitting now. */
  private readonly inProgress = new Set<string>();

  constructor(private readonly port: TrusteePort) {}

  /** Whether this node's organization still owes `access` its share at `now`. */
  owes(access: EmergencyAccessRecord, now: number): boolean {
    const org = this.port.orgDid;
    return (
      isEmergencyActive(access, now) &&
      access.trustees.some((t) => t.org === org) &&
      !access.releases.some((r) => r.org === org) &&
      !this.inProgress.has(access.id)
    );
  }

  /** Releases the share of this organization for `access` when it owes it. */
  async release(access: EmergencyAccessRecord, now: number): Promise<ReleaseOutcome> {
    if (!this.owes(access, now)) return { kind: 'skipped' };
    this.inProgress.add(access.id);
    try {
      return await this.submitRelease(access);
    } finally {
      this.inProgress.delete(access.id);
    }
  }

  private async submitRelease(access: EmergencyAccessRecord): Promise<ReleaseOutcome> {
    const { port } = this;
    const sealed = access.trustees.find((t) => t.org === port.orgDid)?.share;
    const requester = port.state.get<OrgRecord>(StateKey.org(access.org));
    if (sealed === undefined || requester === undefined) return { kind: 'failed', code: 'EMERGENCY_UNKNOWN' };
    let share: Uint8Array;
    try {
      share = await openEscrowShare({
        secretKey: port.orgEncryptionSecretKey,
        sealed,
        patient: access.patient,
        trustee: port.orgDid,
        commitment: access.escrow.commitment,
      });
    } catch {
      // A share sealed to another key or context: this organization cannot help.
      return { kind: 'failed', code: 'EMERGENCY_SHARE_UNOPENABLE' };
    }
    let released;
    try {
      released = await sealReleasedShare({
        requesterPublicKey: fromBase64Url(requester.encryptionKey),
        share,
        access: access.id,
        requester: access.org,
        commitment: access.escrow.commitment,
      });
    } finally {
      share.fill(0);
    }
    const envelope = signTx(
      createTx({
        chainId: port.chainId,
        type: 'emergency.release',
        signer: port.did,
        payload: { access: access.id, share: released },
      }),
      port.nodeSecretKey,
    );
    const outcome = await port.submit([envelope]);
    const accepted = outcome.accepted[0];
    if (accepted === undefined) return { kind: 'failed', code: outcome.rejected[0]?.code ?? 'REJECTED' };
    const committed = await port.waitForCommit(accepted.id, RELEASE_COMMIT_WAIT_MS);
    return committed.code === 'OK' ? { kind: 'released' } : { kind: 'failed', code: committed.code };
  }
}
