/**
 * A real 3-server NATS JetStream cluster on loopback for tests: `nats-server` processes from
 * PATH, each with its own store folder, stoppable and restartable one by one.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterSpecs, startNatsServer, waitForPort, writeClusterConfigs, type NatsServerSecurity, type NatsServerSpec } from '../../src/network/nats-servers.js';
import { createNatsUserKey, issueNatsServerCertificates, natsAuthorizationBlock, type NatsUser } from '../../src/network/nats-security.js';
import { createCertificateAuthority } from '../../src/network/pki.js';
import type { NatsClientCredentials } from '../../src/ordering/index.js';

/** A secured cluster's client credentials: TLS against its CA, as the operator or as one of its members. */
export interface NatsClusterSecurity {
  readonly caPem: string;
  readonly operator: NatsClientCredentials;
  readonly members: readonly NatsClientCredentials[];
}

export interface NatsCluster {
  readonly dir: string;
  readonly urls: readonly string[];
  readonly specs: readonly NatsServerSpec[];
  /** Present when started with `secure`: TLS required, nkey users only. */
  readonly security?: NatsClusterSecurity;
  stop(index: number): Promise<void>;
  start(index: number): Promise<void>;
  close(): Promise<void>;
}

/** Kept here too: the network tests import it with the cluster. */
export { freePort } from './ports.js';

/** `count` consecutive free ports (retries until a run of them is free). */
export async function freePortRange(count: number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export interface NatsClusterOptions {
  /** TLS and users for this chain: an operator and `members` member organizations (as `roam network up` makes them). */
  readonly secure?: { readonly chainId: string; readonly members: number };
}

export async function startNatsCluster(count = 3, options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'roam-nats-'));
  const base = await freePortRange(count * 2);
  const specs = clusterSpecs(dir, count, base, base + count);
  writeClusterConfigs(specs);
  const security = options.secure ? await secureCluster(dir, specs, options.secure) : undefined;
  const processes: Array<ChildProcess | undefined> = [];
  const start = async (index: number) => {
    const spec = specs[index]!;
    processes[index] = startNatsServer(spec, { logFile: join(spec.dir, 'nats.log') });
    await waitForPort(spec.clientPort);
  };
  const stop = async (index: number) => {
    const child = processes[index];
    processes[index] = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  };
  await Promise.all(specs.map((_, i) => start(i)));
  return {
    dir,
    urls: specs.map((s) => `nats://127.0.0.1:${s.clientPort}`),
    specs,
    ...(security ? { security } : {}),
    start,
    stop,
    close: async () => {
      await Promise.all(specs.map((_, i) => stop(i)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The network's PKI and users for a test cluster, written into its configs; returns the clients' credentials. */
async function secureCluster(dir: string, specs: readonly NatsServerSpec[], options: { chainId: string; members: number }): Promise<NatsClusterSecurity> {
  const authority = await createCertificateAuthority({ commonName: 'Roam test NATS CA' });
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, authority.certPem);
  await issueNatsServerCertificates(specs, authority);
  const operator = createNatsUserKey();
  const members = Array.from({ length: options.members }, () => createNatsUserKey());
  const users: NatsUser[] = [
    { name: 'operator', publicKey: operator.publicKey, role: 'operator' },
    ...members.map((member, i) => ({ name: `member-${i + 1}`, publicKey: member.publicKey, role: 'member' as const })),
  ];
  const serverSecurity: NatsServerSecurity = { caFile, authorization: natsAuthorizationBlock(users, options.chainId) };
  writeClusterConfigs(specs, serverSecurity);
  const credentials = (seed: string): NatsClientCredentials => ({ caPem: authority.certPem, nkeySeed: new TextEncoder().encode(seed) });
  return { caPem: authority.certPem, operator: credentials(operator.seed), members: members.map((member) => credentials(member.seed)) };
}
