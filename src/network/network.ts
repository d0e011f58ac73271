/**
 * A multi-region Roam network on one machine, for development and tests: a 3-server NATS
 * JetStream cluster and one node process per region, each its own organization and a founder of
 * one shared genesis, all on 127.0.0.1. `roam network up` / `down` drive it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { randomBytes, toBase64Url } from '../crypto/index.js';
import { createGenesis, NodeSecurityFiles, prepareNode, writeNodeFiles } from '../node/index.js';
import { NetworkError, NetworkErrorCode } from './errors.js';
import { createNodePassphrase, nodePassphraseEnv } from './node-passphrase.js';
import { addNatsMember, createNetworkSecurity, createStreamAsOperator, SecurityFiles } from './network-security.js';
import {
  clusterSpecs,
  findNatsServer,
  NATS_INSTALL_HINT,
  startNatsServer,
  waitForPort,
  writeClusterConfigs,
  type NatsServerSpec,
} from './nats-servers.js';

export const NATS_CLUSTER_SIZE = 3;
export const DEFAULT_BASE_PORT = 7100;
export const DEFAULT_REGIONS = ['eu', 'us', 'ap'] as const;

/** DIR/network.json: what `roam network up` created (the issue's documented shape, plus details). */
export interface NetworkFile {
  readonly nodes: ReadonlyArray<{
    readonly region: string;
    readonly url: string;
    readonly orgDid: string;
    readonly nodeDid: string;
    readonly adminWallet: string;
    readonly dataDir: string;
  }>;
  readonly nats: ReadonlyArray<{ readonly name: string; readonly url: string }>;
  readonly chainId: string;
  /** File holding the admin wallets' passphrase, when it was generated. */
  readonly passphraseFile: string | null;
  /**
   * NATS TLS and users (absent: an open cluster, made with `secure: false`): the CA bundle that
   * verifies the servers and the operator's seed (administers JetStream; 0600).
   */
  readonly natsSecurity?: { readonly caFile: string; readonly operatorSeedFile: string };
}

/** DIR/pids.json: the running processes (absent when the network is down). */
interface PidsFile {
  readonly nats: Record<string, number>;
  readonly nodes: Record<string, number>;
}

export interface NetworkUpOptions {
  readonly dir: string;
  readonly regions: readonly string[];
  readonly basePort?: number;
  /** How to run `roam` for the node processes: [node binary args…] (default: this process's). */
  readonly cli: { readonly execPath: string; readonly args: readonly string[] };
  /** Admin wallets' passphrase; generated into DIR/passphrase.txt when absent. */
  readonly passphrase?: string;
  readonly walletKdf?: { N: number; r: number; p: number };
  /** Extra environment for node processes. */
  readonly env?: Readonly<Record<string, string>>;
  readonly startTimeoutMs?: number;
  readonly log?: (line: string) => void;
  /**
   * TLS and NATS users (default true). False makes an open cluster in clear text: only for
   * measuring what security costs (bench:cluster); not offered by the CLI.
   */
  readonly secure?: boolean;
}

export const NetworkFiles = {
  network: (dir: string) => join(dir, 'network.json'),
  pids: (dir: string) => join(dir, 'pids.json'),
  passphrase: (dir: string) => join(dir, 'passphrase.txt'),
  nats: (dir: string) => join(dir, 'nats'),
  node: (dir: string, region: string) => join(dir, region),
  nodeLog: (dir: string, region: string) => join(dir, region, 'node.log'),
} as const;

/**
 * Creates the network in `dir` on the first run (keys, wallets, genesis, NATS configs), or reuses
 * the one there; then starts the NATS servers and the nodes and waits until every node answers.
 */
export async function networkUp(options: NetworkUpOptions): Promise<NetworkFile> {
  const dir = resolve(options.dir);
  if (!findNatsServer()) throw new NetworkError(NetworkErrorCode.NATS_NOT_INSTALLED, NATS_INSTALL_HINT);
  if (runningPids(dir).length > 0) {
    throw new NetworkError(NetworkErrorCode.ALREADY_RUNNING, `a network is already running in ${dir}; stop it with \`roam network down --dir ${options.dir}\``);
  }
  const network = existsSync(NetworkFiles.network(dir)) ? readNetworkFile(dir) : await createNetwork(dir, options);
  const specs = natsSpecs(dir, network);
  const pids: { nats: Record<string, number>; nodes: Record<string, number> } = { nats: {}, nodes: {} };
  const log = options.log ?? (() => undefined);
  try {
    for (const spec of specs) {
      pids.nats[spec.name] = detachedPid(startNatsServer(spec, { detached: true, logFile: join(spec.dir, 'nats.log') }));
      writePids(dir, pids);
    }
    await Promise.all(specs.map((spec) => waitForPort(spec.clientPort)));
    log(`NATS JetStream cluster up: ${network.nats.map((n) => n.url).join(', ')}${network.natsSecurity ? ' (TLS, nkey users)' : ' (open, clear text)'}`);
    if (network.natsSecurity) {
      // Members may not create the stream: the operator does, before any node starts.
      await createStreamAsOperator({ dir, servers: network.nats.map((n) => n.url), chainId: network.chainId, replicas: NATS_CLUSTER_SIZE, timeoutMs: options.startTimeoutMs ?? 120_000 });
    }
    for (const node of network.nodes) {
      pids.nodes[node.region] = startNodeProcess(dir, node.region, options);
      writePids(dir, pids);
    }
    // The nodes of a secured network serve HTTPS under the network's CA, which no system trusts.
    const agent = network.natsSecurity ? new Agent({ connect: { ca: readFileSync(network.natsSecurity.caFile, 'utf8') } }) : new Agent();
    try {
      await Promise.all(network.nodes.map((node) => waitForNode({ dir, region: node.region, url: node.url, timeoutMs: options.startTimeoutMs ?? 120_000, agent })));
    } finally {
      await agent.close();
    }
  } catch (error) {
    await networkDown(options.dir);
    throw error;
  }
  return network;
}

/** Starts (or restarts) the node process of `region`; returns its pid. */
export function startNodeProcess(dir: string, region: string, options: Pick<NetworkUpOptions, 'cli' | 'env'>): number {
  const out = openSync(NetworkFiles.nodeLog(dir, region), 'a');
  try {
    const child = spawn(options.cli.execPath, [...options.cli.args, 'start', '--data', NetworkFiles.node(dir, region)], {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, ...nodePassphraseEnv(dir), ...options.env },
    });
    return detachedPid(child);
  } finally {
    closeSync(out);
  }
}

/** Stops every process of the network in `dir` (nodes first, then NATS); a no-op when none runs. */
export async function networkDown(dirOption: string, timeoutMs = 20_000): Promise<{ stopped: number }> {
  const dir = resolve(dirOption);
  const pids = readPids(dir);
  if (!pids) return { stopped: 0 };
  const nodes = Object.values(pids.nodes);
  const nats = Object.values(pids.nats);
  await terminate(nodes, timeoutMs);
  await terminate(nats, timeoutMs);
  writeFileSync(NetworkFiles.pids(dir), JSON.stringify({ nats: {}, nodes: {} }, null, 2) + '\n');
  return { stopped: nodes.length + nats.length };
}

export function readNetworkFile(dir: string): NetworkFile {
  try {
    return JSON.parse(readFileSync(NetworkFiles.network(dir), 'utf8')) as NetworkFile;
  } catch (error) {
    throw new NetworkError(NetworkErrorCode.NOT_RUNNING, `no network in ${dir} (${(error as Error).message})`);
  }
}

/** Pids of the network's processes that are alive. */
export function runningPids(dir: string): number[] {
  const pids = readPids(resolve(dir));
  if (!pids) return [];
  return [...Object.values(pids.nodes), ...Object.values(pids.nats)].filter(isAlive);
}

/** The pid of `region`'s node process as recorded by `up` (tests kill and restart it). */
export function nodePid(dir: string, region: string): number | undefined {
  return readPids(resolve(dir))?.nodes[region];
}

export function recordNodePid(dir: string, region: string, pid: number): void {
  const pids = readPids(resolve(dir)) ?? { nats: {}, nodes: {} };
  writePids(resolve(dir), { ...pids, nodes: { ...pids.nodes, [region]: pid } });
}

async function createNetwork(dir: string, options: NetworkUpOptions): Promise<NetworkFile> {
  const regions = options.regions;
  if (regions.length === 0 || new Set(regions).size !== regions.length || !regions.every((r) => /^[a-z0-9-]{1,32}$/.test(r))) {
    throw new NetworkError(NetworkErrorCode.BAD_OPTIONS, `regions must be distinct lowercase names, e.g. eu,us,ap (got "${regions.join(',')}")`);
  }
  const basePort = options.basePort ?? DEFAULT_BASE_PORT;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const specs = clusterSpecs(NetworkFiles.nats(dir), NATS_CLUSTER_SIZE, basePort + 11, basePort + 21);
  const secure = options.secure ?? true;
  const servers = specs.map((s) => `nats://127.0.0.1:${s.clientPort}`);
  const credentialFiles = secure ? { caFile: NodeSecurityFiles.caFile, nkeySeedFile: NodeSecurityFiles.nkeySeedFile } : {};
  // A secured network's nodes serve HTTPS with certificates from the network's CA (written by
  // createNetworkSecurity below), and verify each other against that CA only.
  const https = secure
    ? { tls: { certFile: NodeSecurityFiles.nodeCert, keyFile: NodeSecurityFiles.nodeKey, caFile: NodeSecurityFiles.caFile } }
    : {};
  const prepared = regions.map((region, i) => {
    const port = basePort + 1 + i;
    const node = prepareNode({
      orgName: `${region.toUpperCase()} Health`,
      region,
      host: '127.0.0.1',
      port,
      ...(secure ? { publicUrl: `https://127.0.0.1:${port}` } : {}),
    });
    return {
      region,
      node: { ...node, config: { ...node.config, ...https, ordering: { kind: 'jetstream' as const, servers, replicas: NATS_CLUSTER_SIZE, ...credentialFiles } } },
    };
  });
  const genesis = createGenesis(prepared.map((p) => p.node.founder));
  let passphrase = options.passphrase;
  let passphraseFile: string | null = null;
  if (passphrase === undefined) {
    passphrase = toBase64Url(randomBytes(18));
    passphraseFile = NetworkFiles.passphrase(dir);
    writeFileSync(passphraseFile, passphrase + '\n', { mode: 0o600 });
  }
  const nodePassphrase = createNodePassphrase(dir);
  const nodes: Array<NetworkFile['nodes'][number]> = [];
  for (const { region, node } of prepared) {
    const dataDir = NetworkFiles.node(dir, region);
    const adminWallet = await writeNodeFiles({ dataDir, prepared: node, genesis, adminPassphrase: passphrase, walletKdf: options.walletKdf, nodePassphrase });
    nodes.push({ region, url: node.config.publicUrl, orgDid: node.keys.orgDid, nodeDid: node.keys.nodeDid, adminWallet, dataDir });
  }
  if (secure) {
    await createNetworkSecurity({ dir, chainId: genesis.chainId, specs, members: nodes.map((n) => ({ name: n.orgDid, dataDir: n.dataDir })) });
  } else {
    writeClusterConfigs(specs);
  }
  const network: NetworkFile = {
    nodes,
    nats: specs.map((s) => ({ name: s.name, url: `nats://127.0.0.1:${s.clientPort}` })),
    chainId: genesis.chainId,
    passphraseFile,
    ...(secure ? { natsSecurity: { caFile: SecurityFiles.caCert(dir), operatorSeedFile: SecurityFiles.operatorSeed(dir) } } : {}),
  };
  writeFileSync(NetworkFiles.network(dir), JSON.stringify(network, null, 2) + '\n');
  return network;
}

function natsSpecs(dir: string, network: NetworkFile): NatsServerSpec[] {
  const clientPort = (url: string) => Number(new URL(url).port);
  const first = clientPort(network.nats[0]!.url);
  // Cluster ports sit 10 above client ports (see createNetwork).
  return clusterSpecs(NetworkFiles.nats(dir), network.nats.length, first, first + 10);
}

async function waitForNode(options: { dir: string; region: string; url: string; timeoutMs: number; agent: Agent }): Promise<void> {
  const { dir, region, url, timeoutMs, agent } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await undiciFetch(`${url}/ledger/status`, { dispatcher: agent, signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not up yet
    }
    const pid = nodePid(dir, region);
    if (pid === undefined || !isAlive(pid) || Date.now() > deadline) {
      const tail = existsSync(NetworkFiles.nodeLog(dir, region)) ? readFileSync(NetworkFiles.nodeLog(dir, region), 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new NetworkError(NetworkErrorCode.START_TIMEOUT, `the ${region} node did not come up at ${url}; its log ends with:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function detachedPid(child: ChildProcess): number {
  if (child.pid === undefined) throw new NetworkError(NetworkErrorCode.START_TIMEOUT, 'a process of the network could not be started');
  child.unref();
  return child.pid;
}

function readPids(dir: string): PidsFile | undefined {
  try {
    return JSON.parse(readFileSync(NetworkFiles.pids(dir), 'utf8')) as PidsFile;
  } catch {
    return undefined;
  }
}

function writePids(dir: string, pids: PidsFile): void {
  writeFileSync(NetworkFiles.pids(dir), JSON.stringify(pids, null, 2) + '\n');
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function terminate(pids: readonly number[], timeoutMs: number): Promise<void> {
  const alive = pids.filter(isAlive);
  for (const pid of alive) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of alive.filter(isAlive)) process.kill(pid, 'SIGKILL');
}


/** Stops one NATS server of the network (the cluster keeps a quorum with the other two). */
export async function stopNatsServer(dirOption: string, name: string): Promise<void> {
  const pid = readPids(resolve(dirOption))?.nats[name];
  if (pid !== undefined) await terminate([pid], 10_000);
}

/** Starts one NATS server of the network again (it rejoins the cluster and catches up). */
export async function restartNatsServer(dirOption: string, name: string): Promise<void> {
  const dir = resolve(dirOption);
  const spec = natsSpecs(dir, readNetworkFile(dir)).find((s) => s.name === name);
  if (!spec) throw new NetworkError(NetworkErrorCode.BAD_OPTIONS, `no NATS server ${name} in ${dir}`);
  const pid = detachedPid(startNatsServer(spec, { detached: true, logFile: join(spec.dir, 'nats.log') }));
  const pids = readPids(dir) ?? { nats: {}, nodes: {} };
  writePids(dir, { ...pids, nats: { ...pids.nats, [name]: pid } });
  await waitForPort(spec.clientPort);
}

/**
 * Operator side of admitting an organization to the secured network in `dir`: a NATS member user
 * whose seed is written to `seedFile` (0600; hand it to the organization with the CA bundle, for
 * `roam init --join … --nats-ca <ca> --nats-seed <seed>`). Running servers reload their config.
 */
export function issueOrganizationNatsUser(options: { dir: string; name: string; seedFile: string }): { publicKey: string; caFile: string; seedFile: string } {
  const dir = resolve(options.dir);
  const network = readNetworkFile(dir);
  const firstClientPort = Number(new URL(network.nats[0]!.url).port);
  const seedFile = resolve(options.seedFile);
  const issued = addNatsMember({ dir, chainId: network.chainId, clusterSize: network.nats.length, firstClientPort, name: options.name, seedFile });
  // nats-server re-reads its config on SIGHUP: the new user can connect without a restart.
  for (const pid of Object.values(readPids(dir)?.nats ?? {}).filter(isAlive)) process.kill(pid, 'SIGHUP');
  return { ...issued, seedFile };
}
