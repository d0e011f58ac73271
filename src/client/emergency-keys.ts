/**
 * The practitioner's view of a break-glass on its own node: `GET /emergency/accesses/:id/keys`,
 * and waiting until the node holds the keys (or says why it cannot).
 */
import { emergencyKeysPath, type EmergencyKeysResponse } from '../wire/emergency-keys.js';
import { DEFAULT_CLIENT_TIMEOUT_MS } from './http-client.js';
import { requestJson } from './request.js';

export type { EmergencyKeysResponse } from '../wire/emergency-keys.js';

/** How often `waitForEmergencyKeys` asks. */
export const EMERGENCY_KEYS_POLL_MS = 250;

export interface EmergencyKeysRequest {
  /** The node's base URL. */
  readonly baseUrl: string;
  /** The practitioner's access token at that node. */
  readonly token: string;
  /** The emergency access id. */
  readonly id: string;
  readonly fetch?: typeof fetch;
}

/**
 * Where the keys of break-glass `id` stand on the node.
 *
 * @throws RoamApiError NOT_FOUND for an access that is not the signed-in practitioner's
 */
export function emergencyKeys(request: EmergencyKeysRequest): Promise<EmergencyKeysResponse> {
  return requestJson<EmergencyKeysResponse>({
    fetchFn: request.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    method: 'GET',
    url: `${request.baseUrl.replace(/\/+$/, '')}${emergencyKeysPath(request.id)}`,
    bearer: request.token,
    timeoutMs: DEFAULT_CLIENT_TIMEOUT_MS,
  });
}

/** Whether more releases may still change `status` (an invalid set may become good with one more). */
function mayChange(status: EmergencyKeysResponse): boolean {
  return status.keys === 'waiting' || (status.keys === 'invalid' && status.releases < status.trustees);
}

/**
 * Asks until the node's keys are `ready` or `ended`, or `invalid` with every trustee released,
 * or `timeoutMs` passed; answers the last status.
 */
export async function waitForEmergencyKeys(
  request: EmergencyKeysRequest & { readonly timeoutMs: number },
): Promise<EmergencyKeysResponse> {
  const until = Date.now() + request.timeoutMs;
  for (;;) {
    const status = await emergencyKeys(request);
    if (!mayChange(status) || Date.now() >= until) return status;
    await new Promise((resolve) => setTimeout(resolve, EMERGENCY_KEYS_POLL_MS));
  }
}
