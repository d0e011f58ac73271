/**
 * Signed node-to-node requests. A node signs, with its node key (Ed25519), the RFC 8785 canonical
 * JSON of
 *
 *   { domain: "roam-node-request-v2", method, path, bodySha256, time, nonce, node, audience }
 *
 * (`path` with its query string, `bodySha256` the lowercase hex SHA-256 of the exact body bytes,
 * `time` ms since the epoch, `node` the signing node's DID, `audience` the DID of the node the
 * request is addressed to) and sends it in five headers: `x-roam-node`, `x-roam-audience`,
 * `x-roam-time`, `x-roam-nonce`, `x-roam-signature` (base64url). The `domain` member keeps these
 * signatures apart from anything else the node key signs (transactions, tokens). The audience
 * binds a request to its receiver: a request a custodian received cannot be replayed, within the
 * time window, to another node (v1 signatures had no audience). The receiver's checks are in
 * `verify.ts`.
 */
import {
  canonicalBytes,
  randomBytes,
  sha256Hex,
  sign,
  toBase64Url,
  utf8ToBytes,
} from '../../crypto/index.js';

/** The headers of a signed node request. */
export const NODE_HEADERS = {
  node: 'x-roam-node',
  audience: 'x-roam-audience',
  time: 'x-roam-time',
  nonce: 'x-roam-nonce',
  signature: 'x-roam-signature',
} as const;

/** Domain separation tag of the signed message. */
export const NODE_REQUEST_DOMAIN = 'roam-node-request-v2';
/** Nonces: 16–64 characters of base64url. */
export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** What a node request's signature covers. */
export interface NodeRequestFields {
  readonly method: string;
  /** Path and query string, as sent (`/node/v1/records/query`). */
  readonly path: string;
  readonly bodySha256: string;
  readonly time: number;
  readonly nonce: string;
  readonly node: string;
  /** The receiving node's DID. */
  readonly audience: string;
}

/** The bytes a node signs for a request (see the module comment). */
export function nodeRequestMessage(fields: NodeRequestFields): Uint8Array {
  return canonicalBytes({
    domain: NODE_REQUEST_DOMAIN,
    method: fields.method.toUpperCase(),
    path: fields.path,
    bodySha256: fields.bodySha256,
    time: fields.time,
    nonce: fields.nonce,
    node: fields.node,
    audience: fields.audience,
  });
}

/** SHA-256 (hex) of a body; a string is hashed as its UTF-8 bytes. */
export function bodyHash(body: Uint8Array | string): string {
  return sha256Hex(typeof body === 'string' ? utf8ToBytes(body) : body);
}

export interface SignNodeRequestInput {
  readonly method: string;
  readonly path: string;
  readonly body: Uint8Array | string;
  /** The signing node's DID and its Ed25519 secret key (32-byte seed). */
  readonly node: string;
  readonly secretKey: Uint8Array;
  /** The DID of the node the request is sent to (its entry on the ledger). */
  readonly audience: string;
  /** ms since the epoch (default Date.now()). */
  readonly time?: number;
  /** Default: 16 random bytes, base64url. */
  readonly nonce?: string;
}

/**
 * The five headers of a signed node request.
 *
 * @example
 * const headers = signNodeRequest({ method: 'POST', path: RECORDS_QUERY_PATH, body, node: nodeDid, secretKey, audience: peer.did });
 * await peerHttp.request(peer.url + RECORDS_QUERY_PATH, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
 */
export function signNodeRequest(input: SignNodeRequestInput): Record<string, string> {
  const time = input.time ?? Date.now();
  const nonce = input.nonce ?? toBase64Url(randomBytes(16));
  const message = nodeRequestMessage({
    method: input.method,
    path: input.path,
    bodySha256: bodyHash(input.body),
    time,
    nonce,
    node: input.node,
    audience: input.audience,
  });
  return {
    [NODE_HEADERS.node]: input.node,
    [NODE_HEADERS.audience]: input.audience,
    [NODE_HEADERS.time]: String(time),
    [NODE_HEADERS.nonce]: nonce,
    [NODE_HEADERS.signature]: toBase64Url(sign(input.secretKey, message)),
  };
}
