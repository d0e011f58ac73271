import {
  canonicalJson,
  createSha256,
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

/**
 * SHA-256 over the write-set in key order, each entry encoded as
 * `u32be(byteLength(key)) key u32be(byteLength(value)) value`, with 0xFFFFFFFF as the length of a
 * delete. Keys and values are already canonical text, so length prefixes make the encoding
 * unambiguous without escaping every value again as a JSON string.
 */
export function writeSetHash(writes: WriteSet): string {
  const hash = createSha256();
  const length = new Uint8Array(4);
  const view = new DataView(length.buffer);
  const part = (bytes: Uint8Array | null) => {
    view.setUint32(0, bytes === null ? DELETED : bytes.length);
    hash.update(length);
    if (bytes !== null) hash.update(bytes);
  };
  for (const [key, value] of writes) {
    part(utf8ToBytes(key));
    part(value === null ? null : utf8ToBytes(value));
  }
  return toHex(hash.digest());
}

const DELETED = 0xffffffff;

export function chainStateRoot(previous: string, writes: WriteSet): string {
  return sha256Hex(utf8ToBytes(previous + writeSetHash(writes)));
}

export { fromHex as hexToBytes };
