/**
 * Typed client of a node's ledger API. Uses only `fetch` (Node ≥ 20, browsers), so the CLI, the
 * tests and the web app share it.
 */
import type { SignedTx } from '../ledger/types.js';
import { requestJson } from './request.js';
import { ClientErrorCode, RoamApiError } from './errors.js';
import type {
  BatchSubmitResponse,
  BlockResponse,
  BlocksResponse,
  ConsentsResponse,
  EmergencyResponse,
  ReplicaResponse,
  IdentityResponse,
  OrgsResponse,
  StatusResponse,
  SubmitAccepted,
  SubmitCommitted,
  TxResponse,
} from '../wire/index.js';

/** How long one call may take by default (connect, send, and the whole answer). */
export const DEFAULT_CLIENT_TIMEOUT_MS = 30_000;
/** How long the node waits for a commit when `submit(…, { wait: 'commit' })` names no `timeoutMs` (the node's default). */
export const DEFAULT_SUBMIT_WAIT_MS = 30_000;
/** Time the client allows over a commit wait, for the node to answer after waiting. */
export const COMMIT_WAIT_MARGIN_MS = 5_000;

/**
 * The access token ledger reads send (`Authorization: Bearer …`): a token, or a function giving
 * the current one (e.g. signing in when the last one expired), or undefined to stay anonymous.
 */
export type AccessTokenSource = string | (() => Promise<string | undefined> | string | undefined);

export interface RoamClientOptions {
  /** A fetch implementation (default: the global one). */
  readonly fetch?: typeof fetch;
  /**
   * Sent with every call. Without one the node answers as to an anonymous visitor: status and
   * block headers only (see the read policy in `src/node/http/ledger-access.ts`).
   */
  readonly accessToken?: AccessTokenSource;
  /** Per-call timeout in ms (default DEFAULT_CLIENT_TIMEOUT_MS); commit waits get theirs plus a margin. */
  readonly timeoutMs?: number;
}

export interface SubmitOptions {
  /** 'commit': answer once the transactions are in a block (200), not at acceptance (202). */
  readonly wait?: 'commit';
  /** How long the node waits for the commit, in ms (1–120000; default: the node's, 30000). */
  readonly timeoutMs?: number;
}

/**
 * A node's ledger API.
 *
 * @throws RoamApiError from every call: the node's `{ error: { code, message } }` with its HTTP
 *   status, or NETWORK_ERROR / TIMEOUT / BAD_RESPONSE (status 0 for the first two), naming the URL.
 * @example
 * const client = new RoamClient('http://127.0.0.1:8080');
 * const { height } = await client.status();
 * const committed = await client.submit(signedTx(wallet, TxType.PatientRegister, { encryptionKey }), { wait: 'commit' });
 */
export class RoamClient {
  /** The node's base URL, without a trailing slash. */
  readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;
  private readonly accessToken: AccessTokenSource | undefined;

  constructor(baseUrl: string, options: RoamClientOptions = {}) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw invalid(`"baseUrl" expected an http(s) URL, got ${JSON.stringify(String(baseUrl))}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw invalid(`"baseUrl" expected an http(s) URL, got protocol ${url.protocol}`);
    }
    if (url.search !== '' || url.hash !== '') throw invalid('"baseUrl" must not have a query or fragment');
    this.baseUrl = url.href.replace(/\/+$/, '');
    const timeoutMs = options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
      throw invalid(`"options.timeoutMs" expected a positive integer, got ${String(timeoutMs)}`);
    }
    this.timeoutMs = timeoutMs;
    this.accessToken = options.accessToken;
    // Bound to globalThis: browsers refuse a fetch called as a method of another object.
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** GET /ledger/status: chain, head, and this node's identity. */
  status(): Promise<StatusResponse> {
    return this.request('GET', '/ledger/status');
  }

  /**
   * POST /ledger/tx. One envelope: resolves when it is accepted (or, with `wait: 'commit'`,
   * committed, with its result code, which may be a rejection committed in the block), and throws
   * RoamApiError with the result code when it is refused at admission (e.g. REPLAY, BAD_SIGNATURE).
   * An array: one result per envelope, refused ones included, never throwing for them.
   */
  submit(envelope: SignedTx, options: SubmitOptions & { readonly wait: 'commit' }): Promise<SubmitCommitted>;
  submit(
    envelope: SignedTx,
    options?: SubmitOptions & { readonly wait?: undefined },
  ): Promise<SubmitAccepted>;
  submit(envelopes: readonly SignedTx[], options?: SubmitOptions): Promise<BatchSubmitResponse>;
  submit(envelope: SignedTx, options?: SubmitOptions): Promise<SubmitAccepted | SubmitCommitted>;
  submit(
    input: SignedTx | readonly SignedTx[],
    options: SubmitOptions = {},
  ): Promise<SubmitAccepted | SubmitCommitted | BatchSubmitResponse> {
    return rejectOnThrow(() => this.submitRequest(input, options));
  }

  private submitRequest(
    input: SignedTx | readonly SignedTx[],
    options: SubmitOptions,
  ): Promise<SubmitAccepted | SubmitCommitted | BatchSubmitResponse> {
    const query = new URLSearchParams();
    let timeoutMs = this.timeoutMs;
    if (options.wait !== undefined) {
      if (options.wait !== 'commit')
        throw invalid(`"options.wait" expected 'commit', got ${JSON.stringify(String(options.wait))}`);
      query.set('wait', 'commit');
      if (options.timeoutMs !== undefined) {
        if (
          !Number.isSafeInteger(options.timeoutMs) ||
          options.timeoutMs < 1 ||
          options.timeoutMs > 120_000
        ) {
          throw invalid(
            `"options.timeoutMs" expected an integer from 1 to 120000, got ${String(options.timeoutMs)}`,
          );
        }
        query.set('timeoutMs', String(options.timeoutMs));
      }
      timeoutMs = Math.max(timeoutMs, (options.timeoutMs ?? DEFAULT_SUBMIT_WAIT_MS) + COMMIT_WAIT_MARGIN_MS);
    }
    const body = isEnvelopeArray(input) ? { txs: input } : input;
    const search = query.size > 0 ? `?${query.toString()}` : '';
    return this.request('POST', `/ledger/tx${search}`, body, timeoutMs);
  }

  /** GET /ledger/tx/:id: a committed transaction with its block header and inclusion proof (see verifyTxResponse). */
  getTx(id: string): Promise<TxResponse> {
    return rejectOnThrow(() => {
      if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id))
        throw invalid('"id" expected 64 lowercase hex characters');
      return this.request('GET', `/ledger/tx/${id}`);
    });
  }

  /** GET /ledger/blocks/:height. */
  getBlock(height: number): Promise<BlockResponse> {
    return rejectOnThrow(() => {
      checkHeight('height', height);
      return this.request('GET', `/ledger/blocks/${height}`);
    });
  }

  /** GET /ledger/blocks?from&limit: up to `limit` (≤ 100) consecutive blocks from `from`; possibly fewer. */
  getBlocks(from: number, limit?: number): Promise<BlocksResponse> {
    return rejectOnThrow(() => {
      checkHeight('from', from);
      const query = new URLSearchParams({ from: String(from) });
      if (limit !== undefined) {
        if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100) {
          throw invalid(`"limit" expected an integer from 1 to 100, got ${String(limit)}`);
        }
        query.set('limit', String(limit));
      }
      return this.request('GET', `/ledger/blocks?${query.toString()}`);
    });
  }

  /** GET /ledger/orgs: member organizations and their nodes. */
  orgs(): Promise<OrgsResponse> {
    return this.request('GET', '/ledger/orgs');
  }

  /** GET /ledger/identities/:did: a party's record, or an organization's (`kind: 'org'`). */
  identity(did: string): Promise<IdentityResponse> {
    return rejectOnThrow(() =>
      this.request('GET', `/ledger/identities/${encodeURIComponent(checkDid('did', did))}`),
    );
  }

  /** GET /ledger/patients/:did/consents: a patient's grants (without sealed keys) and access requests. */
  consents(patientDid: string): Promise<ConsentsResponse> {
    return rejectOnThrow(() =>
      this.request(
        'GET',
        `/ledger/patients/${encodeURIComponent(checkDid('patientDid', patientDid))}/consents`,
      ),
    );
  }

  /**
   * GET /ledger/patients/:did/emergency: a patient's emergency policy and its break-glass
   * accesses (without sealed shares or escrow). Same read policy as `consents`.
   */
  emergency(patientDid: string): Promise<EmergencyResponse> {
    return rejectOnThrow(() =>
      this.request(
        'GET',
        `/ledger/patients/${encodeURIComponent(checkDid('patientDid', patientDid))}/emergency`,
      ),
    );
  }

  /**
   * GET /ledger/patients/:did/replica: the patient's replica organization (`records.replica`),
   * and whether it is in effect. Same read policy as `consents`.
   */
  replica(patientDid: string): Promise<ReplicaResponse> {
    return rejectOnThrow(() =>
      this.request('GET', `/ledger/patients/${encodeURIComponent(checkDid('patientDid', patientDid))}/replica`),
    );
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs: number = this.timeoutMs): Promise<T> {
    const bearer = typeof this.accessToken === 'function' ? await this.accessToken() : this.accessToken;
    return requestJson<T>({
      fetchFn: this.fetchFn,
      method,
      url: `${this.baseUrl}${path}`,
      timeoutMs,
      ...(body === undefined ? {} : { body }),
      ...(bearer === undefined ? {} : { bearer }),
    });
  }
}

/** Argument errors reject the returned promise rather than throw synchronously. */
function rejectOnThrow<T>(call: () => Promise<T>): Promise<T> {
  try {
    return call();
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function isEnvelopeArray(value: SignedTx | readonly SignedTx[]): value is readonly SignedTx[] {
  return Array.isArray(value);
}

function checkHeight(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw invalid(`"${name}" expected a non-negative integer, got ${String(value)}`);
}

function checkDid(name: string, value: string): string {
  if (typeof value !== 'string' || !value.startsWith('did:') || value.length > 128) {
    throw invalid(`"${name}" expected a DID of at most 128 characters`);
  }
  return value;
}

function invalid(message: string): RoamApiError {
  return new RoamApiError(0, ClientErrorCode.INVALID_ARGUMENT, message);
}
