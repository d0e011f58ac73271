/**
 * The checks of a transaction that need no state: its network, its size and its payload's schema.
 * Admission (`Ledger.admit`) runs them so that what fails them is never ordered nor stored; block
 * execution runs them again because a block may carry a transaction admitted by another node.
 */
import { ResultCode } from './codes.js';
import { TxRejected, type ContractHandler } from './contract.js';
import type { ParsedTx } from './tx.js';
import type { TxResult } from './types.js';

/**
 * WRONG_CHAIN when the transaction names another network, TX_TOO_LARGE past its type's cap;
 * undefined when both hold. Deterministic: it reads only the transaction and the chain id.
 */
export function checkTxFrame(parsed: ParsedTx, handler: ContractHandler, chainId: string): TxResult | undefined {
  const tx = parsed.signed.tx;
  if (tx.chainId !== chainId) {
    return { code: ResultCode.WRONG_CHAIN, message: `transaction is for chain "${tx.chainId}", this ledger is "${chainId}"` };
  }
  if (parsed.txBytes.length > handler.maxTxBytes) {
    return {
      code: ResultCode.TX_TOO_LARGE,
      message: `a ${tx.type} transaction may have at most ${handler.maxTxBytes} bytes, got ${parsed.txBytes.length}`,
    };
  }
  return undefined;
}

/**
 * The payload as its type's schema parses it, or INVALID_PAYLOAD (naming the first bad field)
 * when it fails the schema.
 */
export function checkPayload(parsed: ParsedTx, handler: ContractHandler): { readonly value: unknown } | TxResult {
  try {
    return { value: handler.parse(parsed.signed.tx.payload) };
  } catch (error) {
    if (error instanceof TxRejected) return { code: error.code, message: error.message };
    return { code: ResultCode.INVALID_PAYLOAD, message: error instanceof Error ? error.message : String(error) };
  }
}
