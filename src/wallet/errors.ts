/** Stable codes for wallet failures. Never reuse a code for another meaning. */
export const WalletErrorCode = {
  /** The passphrase does not open the wallet file (or the file's authenticated bytes were edited). */
  BAD_PASSPHRASE: 'BAD_PASSPHRASE',
  /** The wallet file is not a roam-wallet file, or one of its fields is malformed; `field` names it. */
  WALLET_CORRUPT: 'WALLET_CORRUPT',
  WALLET_NOT_FOUND: 'WALLET_NOT_FOUND',
  /** Saving would replace an existing wallet file and `overwrite` was not asked for. */
  WALLET_EXISTS: 'WALLET_EXISTS',
  /** Not a valid 24-word BIP-39 English recovery phrase. */
  BAD_MNEMONIC: 'BAD_MNEMONIC',
  /** The operation needs a master seed, which only patient wallets have. */
  NOT_A_PATIENT_WALLET: 'NOT_A_PATIENT_WALLET',
  /** No passphrase was given (neither a passphrase file nor ROAM_PASSPHRASE). */
  PASSPHRASE_REQUIRED: 'PASSPHRASE_REQUIRED',
  /** The passphrase file was named but cannot be read. */
  PASSPHRASE_FILE_UNREADABLE: 'PASSPHRASE_FILE_UNREADABLE',
  /** A new wallet file would be protected by a passphrase shorter than the minimum. */
  WEAK_PASSPHRASE: 'WEAK_PASSPHRASE',
  /**
   * The wallet file's scrypt cost (or the cost asked for a new one) is below the floor
   * (`MIN_KDF_N`): its passphrase would be cheap to guess, so it is neither written nor opened.
   */
  WEAK_KDF: 'WEAK_KDF',
} as const;
export type WalletErrorCode = (typeof WalletErrorCode)[keyof typeof WalletErrorCode];

/**
 * A wallet failure with a stable `code`. Messages never contain secrets (passphrases,
 * seeds, recovery phrases); `field` names the offending wallet-file field for WALLET_CORRUPT.
 */
export class WalletError extends Error {
  override readonly name = 'WalletError';
  readonly field: string | undefined;
  constructor(
    readonly code: WalletErrorCode,
    message: string,
    options: { field?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.field = options.field;
  }
}
