/**
 * The secrets and certificates `roam network up` creates for a secured network, and the operator
 * actions that need them: the network's CA (DIR/ca), each NATS server's certificate, the NATS
 * operator user (creates the ordering stream) and one NATS user per organization, whose seed and
 * the CA bundle go into the organization's data folder (referenced from node.json `ordering`).
 * Each node also gets a certificate for HTTPS (tls/node.crt, tls/node.key) that node.json does not
 * use yet: serving HTTPS is switched on separately.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { NodeSecurityFiles } from '../node/index.js';
import { connectToNats, createOrderingStream, type NatsClientCredentials } from '../ordering/index.js';
import { NetworkError, NetworkErrorCode } from './errors.js';
import { clusterSpecs, writeClusterConfigs, type NatsServerSecurity, type NatsServerSpec } from './nats-servers.js';
import { createNatsUserKey, issueNatsServerCertificates, natsAuthorizationBlock, type NatsUser } from './nats-security.js';
import { createCertificateAuthority, issueCertificate, type CertificateFiles } from './pki.js';

/** Files of a secured network, under the network folder DIR. */
export const SecurityFiles = {
  caCert: (dir: string) => join(dir, 'ca', 'ca.crt'),
  caKey: (dir: string) => join(dir, 'ca', 'ca.key'),
  operatorSeed: (dir: string) => join(dir, 'nats', 'operator.nk'),
  /** The NATS users (public keys and roles) the servers' configs are written from. */
  users: (dir: string) => join(dir, 'nats', 'users.json'),
} as const;

export interface NetworkMember {
  /** The organization's DID (named in the servers' config beside its public key). */
  readonly name: string;
  readonly dataDir: string;
}

/**
 * Creates the CA, the servers' certificates, the operator and members' NATS users, the members'
 * files and the servers' configs. Secrets are written 0600 and never printed.
 */
export async function createNetworkSecurity(options: { dir: string; chainId: string; specs: readonly NatsServerSpec[]; members: readonly NetworkMember[] }): Promise<void> {
  const { dir, chainId, specs, members } = options;
  const authority = await createCertificateAuthority({ commonName: `Roam network ${chainId} CA` });
  writeSecret(SecurityFiles.caKey(dir), authority.keyPem);
  writeFileSync(SecurityFiles.caCert(dir), authority.certPem);
  writeClusterConfigs(specs); // creates the servers' folders for their certificates
  await issueNatsServerCertificates(specs, authority);
  const operator = createNatsUserKey();
  writeSecret(SecurityFiles.operatorSeed(dir), operator.seed + '\n');
  const users: NatsUser[] = [{ name: 'operator', publicKey: operator.publicKey, role: 'operator' }];
  for (const member of members) {
    users.push({ name: member.name, publicKey: await writeMemberFiles(member.dataDir, authority), role: 'member' });
  }
  writeFileSync(SecurityFiles.users(dir), JSON.stringify(users, null, 2) + '\n');
  writeClusterConfigs(specs, serverSecurity(dir, chainId));
}

/** The TLS and authorization every server of a secured network in `dir` is configured with. */
export function serverSecurity(dir: string, chainId: string): NatsServerSecurity {
  const users = JSON.parse(readFileSync(SecurityFiles.users(dir), 'utf8')) as NatsUser[];
  return { caFile: SecurityFiles.caCert(dir), authorization: natsAuthorizationBlock(users, chainId) };
}

/** The operator's client credentials (the network folder's CA and operator seed). */
export function operatorCredentials(dir: string): NatsClientCredentials {
  // The seed file ends with a newline; the nkey codec reads bare base32.
  const seed = readFileSync(SecurityFiles.operatorSeed(dir), 'utf8').trim();
  return { caPem: readFileSync(SecurityFiles.caCert(dir), 'utf8'), nkeySeed: new TextEncoder().encode(seed) };
}

/**
 * As the operator, creates the ordering stream unless it exists, retrying while the cluster
 * elects its JetStream leader. Member nodes wait for this stream before they order.
 */
export async function createStreamAsOperator(options: { dir: string; servers: readonly string[]; chainId: string; replicas: number; timeoutMs: number }): Promise<void> {
  const nc = await connectToNats({ servers: options.servers, name: 'roam-operator', credentials: operatorCredentials(options.dir), reconnectForever: true });
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (;;) {
      try {
        const jsm = await jetstreamManager(nc, { checkAPI: false });
        await createOrderingStream(jsm, { chainId: options.chainId, replicas: options.replicas });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new NetworkError(NetworkErrorCode.START_TIMEOUT, `the ordering stream could not be created: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/**
 * Operator side of admitting an organization to a secured network: a new NATS member user. The
 * servers' configs gain its public key (running servers must reload them: `reloadNatsServers`);
 * the seed is written to `seedFile` (0600) for the organization, with the CA bundle beside it.
 */
export function addNatsMember(options: { dir: string; chainId: string; clusterSize: number; firstClientPort: number; name: string; seedFile: string }): { publicKey: string; caFile: string } {
  const { dir } = options;
  if (!existsSync(SecurityFiles.users(dir))) throw new NetworkError(NetworkErrorCode.BAD_OPTIONS, `${dir} is not a secured network (no ${SecurityFiles.users(dir)})`);
  if (existsSync(options.seedFile)) throw new NetworkError(NetworkErrorCode.BAD_OPTIONS, `${options.seedFile} already exists`);
  const user = createNatsUserKey();
  writeSecret(options.seedFile, user.seed + '\n');
  const users = JSON.parse(readFileSync(SecurityFiles.users(dir), 'utf8')) as NatsUser[];
  users.push({ name: options.name, publicKey: user.publicKey, role: 'member' });
  writeFileSync(SecurityFiles.users(dir), JSON.stringify(users, null, 2) + '\n');
  const specs = clusterSpecs(join(dir, 'nats'), options.clusterSize, options.firstClientPort, options.firstClientPort + 10);
  writeClusterConfigs(specs, serverSecurity(dir, options.chainId));
  return { publicKey: user.publicKey, caFile: SecurityFiles.caCert(dir) };
}

/**
 * Operator side of admitting a node of a new organization to a network from `network up`: an
 * HTTPS certificate from the network's CA for `hosts`, written with the CA bundle into `outDir`
 * as the node's data folder names them (`tls/node.crt`, `tls/node.key` 0600, `tls/ca.crt`:
 * pass the data folder itself, or copy the three files there).
 */
export async function issueNodeCertificate(options: { dir: string; hosts: readonly string[]; outDir: string }): Promise<{ certFile: string; keyFile: string; caFile: string }> {
  const authority = { certPem: readFileSync(SecurityFiles.caCert(options.dir), 'utf8'), keyPem: readFileSync(SecurityFiles.caKey(options.dir), 'utf8') };
  const node = await issueCertificate({ authority, commonName: `Roam node ${options.hosts[0] ?? ''}`, hosts: options.hosts, use: 'server-and-client' });
  const files = {
    certFile: join(options.outDir, NodeSecurityFiles.nodeCert),
    keyFile: join(options.outDir, NodeSecurityFiles.nodeKey),
    caFile: join(options.outDir, NodeSecurityFiles.caFile),
  };
  mkdirSync(dirname(files.certFile), { recursive: true, mode: 0o700 });
  writeFileSync(files.certFile, node.certPem);
  writeFileSync(files.caFile, authority.certPem);
  writeSecret(files.keyFile, node.keyPem);
  return files;
}

/** A member's files: its NATS seed, the CA bundle, and its node's HTTPS certificate; returns its NATS public key. */
async function writeMemberFiles(dataDir: string, authority: CertificateFiles): Promise<string> {
  const user = createNatsUserKey();
  writeSecret(join(dataDir, NodeSecurityFiles.nkeySeedFile), user.seed + '\n');
  mkdirSync(dirname(join(dataDir, NodeSecurityFiles.caFile)), { recursive: true, mode: 0o700 });
  writeFileSync(join(dataDir, NodeSecurityFiles.caFile), authority.certPem);
  const node = await issueCertificate({ authority, commonName: `Roam node ${dataDir.split('/').pop() ?? ''}`, hosts: ['127.0.0.1', 'localhost'], use: 'server-and-client' });
  writeFileSync(join(dataDir, NodeSecurityFiles.nodeCert), node.certPem);
  writeSecret(join(dataDir, NodeSecurityFiles.nodeKey), node.keyPem);
  return user.publicKey;
}

function writeSecret(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, content, { mode: 0o600 });
  // writeFileSync's mode applies only to a new file.
  chmodSync(path, 0o600);
}
