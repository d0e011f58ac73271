/**
 * The node the app was served by: its ledger API client, the FHIR client of a session, and the
 * mapping of the API's errors to what a person can act on.
 */
import { FhirApiError, FhirClient } from '../../../src/client/fhir.js';
import { RoamClient } from '../../../src/client/http-client.js';
import { RoamApiError } from '../../../src/client/errors.js';

/** The node's base URL: the origin the app was loaded from. */
export const NODE_URL = globalThis.location.origin;

const browserFetch: typeof fetch = (input, init) => globalThis.fetch(input, init);

/**
 * The access token of the wallet signed in in this tab (portal or console), pending while the
 * sign-in runs. The ledger API answers anonymous callers with status and block headers only, so
 * every ledger read waits for it; the explorer reads as whoever is signed in, or anonymously.
 */
let ledgerSession: Promise<string | undefined> | undefined;

/** Ledger reads from now on are made with the token `signIn` resolves to (undefined: anonymous). */
export function setLedgerSession(signIn: Promise<string> | undefined): void {
  // A failed sign-in leaves reads anonymous; the page that signed in shows the failure.
  ledgerSession = signIn?.catch(() => undefined);
}

/** Whether a wallet is signed in (or signing in) in this tab. */
export function hasLedgerSession(): boolean {
  return ledgerSession !== undefined;
}

export const ledger = new RoamClient(NODE_URL, { fetch: browserFetch, accessToken: () => ledgerSession });

export function fhirClient(token: string): FhirClient {
  return new FhirClient(NODE_URL, token, { fetch: browserFetch });
}

export { browserFetch };

/** Why a practitioner cannot see a patient's records, from the FHIR API's 403 OperationOutcome. */
export type AccessState = 'no-access' | 'expired' | 'revoked' | 'not-covered' | 'other-org';

/** The access state a FHIR error means, or null when it is not a refusal of access. */
export function accessStateOf(error: unknown): AccessState | null {
  if (!(error instanceof FhirApiError) || error.status !== 403) return null;
  const text = error.message;
  if (text.includes('GRANT_REVOKED')) return 'revoked';
  if (text.includes('GRANT_EXPIRED')) return 'expired';
  if (text.includes('SCOPE_NOT_COVERED')) return 'not-covered';
  if (text.includes('OTHER_ORGANIZATION')) return 'other-org';
  return 'no-access';
}

/** A message for a person: the API's code and message, never a stack. */
export function errorText(error: unknown): string {
  if (error instanceof RoamApiError) return `${error.message} (${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}
