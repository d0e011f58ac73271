import {
  canonicalJson,
  fromHex,
  merkleLeafHash,
  merkleRootFromLeafHashes,
  sha256Hex,
  toHex,
  utf8ToBytes,
} from '../crypto/index.js';
import type { TxResult } from './types.js';

export const BLOCK_VERSION = 1;
export const ZERO_HASH = '0'.repeat(64);

/**
 * A block header. The block hash is SHA-256 of its canonical JSON. Block 0's `prevHash` is the
 * hash of the genesis document, which binds the chain to its network.
 */
export interface BlockHeader {
  readonly v: typeof BLOCK_VERSION;
  readonly chainId: string;
  readonly height: number;
  readonly prevHash: string;
  /** Block time, ms since epoch, assigned by ordering; never decreases. */
  readonly time: number;
  readonly txCount: number;
  /** RFC 6962 Merkle root over the canonical envelopes, in block order. */
  readonly txRoot: string;
  /** SHA-256 of the canonical JSON array of results, in block order. */
  readonly resultsRoot: string;
  /** SHA-256(previous stateRoot || SHA-256(canonical write-set)). */
  readonly stateRoot: string;
}

export function blockHash(header: BlockHeader): string {
  return sha256Hex(canonicalJson(header));
}

export function envelopeLeafHash(envelopeJson: string): Uint8Array {
  return merkleLeafHash(utf8ToBytes(envelopeJson));
}

export function txRootOf(leafHashes: Uint8Array[]): string {
  return toHex(merkleRootFromLeafHashes(leafHashes));
}

export function resultsRootOf(results: readonly TxResult[]): string {
  return sha256Hex(canonicalJson(results));
}

/** A block's writes, sorted by key: `[key, canonical JSON value]`, or `[key, null]` for a delete. */
export type WriteSet = ReadonlyArray<readonly [string, string | null]>;

export function writeSetHash(writes: WriteSet): string {
  // Values are already canonical JSON text; hash them as strings so the encoding is unambiguous.
  return sha256Hex(canonicalJson(writes));
}

export function chainStateRoot(previous: string, writes: WriteSet): string {
  return sha256Hex(utf8ToBytes(previous + writeSetHash(writes)));
}

export { fromHex as hexToBytes };
