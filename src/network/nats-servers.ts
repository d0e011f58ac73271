import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, join } from 'node:path';
import { NetworkError, NetworkErrorCode } from './errors.js';

/** One `nats-server` of a JetStream cluster, as configured (not necessarily running). */
export interface NatsServerSpec {
  readonly name: string;
  readonly clientPort: number;
  readonly clusterPort: number;
  /** Folder of its config, JetStream store and log. */
  readonly dir: string;
}

export const NATS_INSTALL_HINT =
  'nats-server was not found on PATH. Install it (Debian/Ubuntu: `sudo apt-get install nats-server`; ' +
  'or see https://docs.nats.io/running-a-nats-service/introduction/installation) and try again.';

/** Path of `nats-server` on PATH, or undefined. */
export function findNatsServer(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** Specs of a cluster of `count` servers on consecutive loopback ports from `clientPortBase`. */
export function clusterSpecs(dir: string, count: number, clientPortBase: number, clusterPortBase: number): NatsServerSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `nats-${i + 1}`,
    clientPort: clientPortBase + i,
    clusterPort: clusterPortBase + i,
    dir: join(dir, `nats-${i + 1}`),
  }));
}

/**
 * TLS and users of a secured cluster (see nats-security.ts): each server presents
 * `<server dir>/server.crt` to clients and to its routes, and verifies routes against `caFile`.
 */
export interface NatsServerSecurity {
  readonly caFile: string;
  /** The `authorization { … }` block (users and their permissions), the same on every server. */
  readonly authorization: string;
}

/** Where a secured server's certificate and key live (written by `issueNatsServerCertificates`). */
export const NatsServerFiles = {
  cert: (spec: NatsServerSpec) => join(spec.dir, 'server.crt'),
  key: (spec: NatsServerSpec) => join(spec.dir, 'server.key'),
} as const;

/**
 * The nats-server configuration of `spec` as a member of `cluster` (JetStream on, loopback only).
 * With `security`, client connections require TLS and a known user, and routes are TLS both ways
 * with certificates of the network's CA: nothing reaches a server's ports in clear text.
 */
export function natsConfig(spec: NatsServerSpec, cluster: readonly NatsServerSpec[], security?: NatsServerSecurity): string {
  const routes = cluster.filter((s) => s.name !== spec.name).map((s) => `    "nats-route://127.0.0.1:${s.clusterPort}"`);
  const tlsBlock = (indent: string, verify: boolean) => [
    `${indent}tls {`,
    `${indent}  cert_file: "${NatsServerFiles.cert(spec)}"`,
    `${indent}  key_file: "${NatsServerFiles.key(spec)}"`,
    `${indent}  ca_file: "${security!.caFile}"`,
    // Routes present a client certificate of the CA; clients authenticate with nkeys instead.
    ...(verify ? [`${indent}  verify: true`] : []),
    `${indent}  timeout: 5`,
    `${indent}}`,
  ];
  const clusterBlock =
    cluster.length > 1
      ? [`cluster {`, `  name: "roam"`, `  host: "127.0.0.1"`, `  port: ${spec.clusterPort}`, ...(security ? tlsBlock('  ', true) : []), `  routes: [`, routes.join('\n'), `  ]`, `}`]
      : [];
  return [
    `server_name: "${spec.name}"`,
    `host: "127.0.0.1"`,
    `port: ${spec.clientPort}`,
    // Block messages carry up to a few thousand signed transactions.
    `max_payload: 8MB`,
    ...(security ? [...tlsBlock('', false), security.authorization] : []),
    `jetstream {`,
    `  store_dir: "${join(spec.dir, 'jetstream')}"`,
    `  max_memory_store: 256MB`,
    `}`,
    ...clusterBlock,
    '',
  ].join('\n');
}

/** Writes the config of every server of `cluster`; returns the config paths. */
export function writeClusterConfigs(cluster: readonly NatsServerSpec[], security?: NatsServerSecurity): string[] {
  return cluster.map((spec) => {
    mkdirSync(spec.dir, { recursive: true });
    const path = join(spec.dir, 'nats.conf');
    // The authorization block names users' public keys only; 0600 all the same (it maps the network).
    writeFileSync(path, natsConfig(spec, cluster, security), { mode: 0o600 });
    return path;
  });
}

/** Starts `nats-server -c config` attached to this process (tests) or detached (the CLI). */
export function startNatsServer(spec: NatsServerSpec, options: { detached?: boolean; logFile?: string } = {}): ChildProcess {
  const binary = findNatsServer();
  if (!binary) throw new NetworkError(NetworkErrorCode.NATS_NOT_INSTALLED, NATS_INSTALL_HINT);
  const args = ['-c', join(spec.dir, 'nats.conf')];
  if (options.logFile) args.push('-l', options.logFile);
  return spawn(binary, args, { stdio: 'ignore', detached: options.detached ?? false });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new NetworkError(NetworkErrorCode.START_TIMEOUT, `nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
