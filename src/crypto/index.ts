export { CodedError, CryptoError, CryptoErrorCode, assertBytes } from './errors.js';
export {
  utf8ToBytes,
  bytesToUtf8,
  toHex,
  fromHex,
  toBase64Url,
  fromBase64Url,
  concatBytes,
  constantTimeEqual,
} from './bytes.js';
export { sha256, sha256Hex, createSha256, type IncrementalHash } from './hash.js';
export { canonicalJson, canonicalBytes } from './canonical.js';
export {
  type SigningKeyPair,
  type EncryptionKeyPair,
  SEED_LENGTH,
  PUBLIC_KEY_LENGTH,
  SIGNATURE_LENGTH,
  randomBytes,
  generateSigningKeyPair,
  signingKeyPairFromSeed,
  generateEncryptionKeyPair,
  encryptionKeyPairFromSeed,
  sign,
  verify,
  verifyAsync,
} from './keys.js';
export {
  type DidKeyType,
  parseDidKey,
  didFromSigningKey,
  didFromEncryptionKey,
  signingKeyFromDid,
  isSigningDid,
} from './did.js';
export { INDEX_TOKEN_KEY_LENGTH, indexToken, indexTokenKey, type IndexTokenInput } from './index-token.js';
export { AES_KEY_LENGTH, GCM_IV_LENGTH, seal, open, hkdf, scrypt, type ScryptParams } from './aead.js';
export {
  MERKLE_HASH_LENGTH,
  merkleLeafHash,
  merkleNodeHash,
  merkleRoot,
  merkleRootFromLeafHashes,
  merkleInclusionProof,
  merkleInclusionProofFromLeafHashes,
  verifyMerkleInclusion,
} from './merkle.js';
export {
  signingKeyPairFromSeedAsync,
  encryptionKeyPairFromSeedAsync,
  signAsync,
  sealAsync,
  openAsync,
  aesGcmEncryptAsync,
} from './subtle.js';
