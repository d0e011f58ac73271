/**
 * A real 3-region network for tests: `networkUp` with three `nats-server` processes and three
 * node processes (`roam start`, run from the TypeScript sources), on free loopback ports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import type { StatusResponse } from '../../src/wire/index.js';
import { isAlive, networkDown, networkUp, nodePid, recordNodePid, startNodeProcess, type NetworkFile } from '../../src/network/network.js';
import { PASSPHRASE, REPO, tempDir } from '../cli/harness.js';
import { freePortRange } from '../support/nats-cluster.js';

export const CLI = { execPath: process.execPath, args: ['--import', 'tsx', join(REPO, 'src/cli/main.ts')] } as const;
const ENV = { ROAM_TEST_FAST_KDF: '1' };

export interface TestNetwork {
  readonly dir: string;
  readonly file: NetworkFile;
  url(region: string): string;
  status(region: string): Promise<StatusResponse>;
  kill(region: string, signal?: NodeJS.Signals): Promise<void>;
  restart(region: string): Promise<void>;
  close(): Promise<void>;
}

export async function startTestNetwork(regions: readonly string[] = ['eu', 'us', 'ap']): Promise<TestNetwork> {
  const { dir, cleanup } = tempDir('roam-net-');
  const basePort = await freePortRange(24);
  const file = await networkUp({ dir, regions, basePort, cli: CLI, passphrase: PASSPHRASE, walletKdf: { N: 32768, r: 8, p: 1 }, env: ENV });
  if (file.natsSecurity) trustNetworkCa(file.natsSecurity.caFile);
  const url = (region: string) => file.nodes.find((n) => n.region === region)!.url;
  const status = async (region: string) => {
    const response = await fetch(`${url(region)}/ledger/status`, { signal: AbortSignal.timeout(5_000) });
    return (await response.json()) as StatusResponse;
  };
  return {
    dir,
    file,
    url,
    status,
    async kill(region, signal = 'SIGKILL') {
      const pid = nodePid(dir, region);
      if (pid === undefined) return;
      process.kill(pid, signal);
      while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
    },
    async restart(region) {
      recordNodePid(dir, region, startNodeProcess(dir, region, { cli: CLI, env: ENV }));
      const deadline = Date.now() + 120_000;
      for (;;) {
        try {
          await status(region);
          return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    },
    async close() {
      await networkDown(dir);
      cleanup();
    },
  };
}

/** Polls until `predicate` holds (a network converges asynchronously). */
export async function eventually<T>(probe: () => Promise<T>, predicate: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined;
    try {
      value = await probe();
      if (predicate(value)) return value;
    } catch {
      // a node restarting: try again
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)?.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The nodes of a `network up` network serve HTTPS under the network's own CA: this test process
 * trusts it (fetch here), and so do the CLI processes it starts (NODE_EXTRA_CA_CERTS, inherited),
 * as a user of such a network does.
 */
function trustNetworkCa(caFile: string): void {
  setDefaultCACertificates([...getCACertificates('default'), readFileSync(caFile, 'utf8')]);
  process.env['NODE_EXTRA_CA_CERTS'] = caFile;
}
