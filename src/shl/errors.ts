/**
 * Errors of the SMART Health Links layer, with stable codes (never renamed, never reused). The
 * web viewer shows `message`; programs branch on `code`.
 */

/** Every code an `ShlError` can carry. */
export const ShlErrorCode = {
  /** The text is not a `shlink:/` link, or its payload breaks the spec (the message names the field). */
  MALFORMED: 'SHL_MALFORMED',
  /** The payload asks for flags the spec forbids together (`P` with `U`). */
  FLAGS_CONFLICT: 'SHL_FLAGS_CONFLICT',
  /** The payload's `v` is newer than this implementation speaks (spec: do not proceed). */
  UNSUPPORTED_VERSION: 'SHL_UNSUPPORTED_VERSION',
  /** A JWE that is not compact `dir` + `A256GCM` (or carries a header this implementation cannot honour). */
  UNSUPPORTED_ENCRYPTION: 'SHL_UNSUPPORTED_ENCRYPTION',
  /** The JWE does not decrypt with the link's key (wrong key, or tampered with). */
  DECRYPT_FAILED: 'SHL_DECRYPT_FAILED',
  /** The link's server answered 404: the link is deactivated, expired, exhausted, or never existed. */
  NOT_ACTIVE: 'SHL_NOT_ACTIVE',
  /** The link needs a passcode (`P`) and none was given. */
  PASSCODE_REQUIRED: 'SHL_PASSCODE_REQUIRED',
  /** The server refused the passcode (401); `remainingAttempts` says how many are left. */
  PASSCODE_WRONG: 'SHL_PASSCODE_WRONG',
  /** The link's server answered something the spec does not allow (status, manifest shape, content type). */
  BAD_RESPONSE: 'SHL_BAD_RESPONSE',
  /** The link's server could not be reached. */
  NETWORK_ERROR: 'SHL_NETWORK_ERROR',
  /** The link (or a manifest's `location`) is plain http to a host that is not this machine: the spec requires https. */
  INSECURE_URL: 'SHL_INSECURE_URL',
} as const;
export type ShlErrorCode = (typeof ShlErrorCode)[keyof typeof ShlErrorCode];

/** A failure of building, reading, fetching or decrypting a SMART Health Link. */
export class ShlError extends Error {
  override readonly name = 'ShlError';
  /** For PASSCODE_WRONG: the attempts the server says are left before the link is disabled. */
  readonly remainingAttempts: number | undefined;
  constructor(
    readonly code: ShlErrorCode,
    message: string,
    options: ErrorOptions & { readonly remainingAttempts?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.remainingAttempts = options.remainingAttempts;
  }
}
