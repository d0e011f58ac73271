/** Stable codes for failures in the crypto layer. Never reuse a code for another meaning. */
export const CryptoErrorCode = {
  INVALID_ARGUMENT: 'CRYPTO_INVALID_ARGUMENT',
  DID_INVALID: 'DID_INVALID',
  DID_UNSUPPORTED: 'DID_UNSUPPORTED',
  NOT_CANONICALIZABLE: 'NOT_CANONICALIZABLE',
  DECRYPT_FAILED: 'DECRYPT_FAILED',
} as const;
export type CryptoErrorCode = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

/**
 * Base of the errors that carry a stable code, one subclass per layer (after Lodestar's
 * per-area error classes): `err.code` is API, `err.message` is for people.
 */
export class CodedError<Code extends string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class CryptoError extends CodedError<CryptoErrorCode> {
  override readonly name = 'CryptoError';
}

/** Checks that `value` is a Uint8Array (of `length`, when given), naming the argument otherwise. */
export function assertBytes(name: string, value: unknown, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `"${name}" expected Uint8Array, got ${typeof value}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new CryptoError(
      CryptoErrorCode.INVALID_ARGUMENT,
      `"${name}" expected Uint8Array of length ${length}, got length=${value.length}`,
    );
  }
}
