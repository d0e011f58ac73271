/**
 * Keyed index tokens: what a node's search index stores instead of search values. A token is
 * HMAC-SHA-256 (RFC 2104) of `type|param|value` under a key derived (HKDF-SHA-256) from the
 * organization's encryption secret key and DID, so equal values give equal tokens on the nodes
 * of one organization, and the index reveals no value to anyone without the key.
 *
 * HMAC comes from @noble/hashes (audited, portable: the browser and Node build the same token).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hkdf } from './aead.js';
import { toBase64Url, utf8ToBytes } from './bytes.js';
import { assertBytes } from './errors.js';

/** HKDF salt of the index-token key (a new salt means a new index). */
const INDEX_KEY_SALT = utf8ToBytes('roam-fhir-index-v1');
/** Length of an index-token key, bytes. */
export const INDEX_TOKEN_KEY_LENGTH = 32;

/** The index-token key of an organization (the same on each of its nodes). */
export function indexTokenKey(orgEncryptionSecretKey: Uint8Array, orgDid: string): Uint8Array {
  return hkdf(orgEncryptionSecretKey, INDEX_KEY_SALT, utf8ToBytes(orgDid), INDEX_TOKEN_KEY_LENGTH);
}

/** What a token stands for: a search value of one parameter of one resource type. */
export interface IndexTokenInput {
  readonly resourceType: string;
  readonly param: string;
  readonly value: string;
}

/**
 * The token (base64url) of one search value under `key`.
 *
 * @example indexToken(key, { resourceType: 'Condition', param: 'code', value: 'http://snomed.info/sct|38341003' })
 */
export function indexToken(key: Uint8Array, input: IndexTokenInput): string {
  assertBytes('key', key, INDEX_TOKEN_KEY_LENGTH);
  return toBase64Url(hmac(sha256, key, utf8ToBytes(`${input.resourceType}|${input.param}|${input.value}`)));
}
