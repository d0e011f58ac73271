// node:test's describe/it return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from './bytes.js';
import { CryptoErrorCode } from './errors.js';
import {
  merkleInclusionProof,
  merkleInclusionProofFromLeafHashes,
  merkleLeafHash,
  merkleNodeHash,
  merkleRoot,
  merkleRootFromLeafHashes,
  verifyMerkleInclusion,
} from './merkle.js';

interface Rfc6962Vectors {
  emptyRoot: string;
  leaves: string[];
  leafHashes: string[];
  roots: string[];
  inclusionProofs: { leafIndex: number; treeSize: number; path: string[] }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../testdata/merkle/rfc6962.json', import.meta.url), 'utf8'),
) as Rfc6962Vectors;
const leaves = vectors.leaves.map(fromHex);
const hexes = (hashes: Uint8Array[]): string[] => hashes.map(toHex);

function flipBit(bytes: Uint8Array, byte = 0, mask = 0x08): Uint8Array {
  const copy = bytes.slice();
  copy[byte]! ^= mask;
  return copy;
}

describe('RFC 6962 Merkle tree: Certificate Transparency vectors', () => {
  it('hashes each leaf with the 0x00 prefix', () => {
    assert.deepEqual(hexes(leaves.map(merkleLeafHash)), vectors.leafHashes);
  });

  it('gives SHA-256 of the empty string for the empty tree', () => {
    assert.equal(toHex(merkleRoot([])), vectors.emptyRoot);
    assert.equal(toHex(merkleRootFromLeafHashes([])), vectors.emptyRoot);
  });

  it('gives the published root for every size 1..8', () => {
    vectors.roots.forEach((root, i) => {
      const prefix = leaves.slice(0, i + 1);
      assert.equal(toHex(merkleRoot(prefix)), root, `size ${i + 1}`);
      assert.equal(toHex(merkleRootFromLeafHashes(prefix.map(merkleLeafHash))), root, `size ${i + 1}`);
    });
  });

  it('builds the size-2 root from the two leaf hashes with the 0x01 prefix', () => {
    const [a, b] = vectors.leafHashes.map(fromHex);
    assert.equal(toHex(merkleNodeHash(a!, b!)), vectors.roots[1]);
  });

  for (const { leafIndex, treeSize, path } of vectors.inclusionProofs) {
    it(`produces and accepts the published path for leaf ${leafIndex} of ${treeSize}`, () => {
      const tree = leaves.slice(0, treeSize);
      assert.deepEqual(hexes(merkleInclusionProof(tree, leafIndex)), path);
      assert.deepEqual(hexes(merkleInclusionProofFromLeafHashes(tree.map(merkleLeafHash), leafIndex)), path);
      const root = fromHex(vectors.roots[treeSize - 1]!);
      assert.equal(
        verifyMerkleInclusion(
          merkleLeafHash(leaves[leafIndex]!),
          leafIndex,
          treeSize,
          path.map(fromHex),
          root,
        ),
        true,
      );
    });

    // The corruptions of CT's MerkleVerifierTest::VerifierCheck.
    it(`rejects every corruption of the path for leaf ${leafIndex} of ${treeSize}`, () => {
      const leafHash = merkleLeafHash(leaves[leafIndex]!);
      const root = fromHex(vectors.roots[treeSize - 1]!);
      const proof = path.map(fromHex);
      const emptyRoot = fromHex(vectors.emptyRoot);
      const probes: [string, Uint8Array, number, number, Uint8Array[], Uint8Array][] = [
        ['index - 1', leafHash, leafIndex - 1, treeSize, proof, root],
        ['index + 1', leafHash, leafIndex + 1, treeSize, proof, root],
        ['index ^ 2', leafHash, leafIndex ^ 2, treeSize, proof, root],
        ['size * 2', leafHash, leafIndex, treeSize * 2, proof, root],
        ['size / 2', leafHash, leafIndex, Math.floor(treeSize / 2), proof, root],
        [
          'wrong leaf',
          merkleLeafHash(new TextEncoder().encode('WrongLeaf')),
          leafIndex,
          treeSize,
          proof,
          root,
        ],
        ['empty-tree root', leafHash, leafIndex, treeSize, proof, emptyRoot],
        ['flipped root', leafHash, leafIndex, treeSize, proof, flipBit(root)],
        ['trailing empty hash', leafHash, leafIndex, treeSize, [...proof, new Uint8Array(0)], root],
        ['trailing root', leafHash, leafIndex, treeSize, [...proof, root], root],
        ['preceding empty hash', leafHash, leafIndex, treeSize, [new Uint8Array(0), ...proof], root],
        ['preceding root', leafHash, leafIndex, treeSize, [root, ...proof], root],
      ];
      proof.forEach((_, i) => {
        const wrong = proof.slice();
        wrong[i] = flipBit(wrong[i]!);
        probes.push([`flipped path[${i}]`, leafHash, leafIndex, treeSize, wrong, root]);
        const replaced = proof.slice();
        replaced[i] = emptyRoot;
        probes.push([`path[${i}] replaced`, leafHash, leafIndex, treeSize, replaced, root]);
      });
      if (proof.length > 0)
        probes.push(['last element removed', leafHash, leafIndex, treeSize, proof.slice(0, -1), root]);
      for (const [name, ...args] of probes) assert.equal(verifyMerkleInclusion(...args), false, name);
    });
  }
});

describe('verifyMerkleInclusion input checks', () => {
  const hash = merkleLeafHash(new Uint8Array([1]));

  it('accepts a one-leaf tree whose root is the leaf hash, with an empty path', () => {
    assert.equal(verifyMerkleInclusion(hash, 0, 1, [], hash), true);
  });

  it('returns false, never throws, for impossible sizes and indices', () => {
    for (const [index, size] of [
      [0, 0],
      [1, 0],
      [1, 1],
      [2, 1],
      [-1, 1],
      [0.5, 2],
      [0, Number.NaN],
      [0, Number.POSITIVE_INFINITY],
      [2 ** 53, 2 ** 53 + 2],
    ] as const) {
      assert.equal(verifyMerkleInclusion(hash, index, size, [], hash), false, `${index} of ${size}`);
    }
  });

  it('returns false for hashes of the wrong length or type', () => {
    assert.equal(verifyMerkleInclusion(hash.subarray(1), 0, 1, [], hash), false);
    assert.equal(verifyMerkleInclusion(hash, 0, 1, [], hash.subarray(1)), false);
    assert.equal(verifyMerkleInclusion(hash, 0, 2, [hash.subarray(1)], hash), false);
    assert.equal(verifyMerkleInclusion(hash, 0, 2, ['x' as unknown as Uint8Array], hash), false);
    assert.equal(verifyMerkleInclusion(hash, 0, 1, null as unknown as Uint8Array[], hash), false);
  });
});

describe('proof generation input checks', () => {
  const tree = [new Uint8Array([1]), new Uint8Array([2])];

  it('throws CRYPTO_INVALID_ARGUMENT for an index outside the tree', () => {
    for (const index of [-1, 2, 1.5, Number.NaN]) {
      assert.throws(() => merkleInclusionProof(tree, index), { code: CryptoErrorCode.INVALID_ARGUMENT });
    }
    assert.throws(() => merkleInclusionProof([], 0), { code: CryptoErrorCode.INVALID_ARGUMENT });
  });

  it('names the bad element when a leaf hash is not 32 bytes', () => {
    assert.throws(() => merkleRootFromLeafHashes([new Uint8Array(32), new Uint8Array(31)]), {
      code: CryptoErrorCode.INVALID_ARGUMENT,
      message: /"hashes\[1\]" expected Uint8Array of length 32, got length=31/,
    });
  });

  it('does not modify the array of leaf hashes it is given', () => {
    const hashes = tree.map(merkleLeafHash);
    const before = hexes(hashes);
    merkleRootFromLeafHashes(hashes);
    merkleInclusionProofFromLeafHashes(hashes, 1);
    assert.deepEqual(hexes(hashes), before);
  });
});

describe('Merkle properties (fast-check)', () => {
  // Distinct leaves: with two equal leaves, swapping their indices is a genuine valid proof.
  const leafSets = fc.uniqueArray(fc.uint8Array({ maxLength: 24 }), {
    minLength: 1,
    maxLength: 70,
    selector: (leaf) => toHex(leaf),
    // Without 'max', fast-check keeps arrays short; deep, unbalanced trees are the point here.
    size: 'max',
  });

  it('every leaf has a proof that verifies against the root', () => {
    fc.assert(
      fc.property(leafSets, (set) => {
        const hashes = set.map(merkleLeafHash);
        const root = merkleRootFromLeafHashes(hashes);
        assert.deepEqual(merkleRoot(set), root);
        hashes.forEach((hash, i) => {
          const proof = merkleInclusionProofFromLeafHashes(hashes, i);
          assert.equal(verifyMerkleInclusion(hash, i, set.length, proof, root), true, `leaf ${i}`);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('a proof fails for a flipped byte in the path, the leaf or the root, and for another index', () => {
    fc.assert(
      fc.property(
        leafSets,
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (set, pick, other, bitSeed) => {
          const n = set.length;
          const index = pick % n;
          const hashes = set.map(merkleLeafHash);
          const root = merkleRootFromLeafHashes(hashes);
          const proof = merkleInclusionProofFromLeafHashes(hashes, index);
          const leafHash = hashes[index]!;
          const byte = bitSeed % 32;
          const mask = 1 << (bitSeed % 8);
          if (proof.length > 0) {
            const element = other % proof.length;
            const tampered = proof.slice();
            tampered[element] = flipBit(tampered[element]!, byte, mask);
            assert.equal(verifyMerkleInclusion(leafHash, index, n, tampered, root), false, 'flipped path');
          }
          assert.equal(
            verifyMerkleInclusion(flipBit(leafHash, byte, mask), index, n, proof, root),
            false,
            'flipped leaf',
          );
          assert.equal(
            verifyMerkleInclusion(leafHash, index, n, proof, flipBit(root, byte, mask)),
            false,
            'flipped root',
          );
          if (n > 1) {
            const wrongIndex = (index + 1 + (other % (n - 1))) % n;
            assert.equal(
              verifyMerkleInclusion(leafHash, wrongIndex, n, proof, root),
              false,
              `index ${wrongIndex}`,
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
