/**
 * A joining node for `npm run bench:scale`, in its own process: an empty ledger (the source
 * node's genesis and node identity, no blocks) that catches up from the running source node over
 * `GET /ledger/sync` with the code a network node runs at start (`catchUpFromPeers`: fetch pages
 * of blocks, re-execute every one, check its hash). Prints one JSON line: the heights and
 * milliseconds (the caller knows how many transactions the blocks hold).
 *
 * Why not a second `RoamNode`: a node runs catch-up only with a JetStream orderer (a one-node
 * network has nobody to catch up from), and the sync route answers member nodes only. The
 * joiner here signs as the source node's own identity (a restored copy of it, as after
 * `roam restore`); what is measured — page fetches, signature checks, re-execution and block
 * writes — is the same code path.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContractSuite } from '../../src/contracts/index.js';
import { Ledger, WorkerVerifierPool } from '../../src/ledger/index.js';
import { DataFiles, loadNodeConfig } from '../../src/node/config.js';
import { PeerHttpClient } from '../../src/node/network/peer-http.js';
import { catchUpFromPeers } from '../../src/node/network/peer-sync.js';
import { BlockWriter, LedgerStore } from '../../src/store/index.js';

const [sourceDir, sourceUrl] = process.argv.slice(2);
if (sourceDir === undefined || sourceUrl === undefined) throw new Error('usage: catch-up-node.ts SOURCE_DATA_DIR SOURCE_URL');

const dir = mkdtempSync(join(tmpdir(), 'roam-bench-join-'));
for (const file of [DataFiles.config, DataFiles.genesis, DataFiles.nodeKey]) copyFileSync(file(sourceDir), file(dir));
const config = await loadNodeConfig(dir);
const store = LedgerStore.open(DataFiles.store(dir));
const verifier = new WorkerVerifierPool();
const writer = BlockWriter.start(store.path);
const ledger = Ledger.open({ store, contracts: createContractSuite(), genesis: config.genesis, verifier, writer });
// The source listens on 127.0.0.1: a loopback peer is allowed here only (a node refuses one by default).
const http = new PeerHttpClient({ allowPrivateAddresses: true });
try {
  const started = performance.now();
  const result = await catchUpFromPeers({
    ledger,
    peers: [{ did: config.keys.nodeDid, org: config.keys.orgDid, orgName: 'source', region: config.file.region, url: sourceUrl, signingKey: '' }],
    signer: { did: config.keys.nodeDid, secretKey: config.keys.node.secretKey },
    http,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  await ledger.flush();
  const ms = performance.now() - started;
  console.log(JSON.stringify({ from: result.from, to: result.to, ms }));
} finally {
  ledger.close();
  await writer.close();
  store.close();
  await verifier.close();
  await http.close();
  rmSync(dir, { recursive: true, force: true });
}
