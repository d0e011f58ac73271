/**
 * A real node serving SMART Health Links on 127.0.0.1 at the public URL it hands out (manifest
 * URLs name it, so the port is chosen before the node is set up): its own network, data folder
 * and HTTP server, in this process. Tests of links opened from elsewhere (another origin, a
 * decoder written from the spec) start one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHttpServer } from '../../src/node/http/server.js';
import { initNetwork } from '../../src/node/init.js';
import { RoamNode } from '../../src/node/roam-node.js';
import { loadWallet } from '../../src/wallet/index.js';
import type { FhirTestNode } from '../fhir-api/fixture.js';
import { useChain } from '../http/fixture.js';
import { freePort } from '../support/ports.js';

export interface LinkHost {
  /** `http://127.0.0.1:<port>`: the node's public URL. */
  readonly baseUrl: string;
  /** The node as the FHIR fixtures take it (`fhir`, `grantOrg`, `tokenOf`). */
  readonly t: FhirTestNode;
  close(): Promise<void>;
}

/** Starts a node listening on a free port of 127.0.0.1, with its organization named `orgName`. */
export async function startLinkHost(orgName: string): Promise<LinkHost> {
  const dataDir = mkdtempSync(join(tmpdir(), 'roam-shl-host-'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const init = await initNetwork({
    dataDir,
    orgName,
    region: 'eu-north',
    adminPassphrase: 'correct horse battery staple',
    host: '127.0.0.1',
    port,
    publicUrl: baseUrl,
    walletKdf: { N: 32768, r: 8, p: 1 },
  });
  const node = await RoamNode.open({ dataDir, blockLimits: { timeoutMs: 5 } });
  useChain(node.ledger.chainId);
  const app = buildHttpServer(node);
  await app.listen({ host: '127.0.0.1', port });
  const admin = await loadWallet(init.adminWalletPath, 'correct horse battery staple');
  return {
    baseUrl,
    t: { node, init, admin, app, dataDir, close: () => Promise.resolve() } satisfies FhirTestNode,
    async close() {
      await app.close();
      await node.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
