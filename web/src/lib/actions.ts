/**
 * What a wallet does on the ledger and the node from the browser: register, sign in, grant,
 * revoke (with the rekey of the other grants), answer access requests, request access. Every
 * transaction is built and signed here (WebCrypto), then submitted to `/ledger/tx`.
 */
import { requestChallenge, signInWith } from '../../../src/client/auth.js';
import { currentEpoch, grantKeyRefs, grantState } from '../../../src/client/consent.js';
import type {
  ConsentsResponse,
  OrgSummary,
  SubmitCommitted,
  TokenResponse,
} from '../../../src/wire/index.js';
import type { Purpose } from '../../../src/contracts/consent.js';
import { fromBase64Url, randomBytes, signAsync, toBase64Url } from '../../../src/crypto/index.js';
import { TxType, type GrantAccess, type SensitivityClass } from '../../../src/ledger/types.js';
import { sealGrantKeys } from '../../../src/vault/grants.js';
import type { KeyRef } from '../../../src/vault/keys.js';
import { deriveRecordKeySeed, type Wallet } from '../../../src/wallet/wallet.js';
import { refreshEmergencyEscrow } from './emergency.js';
import { browserFetch, errorText, ledger, NODE_URL, setLedgerSession } from './node.js';
import { submit } from './submit.js';

export { submit };

/**
 * Whether `did` is registered on the ledger: the node issues sign-in challenges to registered
 * parties only (identities are not readable before signing in).
 */
export async function isRegistered(did: string): Promise<boolean> {
  try {
    await requestChallenge({ baseUrl: NODE_URL }, did, { fetch: browserFetch });
    return true;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return false;
    throw error;
  }
}

/** A patient registers itself (its DID and encryption key go on the ledger, nothing else). */
export function registerPatient(wallet: Wallet): Promise<SubmitCommitted> {
  return submit(wallet, TxType.PatientRegister, { encryptionKey: toBase64Url(wallet.encryption.publicKey) });
}

/** Signs the node's challenge with the wallet key: a 15-minute access token. */
export function signInWallet(wallet: Wallet): Promise<TokenResponse> {
  const answer = signInWith(
    { baseUrl: NODE_URL },
    wallet.did,
    (message) => signAsync(wallet.signing.secretKey, message),
    { fetch: browserFetch },
  );
  // The tab's ledger reads (consents, directory, explorer) are made as this wallet from now on.
  setLedgerSession(answer.then((token) => token.access_token));
  return answer;
}

/** Locking the wallet ends its ledger session: the tab reads anonymously again. */
export function endLedgerSession(): void {
  setLedgerSession(undefined);
}

async function sealKeys(wallet: Wallet, org: OrgSummary, refs: readonly KeyRef[]) {
  const recordKeySeed = deriveRecordKeySeed(wallet);
  try {
    const sealed = await sealGrantKeys({
      recordKeySeed,
      patient: wallet.did,
      grantee: org.did,
      granteePublicKey: fromBase64Url(org.encryptionKey),
      keys: refs,
    });
    return sealed.map((key) => ({ ...key }));
  } finally {
    recordKeySeed.fill(0);
  }
}

export interface GrantInput {
  readonly org: OrgSummary;
  /** FHIR resource types, or ['*'] for all. */
  readonly resourceTypes: readonly string[];
  readonly classes: readonly SensitivityClass[];
  readonly access: GrantAccess;
  readonly purpose: Purpose;
  /** ms since the epoch, or null for no expiry. */
  readonly expiresAt: number | null;
}

/** Grants `input.org` access, with the record keys in scope (epochs 0..current) sealed to it. */
export async function grantAccess(wallet: Wallet, input: GrantInput): Promise<SubmitCommitted> {
  const consents = await ledger.consents(wallet.did);
  const keys = await sealKeys(
    wallet,
    input.org,
    grantKeyRefs(input.classes, currentEpoch(consents.grants, consents.rotations)),
  );
  return submit(wallet, TxType.ConsentGrant, {
    grantId: `g-${toBase64Url(randomBytes(12))}`,
    grantee: input.org.did,
    scope: { resourceTypes: [...input.resourceTypes], classes: [...input.classes] },
    purpose: input.purpose,
    access: input.access,
    expiresAt: input.expiresAt,
    keys,
  });
}

/**
 * Revokes a grant, then hands the new epoch's keys to every other active grant (as `roam consent
 * revoke` does), so the revoked organization cannot read what is written from now on.
 */
export async function revokeGrant(
  wallet: Wallet,
  grantId: string,
  orgs: readonly OrgSummary[],
): Promise<void> {
  await submit(wallet, TxType.ConsentRevoke, { grantId });
  await rekeyActiveGrants(wallet, orgs);
  // An enabled emergency policy escrows the keys up to the old epoch: it gets the new one too.
  try {
    await refreshEmergencyEscrow(wallet, orgs);
  } catch (error) {
    // The revocation stands (it committed): say what is left to do.
    throw new Error(
      `Revoked, but your emergency escrow was not refreshed (${errorText(error)}): allow emergency access again under Sharing.`,
      { cause: error },
    );
  }
}

/**
 * After the patient's key epoch moved (a revocation, a rotation): the new epoch's keys go to every
 * active grant, so that the organizations that still have access read what is written from now on.
 */
export async function rekeyActiveGrants(wallet: Wallet, orgs: readonly OrgSummary[]): Promise<void> {
  const consents: ConsentsResponse = await ledger.consents(wallet.did);
  const epoch = currentEpoch(consents.grants, consents.rotations);
  const now = Date.now();
  for (const grant of consents.grants) {
    if (grantState(grant, now) !== 'active') continue;
    const org = orgs.find((o) => o.did === grant.grantee);
    if (org === undefined) continue;
    const keys = await sealKeys(
      wallet,
      org,
      grant.scope.classes.map((cls) => ({ class: cls, epoch })),
    );
    await submit(wallet, TxType.ConsentRekey, { grantId: grant.id, keys });
  }
}

/** Approves a practitioner's access request: a grant to its organization, with the keys in scope. */
export async function approveRequest(
  wallet: Wallet,
  request: ConsentsResponse['requests'][number],
  org: OrgSummary,
): Promise<SubmitCommitted> {
  const consents = await ledger.consents(wallet.did);
  const keys = await sealKeys(
    wallet,
    org,
    grantKeyRefs(request.scope.classes, currentEpoch(consents.grants, consents.rotations)),
  );
  return submit(wallet, TxType.ConsentApprove, {
    requestId: request.id,
    grantId: `g-${toBase64Url(randomBytes(12))}`,
    keys,
  });
}

export function declineRequest(wallet: Wallet, requestId: string): Promise<SubmitCommitted> {
  return submit(wallet, TxType.ConsentDeny, { requestId });
}

/** A practitioner asks a patient for access for its organization. */
export function requestAccess(
  wallet: Wallet,
  input: {
    patient: string;
    resourceTypes: readonly string[];
    classes: readonly SensitivityClass[];
    access: GrantAccess;
    purpose: Purpose;
  },
): Promise<SubmitCommitted> {
  return submit(wallet, TxType.ConsentRequest, {
    requestId: `r-${toBase64Url(randomBytes(12))}`,
    patient: input.patient,
    scope: { resourceTypes: [...input.resourceTypes], classes: [...input.classes] },
    purpose: input.purpose,
    access: input.access,
  });
}
