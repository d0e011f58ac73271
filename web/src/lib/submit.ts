/** Submitting a transaction from the browser: signed here with the wallet, committed by the node. */
import { signedTxAsync } from '../../../src/client/tx-builder.js';
import type { TxPayloads } from '../../../src/contracts/index.js';
import type { TxType } from '../../../src/ledger/types.js';
import type { SubmitCommitted } from '../../../src/wire/index.js';
import type { Wallet } from '../../../src/wallet/wallet.js';
import { ledger } from './node.js';

/** The node's chain id (from GET /ledger/status), asked once: every transaction names it. */
let chainId: Promise<string> | undefined;

/** Signs and submits one transaction and waits for its block; throws unless its result is OK. */
export async function submit<T extends TxType>(
  wallet: Wallet,
  type: T,
  payload: TxPayloads[T],
): Promise<SubmitCommitted> {
  // A failed status call is not kept: the next submit asks again.
  chainId ??= ledger.status().then(
    (status) => status.chainId,
    (error: unknown) => {
      chainId = undefined;
      throw error;
    },
  );
  const envelope = await signedTxAsync(wallet, type, payload, { chainId: await chainId });
  const committed = await ledger.submit(envelope, { wait: 'commit' });
  if (committed.code !== 'OK')
    throw new Error(`${committed.code}: ${committed.message ?? 'the ledger refused the transaction'}`);
  return committed;
}
