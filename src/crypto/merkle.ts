/**
 * Merkle trees as defined by RFC 6962 §2.1 (Certificate Transparency), with the inclusion
 * proof verification algorithm of RFC 9162 §2.1.3.2. Block `txRoot`s are built with these,
 * so any transaction of a block has an inclusion proof that a third party can check.
 *
 * The tree over n leaves splits at k, the largest power of two smaller than n (RFC 6962
 * §2.1). Pairing adjacent nodes level by level and carrying an odd last node up unchanged
 * builds exactly that tree, which lets root and path computations run iteratively.
 */
import { CryptoError, CryptoErrorCode, assertBytes } from './errors.js';
import { constantTimeEqual } from './bytes.js';
import { sha256 } from './hash.js';

/** Length of every node hash: SHA-256. */
export const MERKLE_HASH_LENGTH = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/** RFC 6962 §2.1: leaf hash = SHA-256(0x00 || data). */
export function merkleLeafHash(data: Uint8Array): Uint8Array {
  assertBytes('data', data);
  const input = new Uint8Array(1 + data.length);
  input[0] = LEAF_PREFIX;
  input.set(data, 1);
  return sha256(input);
}

/** RFC 6962 §2.1: interior node hash = SHA-256(0x01 || left || right). */
export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  assertBytes('left', left, MERKLE_HASH_LENGTH);
  assertBytes('right', right, MERKLE_HASH_LENGTH);
  return nodeHash(left, right, newScratch());
}

/** A reusable 65-byte input buffer for node hashes: one allocation per tree, not per node. */
function newScratch(): Uint8Array {
  const scratch = new Uint8Array(1 + 2 * MERKLE_HASH_LENGTH);
  scratch[0] = NODE_PREFIX;
  return scratch;
}

function nodeHash(left: Uint8Array, right: Uint8Array, scratch: Uint8Array): Uint8Array {
  scratch.set(left, 1);
  scratch.set(right, 1 + MERKLE_HASH_LENGTH);
  return sha256(scratch);
}

function assertLeafHashes(hashes: readonly Uint8Array[]): void {
  if (!Array.isArray(hashes)) {
    throw new CryptoError(
      CryptoErrorCode.INVALID_ARGUMENT,
      `"hashes" expected an array, got ${typeof hashes}`,
    );
  }
  for (let i = 0; i < hashes.length; i++) assertBytes(`hashes[${i}]`, hashes[i], MERKLE_HASH_LENGTH);
}

/**
 * Replaces `level[0..width)` by the next level up and returns its width. An odd last node
 * moves up unchanged (it has no sibling at this level).
 */
function reduceLevel(level: Uint8Array[], width: number, scratch: Uint8Array): number {
  let out = 0;
  for (let i = 0; i + 1 < width; i += 2) level[out++] = nodeHash(level[i]!, level[i + 1]!, scratch);
  if (width % 2 === 1) level[out++] = level[width - 1]!;
  return out;
}

/**
 * The Merkle tree hash MTH of RFC 6962 §2.1, from leaf hashes already computed with
 * {@link merkleLeafHash}. Iterative, one working array, n - 1 node hashes.
 *
 * @param hashes leaf hashes, 32 bytes each, in leaf order
 * @returns the 32-byte root; SHA-256 of the empty string for an empty tree
 * @throws CryptoError CRYPTO_INVALID_ARGUMENT when an element is not a 32-byte Uint8Array
 * @example
 * const txRoot = merkleRootFromLeafHashes(txs.map((tx) => merkleLeafHash(tx.bytes)));
 */
export function merkleRootFromLeafHashes(hashes: readonly Uint8Array[]): Uint8Array {
  assertLeafHashes(hashes);
  // RFC 6962 §2.1: MTH({}) = SHA-256().
  if (hashes.length === 0) return sha256(new Uint8Array(0));
  // Copy so the caller's array is untouched and the result never aliases its input.
  if (hashes.length === 1) return hashes[0]!.slice();
  const level = hashes.slice();
  const scratch = newScratch();
  let width = level.length;
  while (width > 1) width = reduceLevel(level, width, scratch);
  return level[0]!;
}

/**
 * The Merkle tree hash MTH of RFC 6962 §2.1 over leaf data.
 *
 * @param leaves leaf data (each is hashed with the 0x00 prefix)
 * @example
 * merkleRoot([utf8ToBytes('a'), utf8ToBytes('b')]);
 */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  return merkleRootFromLeafHashes(leafHashesOf(leaves));
}

function leafHashesOf(leaves: readonly Uint8Array[]): Uint8Array[] {
  if (!Array.isArray(leaves)) {
    throw new CryptoError(
      CryptoErrorCode.INVALID_ARGUMENT,
      `"leaves" expected an array, got ${typeof leaves}`,
    );
  }
  return leaves.map((leaf, i) => {
    assertBytes(`leaves[${i}]`, leaf);
    return merkleLeafHash(leaf);
  });
}

/**
 * The audit path PATH(m, D[n]) of RFC 6962 §2.1.1, from leaf hashes: the sibling hashes
 * from the leaf up to the root, deepest first.
 *
 * @param hashes leaf hashes, 32 bytes each
 * @param index 0-based index of the leaf to prove, `0 <= index < hashes.length`
 * @throws CryptoError CRYPTO_INVALID_ARGUMENT for a bad hash or an index outside the tree
 */
export function merkleInclusionProofFromLeafHashes(
  hashes: readonly Uint8Array[],
  index: number,
): Uint8Array[] {
  assertLeafHashes(hashes);
  if (!Number.isSafeInteger(index) || index < 0 || index >= hashes.length) {
    throw new CryptoError(
      CryptoErrorCode.INVALID_ARGUMENT,
      `"index" expected an integer in [0, ${hashes.length}), got ${String(index)}`,
    );
  }
  const path: Uint8Array[] = [];
  const level = hashes.slice();
  const scratch = newScratch();
  let width = level.length;
  let i = index;
  while (width > 1) {
    const sibling = i ^ 1;
    // The last node of an odd level has no sibling: it moves up and adds nothing to the path.
    if (sibling < width) path.push(level[sibling]!.slice());
    width = reduceLevel(level, width, scratch);
    i = Math.floor(i / 2);
  }
  return path;
}

/**
 * The audit path PATH(m, D[n]) of RFC 6962 §2.1.1 over leaf data.
 *
 * @throws CryptoError CRYPTO_INVALID_ARGUMENT for a bad leaf or an index outside the tree
 * @example
 * const proof = merkleInclusionProof(leaves, 5);
 * verifyMerkleInclusion(merkleLeafHash(leaves[5]), 5, leaves.length, proof, merkleRoot(leaves)); // true
 */
export function merkleInclusionProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  return merkleInclusionProofFromLeafHashes(leafHashesOf(leaves), index);
}

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === MERKLE_HASH_LENGTH;
}

/**
 * Checks that `leafHash` is the leaf at `index` of the tree of `treeSize` leaves whose root
 * is `root`, with the algorithm of RFC 9162 §2.1.3.2. Never throws: any malformed input
 * (wrong hash lengths, index outside the tree, a proof of the wrong length) gives false.
 *
 * @param leafHash {@link merkleLeafHash} of the leaf data
 * @param index 0-based leaf index
 * @param treeSize number of leaves in the tree
 * @param proof the audit path, deepest sibling first
 * @param root the expected tree root
 */
export function verifyMerkleInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isHash(leafHash) || !isHash(root) || !Array.isArray(proof)) return false;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0) return false;
  // RFC 9162 §2.1.3.2 step 1.
  if (index >= treeSize) return false;
  // Step 2. Numbers stay below 2^53, so halving with Math.floor is exact.
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHash;
  const scratch = newScratch();
  for (const p of proof) {
    if (!isHash(p)) return false;
    // Step 4a: the path is longer than the tree is deep.
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r, scratch);
      // Step 4b.ii: a last node without a sibling moves up unchanged; skip those levels.
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p, scratch);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // Step 5: the path must reach the root exactly.
  return sn === 0 && constantTimeEqual(r, root);
}
