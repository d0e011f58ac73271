import type { TxPayloads } from '../contracts/index.js';
import { canonicalJson, signAsync, toBase64Url, utf8ToBytes } from '../crypto/index.js';
import { createTx, signTx } from '../ledger/tx.js';
import type { SignedTx, TxType } from '../ledger/types.js';
import { RoamApiError, ClientErrorCode } from './errors.js';

/** What signing needs of a wallet: its DID and its current signing key. */
export interface TxSigner {
  readonly did: string;
  readonly signing: { readonly secretKey: Uint8Array };
}

export interface SignedTxOptions {
  /**
   * The network the transaction is for: its genesis `chainId`, as `GET /ledger/status` reports
   * it. Every other network refuses the transaction (WRONG_CHAIN).
   */
  readonly chainId: string;
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
 * @throws RoamApiError INVALID_ARGUMENT when the wallet has no DID or no 32-byte secret key, or
 *   `options.chainId` is not a non-empty string
 * @example
 * const { chainId } = await client.status();
 * const envelope = signedTx(patient, TxType.PatientRegister, { encryptionKey }, { chainId });
 * await client.submit(envelope, { wait: 'commit' });
 */
export function signedTx<T extends TxType>(
  wallet: TxSigner,
  type: T,
  payload: TxPayloads[T],
  options: SignedTxOptions,
): SignedTx<TxPayloads[T]> {
  const secretKey = checkedSecretKey(wallet);
  return signTx(txOf(wallet, type, payload, options), secretKey);
}

/**
 * As {@link signedTx}, signed on WebCrypto (what a browser can do); the same envelope for the
 * same nonce and time.
 *
 * @throws RoamApiError INVALID_ARGUMENT when the wallet has no DID or no 32-byte secret key
 */
export async function signedTxAsync<T extends TxType>(
  wallet: TxSigner,
  type: T,
  payload: TxPayloads[T],
  options: SignedTxOptions,
): Promise<SignedTx<TxPayloads[T]>> {
  const secretKey = checkedSecretKey(wallet);
  const tx = txOf(wallet, type, payload, options);
  return { tx, sig: toBase64Url(await signAsync(secretKey, utf8ToBytes(canonicalJson(tx)))) };
}

function txOf<T extends TxType>(wallet: TxSigner, type: T, payload: TxPayloads[T], options: SignedTxOptions) {
  if (typeof options?.chainId !== 'string' || options.chainId.length === 0) {
    throw new RoamApiError(0, ClientErrorCode.INVALID_ARGUMENT, '"options.chainId" expected the network\'s chain id');
  }
  return createTx({
    chainId: options.chainId,
    type,
    signer: wallet.did,
    payload,
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
    ...(options.issuedAt === undefined ? {} : { issuedAt: options.issuedAt }),
  });
}

/** The 32-byte Ed25519 secret key of `wallet`, checked (nothing is signed with a bad one). */
export function checkedSecretKey(wallet: TxSigner): Uint8Array {
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
  return secretKey;
}
