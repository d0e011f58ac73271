/**
 * Codes the client gives failures that are not an answer of the node. An answer of the node that
 * is an error keeps the node's code (see the server's registry and the ledger's ResultCode).
 */
export const ClientErrorCode = {
  /** The node could not be reached (connection refused, DNS, TLS, reset). */
  NETWORK_ERROR: 'NETWORK_ERROR',
  /** No complete answer within the client's timeout. */
  TIMEOUT: 'TIMEOUT',
  /** The node answered something that is not the API's JSON (e.g. a proxy's HTML page). */
  BAD_RESPONSE: 'BAD_RESPONSE',
  /** A method of the client was called with a bad argument (nothing was sent). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/**
 * A failed call of the node's API. `status` is the HTTP status, or 0 when there was no answer
 * (NETWORK_ERROR, TIMEOUT) or nothing was sent (INVALID_ARGUMENT); `code` is the node's error code
 * (e.g. NOT_FOUND, REPLAY, UNKNOWN_SIGNER) or a ClientErrorCode.
 */
export class RoamApiError extends Error {
  override readonly name = 'RoamApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
