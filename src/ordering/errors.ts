import { CodedError } from '../crypto/index.js';

export const OrderingErrorCode = {
  /** The orderer is closed or was never started. */
  CLOSED: 'ORDERER_CLOSED',
  /** The ordering service (JetStream) cannot be reached or did not acknowledge. */
  UNAVAILABLE: 'ORDERING_UNAVAILABLE',
  /** A stored ordering position is not one this orderer understands. */
  BAD_POSITION: 'BAD_ORDERING_POSITION',
} as const;
export type OrderingErrorCode = (typeof OrderingErrorCode)[keyof typeof OrderingErrorCode];

export class OrderingError extends CodedError<OrderingErrorCode> {
  override readonly name = 'OrderingError';
}
