/**
 * @hpke/core's declarations name WebCrypto's `CryptoKey` as a global type, as the DOM library
 * declares it; @types/node 24 declares only the global value. This gives the type Node's shape,
 * so the keys the library hands back are typed rather than unresolved.
 */
import type { webcrypto } from 'node:crypto';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- a declaration merge, not a new type
  interface CryptoKey extends webcrypto.CryptoKey {}
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- as above
  interface CryptoKeyPair extends webcrypto.CryptoKeyPair {}
}

export {};
