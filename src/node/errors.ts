import { CodedError } from '../crypto/index.js';
/** Errors of node setup and operation, with stable codes the CLI and API report. */
export const NodeErrorCode = {
  NOT_INITIALIZED: 'NODE_NOT_INITIALIZED',
  ALREADY_INITIALIZED: 'NODE_ALREADY_INITIALIZED',
  BAD_CONFIG: 'NODE_BAD_CONFIG',
  ORDERING_FAILED: 'ORDERING_FAILED',
  /** A block fetched from a peer re-executes to another hash here. */
  SYNC_DIVERGED: 'SYNC_DIVERGED',
  /** This node's blocks differ from those of a majority of the network: it stopped committing. */
  DIVERGED: 'NODE_DIVERGED',
} as const;
export type NodeErrorCode = (typeof NodeErrorCode)[keyof typeof NodeErrorCode];

export class NodeError extends CodedError<NodeErrorCode> {
  override readonly name = 'NodeError';
}
