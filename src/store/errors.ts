import { CodedError } from '../crypto/index.js';
export const StoreErrorCode = {
  OPEN_FAILED: 'STORE_OPEN_FAILED',
  HEIGHT_MISMATCH: 'STORE_HEIGHT_MISMATCH',
  SCHEMA_MISMATCH: 'STORE_SCHEMA_MISMATCH',
  WRITE_FAILED: 'STORE_WRITE_FAILED',
  /** A commit went through but its WAL sync failed: it is visible, and not known to be on disk. */
  SYNC_FAILED: 'STORE_SYNC_FAILED',
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export class StoreError extends CodedError<StoreErrorCode> {
  override readonly name = 'StoreError';
}
