/**
 * The receiving side of signed node requests (`signing.ts`): the requesting node must be a
 * registered, active node of a member organization on THIS node's ledger; the request addressed
 * (signed) to this node's DID; its time within
 * ±NODE_REQUEST_SKEW_MS of this node's clock; its nonce unseen within the window; its signature
 * valid under the node's current ledger key over the request as received. Nonces are remembered
 * only after the signature verified, so a forged request cannot burn a real one.
 */
import { isMemberOrg, type StateReader } from '../../contracts/index.js';
import { fromBase64Url, SIGNATURE_LENGTH, verifyAsync } from '../../crypto/index.js';
import { StateKey } from '../../ledger/index.js';
import type { PartyRecord } from '../../ledger/types.js';
import { HttpError } from '../http/errors.js';
import { bodyHash, NODE_HEADERS, NONCE_PATTERN, nodeRequestMessage } from './signing.js';

/** How far a request's `x-roam-time` may be from this node's clock, either way. */
export const NODE_REQUEST_SKEW_MS = 60_000;
/** Most nonces remembered at once; beyond it requests are refused until old ones expire. */
export const MAX_REMEMBERED_NONCES = 200_000;
/**
 * Most nonces remembered at once of ONE requesting node (its requests in the last two minutes):
 * far above what a node's roaming and catch-up send, and a small share of the global cap.
 */
export const MAX_REMEMBERED_NONCES_PER_NODE = 20_000;

/** A node whose request verified. */
export interface VerifiedNode {
  readonly did: string;
  readonly org: string;
}

/**
 * Nonces seen recently, by node. Each is kept for twice the skew after it arrived: a replay after
 * that carries a time older than the skew allows. Arrival order makes expiry order, so expired
 * nonces are dropped from the front of the (insertion-ordered) map. Besides the global cap, each
 * requesting node may hold at most `maxPerNode` of them: one member sending as fast as it can
 * fills its own quota, never the window the other nodes' requests need.
 */
export class NonceWindow {
  private readonly seen = new Map<string, { readonly expires: number; readonly node: string }>();
  private readonly perNode = new Map<string, number>();

  constructor(
    private readonly keepMs: number,
    private readonly max: number,
    private readonly maxPerNode: number = max,
  ) {}

  /** Remembers `nonce` of `node`: 'new', or why not (a replay, the node's quota, the global cap). */
  remember(node: string, nonce: string, now: number): 'new' | 'replayed' | 'node-full' | 'full' {
    for (const [key, entry] of this.seen) {
      if (entry.expires > now) break;
      this.seen.delete(key);
      const left = (this.perNode.get(entry.node) ?? 1) - 1;
      if (left === 0) this.perNode.delete(entry.node);
      else this.perNode.set(entry.node, left);
    }
    const key = `${node} ${nonce}`;
    if (this.seen.has(key)) return 'replayed';
    const held = this.perNode.get(node) ?? 0;
    if (held >= this.maxPerNode) return 'node-full';
    if (this.seen.size >= this.max) return 'full';
    this.seen.set(key, { expires: now + this.keepMs, node });
    this.perNode.set(node, held + 1);
    return 'new';
  }

  get size(): number {
    return this.seen.size;
  }
}

/** A request as the receiver saw it. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path and query string, as received. */
  readonly path: string;
  readonly body: Uint8Array | string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface NodeRequestVerifierOptions {
  /** This node's DID: requests must be addressed (signed) to it. */
  readonly audience: string;
  /** ms since the epoch (default Date.now); tests move it. */
  readonly now?: () => number;
  readonly skewMs?: number;
  readonly maxNonces?: number;
  readonly maxNoncesPerNode?: number;
}

/** Checks signed node requests against this node's ledger state. */
export class NodeRequestVerifier {
  private readonly now: () => number;
  private readonly skewMs: number;
  private readonly nonces: NonceWindow;
  private readonly audience: string;

  constructor(
    private readonly state: StateReader,
    options: NodeRequestVerifierOptions,
  ) {
    this.audience = options.audience;
    this.now = options.now ?? Date.now;
    this.skewMs = options.skewMs ?? NODE_REQUEST_SKEW_MS;
    this.nonces = new NonceWindow(
      2 * this.skewMs,
      options.maxNonces ?? MAX_REMEMBERED_NONCES,
      options.maxNoncesPerNode ?? MAX_REMEMBERED_NONCES_PER_NODE,
    );
  }

  /**
   * The requesting node, when its request verifies.
   *
   * @throws HttpError NODE_AUTH_MISSING, NODE_WRONG_AUDIENCE, NODE_UNKNOWN, NODE_REQUEST_STALE,
   *   NODE_SIGNATURE_INVALID, NODE_REQUEST_REPLAYED (all 401), NODE_REQUEST_QUOTA (429)
   */
  async verify(request: ReceivedRequest): Promise<VerifiedNode> {
    const node = header(request, NODE_HEADERS.node);
    const audience = header(request, NODE_HEADERS.audience);
    const timeText = header(request, NODE_HEADERS.time);
    const nonce = header(request, NODE_HEADERS.nonce);
    const signatureText = header(request, NODE_HEADERS.signature);
    if (!/^\d{1,16}$/.test(timeText))
      throw new HttpError('NODE_AUTH_MISSING', `"${NODE_HEADERS.time}" expected ms since the epoch`);
    if (!NONCE_PATTERN.test(nonce))
      throw new HttpError('NODE_AUTH_MISSING', `"${NODE_HEADERS.nonce}" expected 16-64 base64url characters`);
    let signature: Uint8Array;
    try {
      signature = fromBase64Url(signatureText);
    } catch {
      signature = new Uint8Array(0);
    }
    if (signature.length !== SIGNATURE_LENGTH) {
      throw new HttpError(
        'NODE_AUTH_MISSING',
        `"${NODE_HEADERS.signature}" expected a base64url Ed25519 signature of ${SIGNATURE_LENGTH} bytes`,
      );
    }
    // Checked again by the signature (which covers this node's own DID, not the header's).
    if (audience !== this.audience) {
      throw new HttpError('NODE_WRONG_AUDIENCE', `the request is addressed to another node than ${this.audience}`);
    }
    const party = this.state.get<PartyRecord>(StateKey.party(node));
    if (
      party === undefined ||
      party.kind !== 'node' ||
      party.status !== 'active' ||
      party.org === undefined ||
      !isMemberOrg(this.state, party.org)
    ) {
      throw new HttpError(
        'NODE_UNKNOWN',
        `${node.slice(0, 100)} is not an active node of a member organization`,
      );
    }
    const time = Number(timeText);
    const now = this.now();
    if (Math.abs(now - time) > this.skewMs) {
      throw new HttpError(
        'NODE_REQUEST_STALE',
        `"${NODE_HEADERS.time}" is ${now - time} ms away from this node's clock (allowed ±${this.skewMs})`,
      );
    }
    const message = nodeRequestMessage({
      method: request.method,
      path: request.path,
      bodySha256: bodyHash(request.body),
      time,
      nonce,
      node,
      audience: this.audience,
    });
    let publicKey: Uint8Array;
    try {
      publicKey = fromBase64Url(party.signingKey);
    } catch {
      publicKey = new Uint8Array(0);
    }
    if (!(await verifyAsync(publicKey, message, signature))) {
      throw new HttpError(
        'NODE_SIGNATURE_INVALID',
        'the request signature does not verify with the node key',
      );
    }
    switch (this.nonces.remember(node, nonce, this.now())) {
      case 'new':
        return { did: node, org: party.org };
      case 'replayed':
        throw new HttpError('NODE_REQUEST_REPLAYED', `"${NODE_HEADERS.nonce}" was used already`);
      case 'node-full':
        throw new HttpError(
          'NODE_REQUEST_QUOTA',
          'this node sent more requests within the time window than one node may; retry later',
        );
      case 'full':
        throw new HttpError(
          'NODE_REQUEST_REPLAYED',
          'too many recent requests to remember their nonces; retry',
        );
    }
  }
}

function header(request: ReceivedRequest, name: string): string {
  const value = request.headers[name];
  if (typeof value !== 'string' || value === '' || value.length > 512)
    throw new HttpError('NODE_AUTH_MISSING', `header "${name}" is missing or malformed`);
  return value;
}
