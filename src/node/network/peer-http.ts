/**
 * The one HTTP client for node-to-node calls (roaming queries, catch-up, peer status). Peer URLs
 * come from the ledger, that is from any member, and the requests carry signed node headers, so:
 *
 * - TLS peers are verified against the network's CA bundle (node.json `tls.caFile`) INSTEAD of
 *   the system roots when one is configured: every node of a network holds a certificate from the
 *   network's CA, and no public CA (nor a mis-issued certificate from one) can then stand in for
 *   a peer. Without `caFile` the system roots apply (a network whose nodes use public
 *   certificates).
 * - Redirects are never followed: a 3xx is an error, and the signed headers go nowhere else.
 * - The answer is capped while it streams (content-length is not trusted; chunked answers are
 *   counted too), and every call has a total timeout.
 * - Private, loopback, link-local, unique-local and unspecified addresses are refused when the
 *   socket connects (`peer-address.ts`), unless node.json `peers.allowPrivateAddresses` is true.
 *
 * Built on undici's `request` with our own `Agent`, so the dispatcher (TLS trust, address check)
 * is this module's and not the process-wide global fetch's.
 */
import { Agent, buildConnector, request } from 'undici';
import { CodedError } from '../../crypto/index.js';
import { dataPath, type NodeConfig } from '../config.js';
import { readPem } from '../http/tls.js';
import { checkedLookup, refusedLiteralReason } from './peer-address.js';

/** Stable codes of failed peer calls. */
export const PeerHttpErrorCode = {
  /** The URL is not an absolute http(s) URL without credentials. */
  URL_INVALID: 'PEER_URL_INVALID',
  /** The peer's address is private, loopback, link-local… and this node does not allow those. */
  ADDRESS_REFUSED: 'PEER_ADDRESS_REFUSED',
  /** The peer answered a redirect (3xx): never followed. */
  REDIRECT: 'PEER_REDIRECT',
  /** The answer grew past the call's cap. */
  ANSWER_TOO_LARGE: 'PEER_ANSWER_TOO_LARGE',
  /** No complete answer within the call's total timeout. */
  TIMEOUT: 'PEER_TIMEOUT',
  /** Connection, TLS (an untrusted certificate included) or protocol failure. */
  UNREACHABLE: 'PEER_UNREACHABLE',
} as const;
export type PeerHttpErrorCode = (typeof PeerHttpErrorCode)[keyof typeof PeerHttpErrorCode];

export class PeerHttpError extends CodedError<PeerHttpErrorCode> {
  override readonly name = 'PeerHttpError';
}

/** Default cap of an answer (a roaming answer of MAX_RECORDS_PER_ANSWER records fits). */
export const DEFAULT_MAX_ANSWER_BYTES = 64 * 1024 * 1024;
export const DEFAULT_PEER_TIMEOUT_MS = 10_000;

export interface PeerHttpOptions {
  /** PEM bundle of the network's CA(s); when set, the only roots TLS peers are verified against. */
  readonly caPem?: string;
  /** Allow peers at private, loopback and link-local addresses (local networks). Default false. */
  readonly allowPrivateAddresses?: boolean;
}

export interface PeerRequest {
  readonly method: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Total time for connecting, sending and reading the whole answer. */
  readonly timeoutMs?: number;
  /** Largest answer body accepted, counted as it arrives. */
  readonly maxBytes?: number;
}

/**
 * Told of the end of every call (the node's metrics): the path called and the answer's status,
 * or undefined when no answer came (refused address, timeout, too large, redirect).
 */
export type PeerCallObserver = (call: { readonly path: string; readonly status: number | undefined }) => void;

/** A complete answer (any status but 3xx). */
export interface PeerResponse {
  readonly status: number;
  readonly body: Buffer;
  text(): string;
}

/**
 * Node-to-node HTTP(S) client; one per node, closed with it.
 *
 * @example
 * const peers = new PeerHttpClient({ caPem: readFileSync(caFile, 'utf8') });
 * const answer = await peers.request(`${peer.url}/ledger/status`, { method: 'GET', timeoutMs: 3_000 });
 */
export class PeerHttpClient {
  private readonly agent: Agent;
  private readonly observers = new Set<PeerCallObserver>();

  constructor(options: PeerHttpOptions = {}) {
    const allowPrivate = options.allowPrivateAddresses === true;
    const connector = buildConnector({
      ...(options.caPem === undefined ? {} : { ca: options.caPem }),
      ...(allowPrivate ? {} : { lookup: checkedLookup }),
    });
    this.agent = new Agent({
      // Node does not call `lookup` for a host that is an IP literal: those are checked here.
      connect: (connectOptions, callback) => {
        const refused = allowPrivate ? undefined : refusedLiteralReason(connectOptions.hostname);
        if (refused !== undefined) {
          callback(new PeerHttpError(PeerHttpErrorCode.ADDRESS_REFUSED, `peer address refused: ${refused}`), null);
          return;
        }
        connector(connectOptions, callback);
      },
    });
  }

  /** Adds an observer of every call's end; returns its removal. */
  observe(observer: PeerCallObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /**
   * Sends one request to `url` and reads the whole answer.
   *
   * @throws PeerHttpError with one of PeerHttpErrorCode
   */
  async request(url: string, call: PeerRequest): Promise<PeerResponse> {
    const target = parsePeerUrl(url);
    let status: number | undefined;
    try {
      const answer = await this.send(target, call);
      status = answer.status;
      return answer;
    } finally {
      for (const observer of this.observers) observer({ path: target.pathname, status });
    }
  }

  private async send(target: URL, call: PeerRequest): Promise<PeerResponse> {
    const maxBytes = call.maxBytes ?? DEFAULT_MAX_ANSWER_BYTES;
    const signal = AbortSignal.timeout(call.timeoutMs ?? DEFAULT_PEER_TIMEOUT_MS);
    try {
      const answer = await request(target, {
        dispatcher: this.agent,
        method: call.method,
        headers: { ...call.headers },
        ...(call.body === undefined ? {} : { body: call.body }),
        signal,
      });
      // Cutting an answer short destroys its stream, which then emits an error nobody awaits.
      answer.body.on('error', () => undefined);
      if (answer.statusCode >= 300 && answer.statusCode < 400) {
        answer.body.destroy();
        throw new PeerHttpError(
          PeerHttpErrorCode.REDIRECT,
          `${target.origin} answered ${answer.statusCode} (a redirect); node requests never follow redirects`,
        );
      }
      const chunks: Buffer[] = [];
      let received = 0;
      for await (const chunk of answer.body as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (received > maxBytes) {
          // Leaving the loop destroys the stream (and the connection).
          throw new PeerHttpError(
            PeerHttpErrorCode.ANSWER_TOO_LARGE,
            `${target.origin} sent more than ${maxBytes} bytes; the answer was cut`,
          );
        }
        chunks.push(chunk);
      }
      const body = Buffer.concat(chunks);
      return { status: answer.statusCode, body, text: () => body.toString('utf8') };
    } catch (error) {
      throw asPeerError(error, target, signal);
    }
  }

  /** Closes the pooled connections. */
  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * The peer client a node's configuration asks for: node.json `tls.caFile` as the roots,
 * `peers.allowPrivateAddresses` for local networks.
 *
 * @throws NodeError BAD_CONFIG when the CA file cannot be read
 */
export function peerHttpClientFor(config: Pick<NodeConfig, 'dataDir' | 'file'>): PeerHttpClient {
  const caFile = config.file.tls?.caFile;
  return new PeerHttpClient({
    ...(caFile === undefined ? {} : { caPem: readPem(dataPath(config.dataDir, caFile), 'CA') }),
    allowPrivateAddresses: config.file.peers?.allowPrivateAddresses === true,
  });
}

function parsePeerUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PeerHttpError(PeerHttpErrorCode.URL_INVALID, `not a URL: ${url.slice(0, 100)}`);
  }
  if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.username !== '' || parsed.password !== '') {
    throw new PeerHttpError(PeerHttpErrorCode.URL_INVALID, `not an http(s) URL without credentials: ${parsed.origin}`);
  }
  return parsed;
}

/** The typed error of a failed call, with the cause's code (ECONNREFUSED, a TLS code…) in the message. */
function asPeerError(error: unknown, target: URL, signal: AbortSignal): PeerHttpError {
  if (error instanceof PeerHttpError) return error;
  if (signal.aborted) return new PeerHttpError(PeerHttpErrorCode.TIMEOUT, `${target.origin} did not answer in time`);
  const chain: unknown[] = [];
  for (let e: unknown = error; e instanceof Error && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e);
  const refused = chain.find((e) => e instanceof PeerHttpError || (e as { code?: unknown }).code === 'PEER_ADDRESS_REFUSED');
  if (refused !== undefined) {
    return new PeerHttpError(PeerHttpErrorCode.ADDRESS_REFUSED, `${target.origin}: ${(refused as Error).message}`);
  }
  const code = chain.map((e) => (e as { code?: unknown }).code).find((c) => typeof c === 'string');
  const message = error instanceof Error ? error.message.slice(0, 200) : 'failed';
  return new PeerHttpError(
    PeerHttpErrorCode.UNREACHABLE,
    `${target.origin}: ${typeof code === 'string' ? `${code}: ` : ''}${message}`,
    { cause: error },
  );
}
