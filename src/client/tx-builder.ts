import type { TxPayloads } from '../contracts/index.js';
import { createTx, signTx } from '../ledger/tx.js';
import type { SignedTx, TxType } from '../ledger/types.js';
import { RoamApiError, ClientErrorCode } from './errors.js';

/** What signing needs of a wallet: its DID and its current signing key. */
export interface TxSigner {
  readonly did: string;
  readonly signing: { readonly secretKey: Uint8Array };
}

export interface SignedTxOptions {
  /** Defaults to 12 random bytes, base64url. */
  readonly nonce?: string;
  /** ms since epoch; defaults to now. */
  readonly issuedAt?: number;
}

/**
 * A transaction of `type` with `payload`, signed by `wallet`: the signer is the wallet's DID
 * (its identity for life) and the signature is made with its CURRENT signing key (which the
 * ledger holds for it after a rotation).
 *
 * @throws RoamApiError INVALID_ARGUMENT when the wallet has no DID or no 32-byte secret key
 * @example
 * const envelope = signedTx(patient, TxType.PatientRegister, { encryptionKey });
 * await client.submit(envelope, { wait: 'commit' });
 */
export function signedTx<T extends TxType>(
  wallet: TxSigner,
  type: T,
  payload: TxPayloads[T],
  options: SignedTxOptions = {},
): SignedTx<TxPayloads[T]> {
  if (typeof wallet?.did !== 'string' || !wallet.did.startsWith('did:')) {
    throw new RoamApiError(0, ClientErrorCode.INVALID_ARGUMENT, '"wallet.did" expected a DID');
  }
  const secretKey = wallet.signing?.secretKey;
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
    const got = secretKey instanceof Uint8Array ? `length=${secretKey.length}` : typeof secretKey;
    throw new RoamApiError(
      0,
      ClientErrorCode.INVALID_ARGUMENT,
      `"wallet.signing.secretKey" expected Uint8Array of length 32, got ${got}`,
    );
  }
  const tx = createTx({
    type,
    signer: wallet.did,
    payload,
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
    ...(options.issuedAt === undefined ? {} : { issuedAt: options.issuedAt }),
  });
  return signTx(tx, secretKey);
}
