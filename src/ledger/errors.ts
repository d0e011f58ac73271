import { CodedError } from '../crypto/index.js';
/** Errors of the ledger layer outside transaction results (which are ResultCodes in blocks). */
export const LedgerErrorCode = {
  GENESIS_MISMATCH: 'GENESIS_MISMATCH',
  INVALID_GENESIS: 'INVALID_GENESIS',
  NOT_FOUND: 'NOT_FOUND',
  COMMIT_TIMEOUT: 'COMMIT_TIMEOUT',
  LEDGER_CLOSED: 'LEDGER_CLOSED',
} as const;
export type LedgerErrorCode = (typeof LedgerErrorCode)[keyof typeof LedgerErrorCode];

export class LedgerError extends CodedError<LedgerErrorCode> {
  override readonly name = 'LedgerError';
}
