import { CodedError } from '../crypto/index.js';

export const NetworkErrorCode = {
  NATS_NOT_INSTALLED: 'NATS_NOT_INSTALLED',
  START_TIMEOUT: 'START_TIMEOUT',
  ALREADY_RUNNING: 'NETWORK_ALREADY_RUNNING',
  NOT_RUNNING: 'NETWORK_NOT_RUNNING',
  BAD_OPTIONS: 'BAD_NETWORK_OPTIONS',
} as const;
export type NetworkErrorCode = (typeof NetworkErrorCode)[keyof typeof NetworkErrorCode];

/** A failure to start, stop or describe a multi-region network. */
export class NetworkError extends CodedError<NetworkErrorCode> {
  override readonly name = 'NetworkError';
}
