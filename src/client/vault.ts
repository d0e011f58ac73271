/**
 * `GET /vault/records`: a patient's own record versions as their custodian keeps them (ciphertext,
 * wrapped data key and metadata), for the patient's wallet to decrypt itself: the node never
 * holds the patient's keys and does not decrypt for this route.
 */
import { VAULT_RECORDS_PATH, type VaultRecordsResponse } from '../wire/index.js';
import { DEFAULT_CLIENT_TIMEOUT_MS } from './http-client.js';
import { requestJson } from './request.js';

/**
 * The caller's own encrypted records (the latest version of each), with a patient's token.
 *
 * @throws RoamApiError PATIENT_ONLY (403) for another kind of token; TOKEN_* (401)
 */
export function fetchMyEncryptedRecords(
  baseUrl: string,
  accessToken: string,
  options: { readonly type?: string; readonly fetch?: typeof fetch } = {},
): Promise<VaultRecordsResponse> {
  const query = options.type === undefined ? '' : `?type=${encodeURIComponent(options.type)}`;
  return requestJson<VaultRecordsResponse>({
    fetchFn:
      options.fetch ?? ((input: string | URL | Request, init?: RequestInit) => globalThis.fetch(input, init)),
    method: 'GET',
    url: `${baseUrl.replace(/\/+$/, '')}${VAULT_RECORDS_PATH}${query}`,
    timeoutMs: DEFAULT_CLIENT_TIMEOUT_MS,
    bearer: accessToken,
  });
}
