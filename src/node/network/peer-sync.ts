import type { SyncResponse } from '../../wire/index.js';
import type { Ledger } from '../../ledger/index.js';
import { NodeError, NodeErrorCode } from '../errors.js';
import { signNodeRequest } from '../roaming/index.js';
import type { PeerHttpClient } from './peer-http.js';
import type { PeerNode } from './peers.js';

/** This node, as it signs its requests to peers (`GET /ledger/sync` answers members only). */
export interface PeerSyncSigner {
  readonly did: string;
  /** The node's Ed25519 secret key (32-byte seed). */
  readonly secretKey: Uint8Array;
}

export interface CatchUpOptions {
  readonly ledger: Ledger;
  readonly peers: readonly PeerNode[];
  readonly signer: PeerSyncSigner;
  /** The node's client for node-to-node calls (network CA, address rules, capped answers). */
  readonly http: Pick<PeerHttpClient, 'request'>;
  readonly log: (line: string) => void;
}

export interface CatchUpResult {
  readonly from: number;
  readonly to: number;
  readonly peer?: string;
}

const STATUS_TIMEOUT_MS = 3_000;
const PAGE_TIMEOUT_MS = 60_000;
/** A status answer is a few hundred bytes. */
const STATUS_MAX_BYTES = 64 * 1024;
/**
 * A sync page holds about MAX_BLOCKS_RESPONSE_BYTES (8 MiB) of envelopes, or one larger block;
 * JSON escaping adds a little. A peer that sends more is cut off rather than buffered.
 */
const PAGE_MAX_BYTES = 64 * 1024 * 1024;
export const SYNC_PAGE_BLOCKS = 100;

/**
 * Brings `ledger` up to the highest peer before the node follows the ordering stream: fetches the
 * missing blocks over HTTP and re-executes each one, checking that it hashes to what the peer
 * serves (so a peer can only hand over blocks this node would compute itself). The stream is not
 * the only copy of history: a node joining late, or one whose stream was trimmed, catches up here.
 * Unreachable peers are skipped, and so is the rest of a peer's chain once one of its blocks
 * re-executes to another hash here (that peer, or this node, diverged: attestations will tell).
 */
export async function catchUpFromPeers(options: CatchUpOptions): Promise<CatchUpResult> {
  const { ledger, peers, signer, http, log } = options;
  const from = ledger.height;
  let source: string | undefined;
  for (const peer of peers) {
    if (ledger.haltReason) break;
    let status: { chainId?: unknown; genesisHash?: unknown; height?: unknown };
    try {
      status = (await getJson(http, `${peer.url}/ledger/status`, { timeoutMs: STATUS_TIMEOUT_MS, maxBytes: STATUS_MAX_BYTES })) as typeof status;
    } catch (error) {
      log(`catch-up: peer ${peer.url} not reachable (${failure(error)})`);
      continue;
    }
    if (status.chainId !== ledger.chainId || status.genesisHash !== ledger.genesisHash) {
      log(`catch-up: peer ${peer.url} belongs to another network; skipped`);
      continue;
    }
    if (typeof status.height !== 'number' || status.height <= ledger.height) continue;
    try {
      await fetchBlocksFrom(ledger, { peer, signer, http }, status.height);
      source = peer.url;
    } catch (error) {
      // A diverged peer (its block re-executes to another hash here) or a failing one: the block
      // this node committed is its own execution of the ordered transactions; go on with another
      // peer, and let attestations tell which node is the odd one out.
      log(
        `catch-up: stopped fetching from ${peer.url} at height ${ledger.height} (${failure(error)})`,
      );
    }
  }
  if (ledger.height > from)
    log(`caught up from height ${from} to ${ledger.height} from ${source ?? 'peers'}`);
  return source === undefined ? { from, to: ledger.height } : { from, to: ledger.height, peer: source };
}

/**
 * Fetches and applies pages of blocks up to `target`. Pipelined, because a joining node may
 * replay a long history: the next page is fetched while this one executes, and each block is
 * compared with the peer's hash as soon as it is executed, while the block writer makes the
 * previous ones durable (at most the ledger's in-flight limit ahead); the ledger is flushed
 * before returning, so `ledger.height` is durable again for the caller.
 */
async function fetchBlocksFrom(
  ledger: Ledger,
  from: { readonly peer: PeerNode; readonly signer: PeerSyncSigner; readonly http: CatchUpOptions['http'] },
  target: number,
): Promise<void> {
  let next = ledger.height + 1;
  let page: Promise<SyncResponse> | undefined = fetchPage(from, next);
  try {
    while (page !== undefined) {
      const blocks = (await page).blocks ?? [];
      page = undefined;
      const last = blocks[blocks.length - 1]?.height;
      // Only a page that continues the chain is worth asking the next one after.
      if (typeof last === 'number' && last < target && blocks[0]?.height === next && last === next + blocks.length - 1) {
        page = fetchPage(from, last + 1);
        // A page left unread (the current one diverged) must not become an unhandled rejection.
        page.catch(() => undefined);
      }
      for (const block of blocks) {
        if (block.height !== next) throw new Error(`peer sent block ${block.height}, expected ${next}`);
        // Without its stream position this node could not resume ordering after the block.
        if (typeof block.position !== 'string') return;
        const header = JSON.parse(block.header) as { time: number };
        const executed = await ledger.enqueueCut(block.envelopes, header.time, block.position);
        if (executed.hash !== block.hash) {
          throw new NodeError(
            NodeErrorCode.SYNC_DIVERGED,
            `block ${block.height} from ${from.peer.url} re-executes to ${executed.hash}, the peer has ${block.hash}: this node's state differs from the network's`,
          );
        }
        next++;
      }
    }
  } finally {
    await ledger.flush();
  }
}

function fetchPage(
  from: { readonly peer: PeerNode; readonly signer: PeerSyncSigner; readonly http: CatchUpOptions['http'] },
  height: number,
): Promise<SyncResponse> {
  const { peer, signer, http } = from;
  const path = `/ledger/sync?from=${height}&limit=${SYNC_PAGE_BLOCKS}`;
  // Signed as a node request (the roaming layer's scheme): the peer serves whole blocks to
  // members of the network only.
  const headers = signNodeRequest({ method: 'GET', path, body: '', node: signer.did, secretKey: signer.secretKey, audience: peer.did });
  return getJson(http, `${peer.url}${path}`, { timeoutMs: PAGE_TIMEOUT_MS, maxBytes: PAGE_MAX_BYTES, headers }) as Promise<SyncResponse>;
}

async function getJson(
  http: CatchUpOptions['http'],
  url: string,
  call: { readonly timeoutMs: number; readonly maxBytes: number; readonly headers?: Record<string, string> },
): Promise<unknown> {
  const response = await http.request(url, { method: 'GET', ...call });
  if (response.status < 200 || response.status >= 300) throw new Error(`HTTP ${response.status}`);
  return JSON.parse(response.text());
}

/** A failure for the log: the peer client's (or node's) stable code, then its message. */
function failure(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return `${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}`;
}
