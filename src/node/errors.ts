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
  /** node.key.json is encrypted and no passphrase was given (--node-passphrase-file or ROAM_NODE_PASSPHRASE). */
  KEY_PASSPHRASE_REQUIRED: 'NODE_KEY_PASSPHRASE_REQUIRED',
  /** The passphrase does not open node.key.json, or the file's clear fields (DIDs, KDF) were edited. */
  KEY_BAD_PASSPHRASE: 'NODE_KEY_BAD_PASSPHRASE',
  /** node.key.json is not a valid node key file; the message names the field. */
  KEY_CORRUPT: 'NODE_KEY_CORRUPT',
  /** `roam node encrypt-key` on a key file that is encrypted already. */
  KEY_ALREADY_ENCRYPTED: 'NODE_KEY_ALREADY_ENCRYPTED',
} as const;
export type NodeErrorCode = (typeof NodeErrorCode)[keyof typeof NodeErrorCode];

export class NodeError extends CodedError<NodeErrorCode> {
  override readonly name = 'NodeError';
}
