import {
  fromHex,
  merkleInclusionProofFromLeafHashes,
  toHex,
  utf8ToBytes,
  merkleLeafHash,
  verifyMerkleInclusion,
} from '../crypto/index.js';
import type { LedgerStore } from '../store/index.js';
import { envelopeLeafHash, type BlockHeader } from './block.js';

/** RFC 6962 audit path of a transaction in its block's txRoot. */
export interface TxInclusionProof {
  readonly height: number;
  readonly leafIndex: number;
  readonly treeSize: number;
  /** Sibling hashes from the leaf up, hex. */
  readonly path: readonly string[];
  /** The txRoot the path leads to (equals the block header's). */
  readonly root: string;
}

/** Builds the inclusion proof of the transaction at (height, index) from the stored block. */
export function buildTxInclusionProof(store: LedgerStore, header: BlockHeader, index: number): TxInclusionProof {
  const leaves = store.getBlockTxs(header.height).map((tx) => envelopeLeafHash(tx.envelope));
  return {
    height: header.height,
    leafIndex: index,
    treeSize: leaves.length,
    path: merkleInclusionProofFromLeafHashes(leaves, index).map(toHex),
    root: header.txRoot,
  };
}

/**
 * Checks that `envelopeJson` is included in the block with `header` (whose hash the caller has
 * checked against a chain it trusts). Pure: runs in a client, with no node involved.
 */
export function verifyTxInclusion(envelopeJson: string, proof: TxInclusionProof, header: BlockHeader): boolean {
  if (proof.root !== header.txRoot || proof.height !== header.height || proof.treeSize !== header.txCount) return false;
  try {
    return verifyMerkleInclusion(
      merkleLeafHash(utf8ToBytes(envelopeJson)),
      proof.leafIndex,
      proof.treeSize,
      proof.path.map(fromHex),
      fromHex(header.txRoot),
    );
  } catch {
    return false;
  }
}
