/**
 * Signing a patient proof (`src/wire/patient-proof.ts`): the header value a patient's client
 * sends with `GET /vault/records` so that the node fetches the patient's records from every
 * other custodian. Synchronous for Node (the CLI) and on WebCrypto for the browser; both give the
 * same bytes for the same claims.
 */
import { canonicalBytes, randomBytes, sign, signAsync, toBase64Url, utf8ToBytes } from '../crypto/index.js';
import { patientProofClaims, type PatientProof, type PatientProofClaims } from '../wire/index.js';
import { checkedSecretKey, type TxSigner } from './tx-builder.js';

export interface PatientProofOptions {
  /** The DID of the node the proof is for (the node the patient asks; `GET /ledger/status` names it). */
  readonly node: string;
  /** ms since the epoch (default Date.now()). */
  readonly time?: number;
  /** Default: 16 random bytes, base64url. */
  readonly nonce?: string;
}

function claimsOf(patient: TxSigner, options: PatientProofOptions): PatientProofClaims {
  return patientProofClaims({
    patient: patient.did,
    node: options.node,
    time: options.time ?? Date.now(),
    nonce: options.nonce ?? toBase64Url(randomBytes(16)),
  });
}

function encode(claims: PatientProofClaims, signature: Uint8Array): string {
  const proof: PatientProof = { ...claims, signature: toBase64Url(signature) };
  return toBase64Url(utf8ToBytes(JSON.stringify(proof)));
}

/**
 * The `x-roam-patient-proof` header value: the patient's proof, signed with the wallet's current
 * signing key, for one request to `options.node` (single use, valid ±60 s).
 *
 * @throws RoamApiError INVALID_ARGUMENT when the wallet has no DID or no 32-byte secret key
 * @example
 * const proof = signPatientProof(wallet, { node: status.node.did });
 * await fetchMyEncryptedRecords(url, token, { patientProof: proof });
 */
export function signPatientProof(patient: TxSigner, options: PatientProofOptions): string {
  const secretKey = checkedSecretKey(patient);
  const claims = claimsOf(patient, options);
  return encode(claims, sign(secretKey, canonicalBytes(claims)));
}

/** As {@link signPatientProof}, signed on WebCrypto (what a browser can do). */
export async function signPatientProofAsync(
  patient: TxSigner,
  options: PatientProofOptions,
): Promise<string> {
  const secretKey = checkedSecretKey(patient);
  const claims = claimsOf(patient, options);
  return encode(claims, await signAsync(secretKey, canonicalBytes(claims)));
}
