import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import type { GenesisDocument } from '../ledger/index.js';
import type { NatsClientCredentials } from '../ordering/index.js';
import { NodeError, NodeErrorCode } from './errors.js';
import { readNodeKeyFile, type NodeKeys } from './key-file.js';
import { MIN_METRICS_TOKEN_LENGTH } from './ops/metrics-access.js';
import { LOG_LEVELS } from './ops/log-hygiene.js';

export { keysFromFile, type NodeKeyFile, type NodeKeys } from './key-file.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;
export const DEFAULT_TX_VALIDITY_MS = 10 * 60 * 1000;
export const DEFAULT_TX_FUTURE_SKEW_MS = 2 * 60 * 1000;
/** Two thirds of member organizations admit a new one (a one-org network admits by itself). */
export const DEFAULT_JOIN_QUORUM = 2 / 3;
export const DEFAULT_COMMIT_WAIT_MS = 30_000;

/** Files of a node's data folder. */
export const DataFiles = {
  config: (dir: string) => join(dir, 'node.json'),
  genesis: (dir: string) => join(dir, 'genesis.json'),
  nodeKey: (dir: string) => join(dir, 'node.key.json'),
  store: (dir: string) => join(dir, 'ledger.sqlite'),
  adminWallet: (dir: string) => join(dir, 'admin.wallet.json'),
  /** SMART Health Links: the patients' encrypted files, passcode hashes, accesses (src/store/share-link-store.ts). */
  shareLinks: (dir: string) => join(dir, 'shl.sqlite'),
} as const;

/**
 * Where `roam network up` and `roam init --join` put a node's NATS credentials and TLS files in its
 * data folder (relative paths, as node.json names them).
 */
export const NodeSecurityFiles = {
  /** The network CA bundle (verifies the NATS servers and, with HTTPS, the peers). */
  caFile: 'tls/ca.crt',
  /** The organization's NATS user seed (0600). */
  nkeySeedFile: 'nats/user.nk',
  nodeCert: 'tls/node.crt',
  nodeKey: 'tls/node.key',
} as const;

/** One rate limit of node.json: at most `max` requests per `windowMs` per principal (or IP). */
const rateLimitSchema = z.strictObject({
  max: z.number().int().positive(),
  windowMs: z.number().int().positive(),
});

/**
 * node.json `tls`: serve HTTPS with this certificate and key (PEM). `caFile` is the network's CA
 * bundle: peers' certificates are verified against it (instead of the system roots). Paths are
 * relative to the data folder (absolute paths accepted).
 */
const tlsSchema = z.strictObject({
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
  caFile: z.string().min(1).optional(),
});

/**
 * node.json `peers`: `allowPrivateAddresses` lets this node call peers at private, loopback and
 * link-local addresses (a network on one machine or one LAN). Default false: a node URL on the
 * ledger that resolves to such an address is refused when connecting.
 */
const peersSchema = z.strictObject({ allowPrivateAddresses: z.boolean().optional() });

const nodeConfigSchema = z.object({
  format: z.literal('roam-node'),
  version: z.literal(1),
  region: z.string().min(1).max(64),
  org: z.object({ did: z.string(), name: z.string() }),
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  /** The URL other nodes and clients reach this node at (registered on the ledger). */
  publicUrl: z.string().url(),
  ordering: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('local') }),
    z.object({
      kind: z.literal('jetstream'),
      /** NATS servers of the network's JetStream cluster. */
      servers: z.array(z.string().min(1)).min(1),
      /** Stream replicas (the cluster's size, 3 or 5). */
      replicas: z.number().int().min(1).max(5).default(3),
      /** PEM bundle of the CA that issued the NATS servers' certificates (relative to the data folder): TLS required when set. */
      caFile: z.string().min(1).optional(),
      /** This organization's NATS user seed (nkey, file mode 0600; relative to the data folder). */
      nkeySeedFile: z.string().min(1).optional(),
    }),
  ]),
  block: z.object({ maxTxs: z.number().int().positive(), timeoutMs: z.number().int().positive() }).partial().default({}),
  /**
   * Rate limits per group of routes (defaults: DEFAULT_RATE_LIMITS in src/node/http/rate-limits.ts),
   * e.g. `"rateLimits": { "fhir": { "max": 100000, "windowMs": 60000 } }` for an integration engine.
   */
  rateLimits: z
    .strictObject({ auth: rateLimitSchema, ledgerTx: rateLimitSchema, fhir: rateLimitSchema, shl: rateLimitSchema })
    .partial()
    .optional(),
  tls: tlsSchema.optional(),
  peers: peersSchema.optional(),
  /**
   * `GET /metrics`: with `token` (at least MIN_METRICS_TOKEN_LENGTH characters), any caller with
   * `Authorization: Bearer <token>`; without it, callers on this machine (loopback) only.
   */
  metrics: z.strictObject({ token: z.string().min(MIN_METRICS_TOKEN_LENGTH).optional() }).optional(),
  /** The JSON request and operations log: its level (default info; `roam start --log-level` overrides). */
  log: z.strictObject({ level: z.enum(LOG_LEVELS).optional() }).optional(),
});
export type NodeConfigFile = z.infer<typeof nodeConfigSchema>;

/** A node's configuration, validated and frozen. */
export interface NodeConfig {
  readonly dataDir: string;
  readonly file: Readonly<NodeConfigFile>;
  readonly genesis: GenesisDocument;
  readonly keys: NodeKeys;
  /** Whether node.key.json is encrypted (version 2); a clear one makes `roam start` warn. */
  readonly keyEncrypted: boolean;
}

export interface LoadNodeConfigOptions {
  /** Opens an encrypted node.key.json (from --node-passphrase-file or ROAM_NODE_PASSPHRASE). */
  readonly nodePassphrase?: string | undefined;
}

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new NodeError(NodeErrorCode.NOT_INITIALIZED, `${what} not found at ${path}; run \`roam init\` first`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new NodeError(NodeErrorCode.BAD_CONFIG, `${what} at ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new NodeError(NodeErrorCode.BAD_CONFIG, `${what}: "${issue?.path.join('.') ?? ''}" ${issue?.message ?? 'is invalid'}`);
  }
  return result.data;
}

/**
 * Loads and validates a node's data folder; an encrypted node key is opened with
 * `options.nodePassphrase`.
 *
 * @throws NodeError NODE_NOT_INITIALIZED, NODE_BAD_CONFIG, and the NODE_KEY_* errors of
 *   {@link readNodeKeyFile} (passphrase required, wrong passphrase, corrupt file)
 */
export async function loadNodeConfig(dataDir: string, options: LoadNodeConfigOptions = {}): Promise<NodeConfig> {
  const file = parseWith(nodeConfigSchema, readJson(DataFiles.config(dataDir), 'node config'), 'node config');
  const genesis = readJson(DataFiles.genesis(dataDir), 'genesis document') as GenesisDocument;
  if (genesis?.format !== 'roam-genesis') throw new NodeError(NodeErrorCode.BAD_CONFIG, 'genesis.json is not a Roam genesis document');
  const { keys, encrypted } = await readNodeKeyFile(DataFiles.nodeKey(dataDir), { passphrase: options.nodePassphrase });
  if (keys.orgDid !== file.org.did) throw new NodeError(NodeErrorCode.BAD_CONFIG, 'node key belongs to another organization than node.json names');
  return Object.freeze({ dataDir, file: Object.freeze(file), genesis, keys, keyEncrypted: encrypted });
}

/** A path of node.json, resolved against the data folder unless it is absolute. */
export function dataPath(dataDir: string, path: string): string {
  return isAbsolute(path) ? path : join(dataDir, path);
}

export function parseNodeConfigFile(value: unknown): NodeConfigFile {
  return parseWith(nodeConfigSchema, value, 'node config');
}

/**
 * The NATS credentials named by node.json `ordering` (kind jetstream): the CA bundle and the
 * organization's nkey seed, read from the data folder. A seed readable by other users of the
 * machine is refused, as ssh refuses such a key: whoever reads it publishes as this organization.
 */
export function readOrderingCredentials(config: Pick<NodeConfig, 'dataDir' | 'file'>): NatsClientCredentials | undefined {
  const ordering = config.file.ordering;
  if (ordering.kind !== 'jetstream' || (ordering.caFile === undefined && ordering.nkeySeedFile === undefined)) return undefined;
  const path = (file: string) => resolve(config.dataDir, file);
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(path(file));
    } catch (error) {
      throw new NodeError(NodeErrorCode.BAD_CONFIG, `${what} at ${path(file)} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  };
  let nkeySeed: Uint8Array | undefined;
  if (ordering.nkeySeedFile !== undefined) {
    const seed = read(ordering.nkeySeedFile, 'the NATS seed (ordering.nkeySeedFile)');
    if ((statSync(path(ordering.nkeySeedFile)).mode & 0o077) !== 0) {
      throw new NodeError(NodeErrorCode.BAD_CONFIG, `the NATS seed ${path(ordering.nkeySeedFile)} is readable by other users: chmod 600 it`);
    }
    // The file ends with a newline; the nkey codec reads bare base32.
    nkeySeed = new TextEncoder().encode(seed.toString('utf8').trim());
  }
  return {
    ...(ordering.caFile !== undefined ? { caPem: read(ordering.caFile, 'the NATS CA bundle (ordering.caFile)').toString('utf8') } : {}),
    ...(nkeySeed !== undefined ? { nkeySeed } : {}),
  };
}
