/**
 * An access token that renews itself: signs in on first use and again shortly before the token
 * expires, so a long-running caller (the CLI's audit scan, the web app) keeps reading the ledger
 * API without handling expiry. Platform-free (fetch only).
 */
import type { TokenResponse } from '../wire/index.js';

/** Sign in again this long before the token's expiry (clock skew, a slow call). */
export const TOKEN_RENEW_MARGIN_MS = 30_000;

export interface RenewingTokenOptions {
  /** Signs in and answers the node's token response (e.g. `() => signIn(node, wallet)`). */
  readonly signIn: () => Promise<TokenResponse>;
  /** Clock in ms (default Date.now). */
  readonly now?: () => number;
}

/**
 * A function that gives a valid access token, signing in when needed; concurrent callers share
 * one sign-in. Pass it as `RoamClient`'s `accessToken`.
 *
 * @example
 * const client = new RoamClient(url, { accessToken: renewingToken({ signIn: () => signIn({ baseUrl: url }, wallet) }) });
 */
export function renewingToken(options: RenewingTokenOptions): () => Promise<string> {
  const now = options.now ?? Date.now;
  let current: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  return () => {
    if (current !== undefined && now() < current.renewAt) return Promise.resolve(current.token);
    pending ??= options
      .signIn()
      .then((answer) => {
        current = {
          token: answer.access_token,
          renewAt: now() + Math.max(0, answer.expires_in * 1000 - TOKEN_RENEW_MARGIN_MS),
        };
        return answer.access_token;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}
