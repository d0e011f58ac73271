/**
 * GET a node's ledger API as a member node (the ledger API answers anonymous callers with status
 * and block headers only): the request is signed with the node key kept in `dataDir`, as nodes
 * sign their own requests to peers (src/node/roaming/signing.ts).
 */
import { loadNodeConfig } from '../../src/node/index.js';
import { signNodeRequest } from '../../src/node/roaming/index.js';
import type { StatusResponse } from '../../src/wire/index.js';

/**
 * `fetch(baseUrl + path)` signed as the node of `dataDir` (a node of a member organization),
 * addressed to the node at `baseUrl` (its DID read from its public `/ledger/status`).
 */
export async function fetchAsMemberNode(baseUrl: string, path: string, dataDir: string): Promise<Response> {
  const { keys } = loadNodeConfig(dataDir);
  const status = await fetch(`${baseUrl}/ledger/status`, { signal: AbortSignal.timeout(10_000) });
  const { nodeDid: audience } = (await status.json()) as StatusResponse;
  const headers = signNodeRequest({
    method: 'GET',
    path,
    body: '',
    node: keys.nodeDid,
    secretKey: keys.node.secretKey,
    audience,
  });
  return fetch(`${baseUrl}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
}
