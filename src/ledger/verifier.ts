import { verifyAsync } from '../crypto/index.js';

/** One Ed25519 signature to check. */
export interface VerifyItem {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * Checks many Ed25519 signatures off the main thread. Every implementation uses node:crypto's
 * Ed25519 (OpenSSL), so that all nodes accept exactly the same signatures.
 */
export interface SignatureVerifier {
  verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]>;
  close(): Promise<void>;
}

/** Verifies each signature as its own job on libuv's thread pool (no setup; used by `verify`). */
export const threadPoolVerifier: SignatureVerifier = {
  verifyBatch: (items) => Promise.all(items.map((i) => verifyAsync(i.publicKey, i.message, i.signature))),
  close: () => Promise.resolve(),
};
