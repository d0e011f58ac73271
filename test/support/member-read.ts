/**
 * GET a node's ledger API as a member node (the ledger API answers anonymous callers with status
 * and block headers only): the request is signed with the node key kept in `dataDir`, as nodes
 * sign their own requests to peers (src/node/roaming/signing.ts).
 */
import { loadNodeConfig } from '../../src/node/index.js';
import { signNodeRequest } from '../../src/node/roaming/index.js';

/**
 * `fetch(baseUrl + path)` signed as the node of `dataDir` (a node of a member organization);
 * `nodePassphrase` opens an encrypted node key (a `roam network up` network's: readNodePassphrase).
 */
export async function fetchAsMemberNode(
  baseUrl: string,
  path: string,
  dataDir: string,
  options: { readonly nodePassphrase?: string | undefined } = {},
): Promise<Response> {
  const { keys } = await loadNodeConfig(dataDir, options);
  const headers = signNodeRequest({
    method: 'GET',
    path,
    body: '',
    node: keys.nodeDid,
    secretKey: keys.node.secretKey,
  });
  return fetch(`${baseUrl}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
}
