/**
 * `GET /vault/records`: a patient's own record versions as their custodian keeps them (ciphertext,
 * wrapped data key and metadata), for the patient's wallet to decrypt itself: the node never
 * holds the patient's keys and does not decrypt for this route. With a patient proof the node
 * adds the records every other custodian keeps (the whole record).
 */
import { PATIENT_PROOF_HEADER, VAULT_RECORDS_PATH, type VaultRecordsResponse } from '../wire/index.js';
import { DEFAULT_CLIENT_TIMEOUT_MS } from './http-client.js';
import { requestJson } from './request.js';

/** Time to wait for the whole record: the node asks every custodian first (each within 5 s). */
export const WHOLE_RECORD_TIMEOUT_MS = 60_000;

export interface FetchMyRecordsOptions {
  /** Only records of this FHIR resource type. */
  readonly type?: string;
  readonly fetch?: typeof fetch;
  /**
   * A patient proof for this node (`signPatientProof`/`signPatientProofAsync`): the answer then
   * holds the records of every custodian, and `incomplete` names those that did not answer in full.
   */
  readonly patientProof?: string;
  /** Per-call timeout in ms (default DEFAULT_CLIENT_TIMEOUT_MS, or WHOLE_RECORD_TIMEOUT_MS with a proof). */
  readonly timeoutMs?: number;
}

/**
 * The caller's own encrypted records (the latest version of each), with a patient's token.
 *
 * @throws RoamApiError PATIENT_ONLY (403) for another kind of token; TOKEN_* (401);
 *   PATIENT_PROOF_* (403) for a proof the node does not accept
 * @example
 * const proof = signPatientProof(wallet, { node: nodeDid });
 * const { records, incomplete } = await fetchMyEncryptedRecords(url, token, { patientProof: proof });
 */
export function fetchMyEncryptedRecords(
  baseUrl: string,
  accessToken: string,
  options: FetchMyRecordsOptions = {},
): Promise<VaultRecordsResponse> {
  const query = options.type === undefined ? '' : `?type=${encodeURIComponent(options.type)}`;
  const proof = options.patientProof;
  return requestJson<VaultRecordsResponse>({
    fetchFn:
      options.fetch ?? ((input: string | URL | Request, init?: RequestInit) => globalThis.fetch(input, init)),
    method: 'GET',
    url: `${baseUrl.replace(/\/+$/, '')}${VAULT_RECORDS_PATH}${query}`,
    timeoutMs: options.timeoutMs ?? (proof === undefined ? DEFAULT_CLIENT_TIMEOUT_MS : WHOLE_RECORD_TIMEOUT_MS),
    bearer: accessToken,
    ...(proof === undefined ? {} : { headers: { [PATIENT_PROOF_HEADER]: proof } }),
  });
}
