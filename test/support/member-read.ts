/**
 * GET a node's ledger API as a member node (the ledger API answers anonymous callers with status
 * and block headers only): the request is signed with the node key kept in `dataDir`, as nodes
 * sign their own requests to peers (src/node/roaming/signing.ts).
 */
import { loadNodeConfig, type NodeKeys } from '../../src/node/index.js';
import { signNodeRequest } from '../../src/node/roaming/index.js';
import type { StatusResponse } from '../../src/wire/index.js';

/**
 * Keys per data folder, opened once: an encrypted node key costs a scrypt derivation to open, and
 * tests read thousands of transactions as the same node. A data folder keeps its keys for its life.
 */
const keysByDataDir = new Map<string, Promise<NodeKeys>>();
/** Node DID per base URL (the audience a signed request names), read once from `/ledger/status`. */
const audienceByUrl = new Map<string, Promise<string>>();

function memberNodeKeys(dataDir: string, nodePassphrase: string | undefined): Promise<NodeKeys> {
  let keys = keysByDataDir.get(dataDir);
  if (keys === undefined) {
    keys = loadNodeConfig(dataDir, { nodePassphrase }).then((config) => config.keys);
    keys.catch(() => keysByDataDir.delete(dataDir));
    keysByDataDir.set(dataDir, keys);
  }
  return keys;
}

function audienceOf(baseUrl: string): Promise<string> {
  let audience = audienceByUrl.get(baseUrl);
  if (audience === undefined) {
    audience = fetch(`${baseUrl}/ledger/status`, { signal: AbortSignal.timeout(10_000) })
      .then((response) => response.json() as Promise<StatusResponse>)
      .then((status) => status.nodeDid);
    audience.catch(() => audienceByUrl.delete(baseUrl));
    audienceByUrl.set(baseUrl, audience);
  }
  return audience;
}

/**
 * `fetch(baseUrl + path)` signed as the node of `dataDir` (a node of a member organization),
 * addressed to the node at `baseUrl` (its DID read from its public `/ledger/status`);
 * `nodePassphrase` opens an encrypted node key (a `roam network up` network's: readNodePassphrase).
 */
export async function fetchAsMemberNode(
  baseUrl: string,
  path: string,
  dataDir: string,
  options: { readonly nodePassphrase?: string | undefined } = {},
): Promise<Response> {
  const keys = await memberNodeKeys(dataDir, options.nodePassphrase);
  const audience = await audienceOf(baseUrl);
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
