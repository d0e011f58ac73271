import { chmodSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes, toBase64Url, toHex } from '../crypto/index.js';
import { nodeUrlRefusal } from '../contracts/index.js';
import type { GenesisDocument, GenesisFounder } from '../ledger/index.js';
import { createWallet, saveWallet, type Wallet } from '../wallet/index.js';
import {
  DataFiles,
  DEFAULT_HOST,
  DEFAULT_JOIN_QUORUM,
  DEFAULT_PORT,
  DEFAULT_TX_FUTURE_SKEW_MS,
  DEFAULT_TX_VALIDITY_MS,
  keysFromFile,
  NodeSecurityFiles,
  type NodeConfigFile,
  type NodeKeyFile,
  type NodeKeys,
} from './config.js';
import { NodeError, NodeErrorCode } from './errors.js';
import { encodeNodeKeyFile, writeNewNodeKeyFile } from './key-file.js';

export interface InitOptions {
  readonly dataDir: string;
  readonly orgName: string;
  readonly region: string;
  readonly adminPassphrase: string;
  readonly host?: string;
  readonly port?: number;
  /** URL other parties reach this node at; defaults to http://host:port. */
  readonly publicUrl?: string;
  /**
   * Genesis param `allowHttpNodeUrls` of a new network: `http:` node URLs for any host, not only
   * loopback ones (the demo; development networks). Default false.
   */
  readonly allowHttpNodeUrls?: boolean;
  /** scrypt cost of the admin wallet and of an encrypted node key (lower in tests). */
  readonly walletKdf?: { N: number; r: number; p: number };
  /** Encrypts node.key.json with this passphrase; without it the key is written in clear. */
  readonly nodePassphrase?: string;
}

export interface InitResult {
  readonly dataDir: string;
  readonly chainId: string;
  readonly orgDid: string;
  readonly nodeDid: string;
  readonly adminDid: string;
  readonly adminWalletPath: string;
  readonly publicUrl: string;
  /** Whether node.key.json was written encrypted. */
  readonly keyEncrypted: boolean;
}

/** A freshly generated node: its key file, the keys, and the founder entry it contributes to genesis. */
export interface PreparedNode {
  readonly keyFile: NodeKeyFile;
  readonly keys: NodeKeys;
  readonly admin: Wallet;
  readonly founder: GenesisFounder;
  readonly config: NodeConfigFile;
}

/** Generates keys, an admin wallet and a founder entry for one organization's node. */
export function prepareNode(
  options: Omit<InitOptions, 'dataDir' | 'adminPassphrase' | 'walletKdf' | 'nodePassphrase' | 'allowHttpNodeUrls'>,
): PreparedNode {
  const seed = () => toBase64Url(randomBytes(32));
  const keyFile: NodeKeyFile = {
    format: 'roam-node-key',
    version: 1,
    nodeSigningSeed: seed(),
    nodeEncryptionSeed: seed(),
    orgSigningSeed: seed(),
    orgEncryptionSeed: seed(),
  };
  const keys = keysFromFile(keyFile);
  const { wallet: admin } = createWallet('admin');
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  const publicUrl = options.publicUrl ?? `http://${host}:${port}`;
  const founder: GenesisFounder = {
    org: { did: keys.orgDid, name: options.orgName, region: options.region, encryptionKey: toBase64Url(keys.orgEncryption.publicKey) },
    admins: [{ did: admin.did, encryptionKey: toBase64Url(admin.encryption.publicKey) }],
    nodes: [{ did: keys.nodeDid, url: publicUrl, region: options.region, encryptionKey: toBase64Url(keys.nodeEncryption.publicKey) }],
  };
  const config: NodeConfigFile = {
    format: 'roam-node',
    version: 1,
    region: options.region,
    org: { did: keys.orgDid, name: options.orgName },
    host,
    port,
    publicUrl,
    ordering: { kind: 'local' },
    block: {},
    // A node announced at a loopback URL belongs to a network on one machine (the demo, `roam
    // network up`, tests): its peers are on loopback too. Any other node refuses private peers.
    ...(isLoopbackUrl(publicUrl) ? { peers: { allowPrivateAddresses: true } } : {}),
  };
  return { keyFile, keys, admin, founder, config };
}

/**
 * Refuses, before anything is written, a public URL the network's ledger would refuse (genesis
 * or `gov.node.register`), rather than leaving a node that cannot start or register.
 */
function checkPublicUrl(publicUrl: string, allowHttp: boolean): void {
  const refused = nodeUrlRefusal(publicUrl, { allowHttp });
  if (refused !== undefined) throw new NodeError(NodeErrorCode.BAD_CONFIG, `public URL ${publicUrl.slice(0, 200)}: ${refused}`);
}

/** True when `url`'s host is 127.0.0.0/8, [::1] or localhost. */
function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

export interface GenesisOptions {
  /** Genesis time, ms since the epoch (default now). */
  readonly time?: number;
  /** Sets the genesis param `allowHttpNodeUrls` (left out when false, its default). */
  readonly allowHttpNodeUrls?: boolean;
}

export function createGenesis(founders: readonly GenesisFounder[], options: GenesisOptions = {}): GenesisDocument {
  return {
    format: 'roam-genesis',
    version: 1,
    chainId: `roam-${toHex(randomBytes(8))}`,
    time: options.time ?? Date.now(),
    params: {
      txValidityMs: DEFAULT_TX_VALIDITY_MS,
      txFutureSkewMs: DEFAULT_TX_FUTURE_SKEW_MS,
      joinQuorum: DEFAULT_JOIN_QUORUM,
      ...(options.allowHttpNodeUrls === true ? { allowHttpNodeUrls: true } : {}),
    },
    founders,
  };
}

export interface WriteNodeFilesOptions {
  /** Must not hold a node yet. */
  readonly dataDir: string;
  readonly prepared: PreparedNode;
  readonly genesis: GenesisDocument;
  readonly adminPassphrase: string;
  /** scrypt cost of the admin wallet and of an encrypted node key (lower in tests). */
  readonly walletKdf?: { N: number; r: number; p: number } | undefined;
  /** Encrypts node.key.json (version 2) with this passphrase; without it the key is in clear (version 1). */
  readonly nodePassphrase?: string | undefined;
}

/** Writes a prepared node's files into `dataDir`; returns the admin wallet's path. */
export async function writeNodeFiles(options: WriteNodeFilesOptions): Promise<string> {
  const { dataDir, prepared, walletKdf } = options;
  if (existsSync(DataFiles.config(dataDir)) || existsSync(DataFiles.store(dataDir))) {
    throw new NodeError(NodeErrorCode.ALREADY_INITIALIZED, `${dataDir} already holds a node`);
  }
  // The node key is read unattended at every start: with a passphrase (ROAM_NODE_PASSPHRASE or a
  // passphrase file, kept away from the data folder) a copy of the folder does not give the key;
  // without one it is protected by file mode only, as Fabric's and Besu's node keys are.
  // Encoded first, so a refused passphrase leaves the folder untouched.
  const keyText = await encodeNodeKeyFile(prepared.keyFile, {
    ...(options.nodePassphrase === undefined ? {} : { passphrase: options.nodePassphrase }),
    ...(walletKdf ? { kdfParams: walletKdf } : {}),
  });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const adminWalletPath = DataFiles.adminWallet(dataDir);
  await saveWallet(adminWalletPath, prepared.admin, options.adminPassphrase, walletKdf ? { kdfParams: walletKdf } : {});
  await writeNewNodeKeyFile(DataFiles.nodeKey(dataDir), keyText);
  writeFileSync(DataFiles.genesis(dataDir), JSON.stringify(options.genesis, null, 2) + '\n');
  writeFileSync(DataFiles.config(dataDir), JSON.stringify(prepared.config, null, 2) + '\n');
  return adminWalletPath;
}

/** The files of a new node as `options` (of `roam init`) asks. */
function writeInitFiles(options: InitOptions, prepared: PreparedNode, genesis: GenesisDocument): Promise<string> {
  return writeNodeFiles({
    dataDir: options.dataDir,
    prepared,
    genesis,
    adminPassphrase: options.adminPassphrase,
    walletKdf: options.walletKdf,
    nodePassphrase: options.nodePassphrase,
  });
}

/** `roam init`: a new one-organization network whose founder is this node's organization. */
export async function initNetwork(options: InitOptions): Promise<InitResult> {
  const prepared = prepareNode(options);
  checkPublicUrl(prepared.config.publicUrl, options.allowHttpNodeUrls === true);
  const genesis = createGenesis([prepared.founder], { allowHttpNodeUrls: options.allowHttpNodeUrls === true });
  const adminWalletPath = await writeInitFiles(options, prepared, genesis);
  return {
    dataDir: options.dataDir,
    chainId: genesis.chainId,
    orgDid: prepared.keys.orgDid,
    nodeDid: prepared.keys.nodeDid,
    adminDid: prepared.admin.did,
    adminWalletPath,
    publicUrl: prepared.config.publicUrl,
    keyEncrypted: options.nodePassphrase !== undefined,
  };
}

/**
 * DATA/join-request.json, written by `roam init --join`: what the members of a network need to
 * admit this organization (`roam org propose`) and what its admin registers as its node
 * (`roam org add-node`). Public keys and URLs only.
 */
export interface JoinRequest {
  readonly format: 'roam-join-request';
  readonly version: 1;
  readonly chainId: string;
  readonly org: GenesisFounder['org'];
  readonly admin: GenesisFounder['admins'][number];
  readonly node: GenesisFounder['nodes'][number];
}

export interface JoinOptions extends InitOptions {
  /** The network's genesis document (its genesis.json). */
  readonly genesis: GenesisDocument;
  /** The network's NATS JetStream servers. */
  readonly natsServers: readonly string[];
  readonly replicas?: number;
  /**
   * A secured network's NATS CA bundle and this organization's user seed, as the network's
   * operator issued them (`roam network nats-user`): copied into the data folder (seed 0600).
   */
  readonly natsCredentials?: { readonly caFile: string; readonly nkeySeedFile: string };
}

export const joinRequestPath = (dataDir: string): string => join(dataDir, 'join-request.json');

/**
 * `roam init --join`: a node of a new organization for an existing network. It starts from the
 * network's genesis (its own organization is not in it: members admit it by vote), orders on the
 * network's JetStream, and at its first start fetches the chain from the peers genesis names.
 */
export async function joinNetwork(options: JoinOptions): Promise<InitResult & { joinRequestPath: string }> {
  const prepared = prepareNode(options);
  checkPublicUrl(prepared.config.publicUrl, options.genesis.params.allowHttpNodeUrls === true);
  const config: NodeConfigFile = {
    ...prepared.config,
    ordering: {
      kind: 'jetstream',
      servers: [...options.natsServers],
      replicas: options.replicas ?? 3,
      ...(options.natsCredentials ? { caFile: NodeSecurityFiles.caFile, nkeySeedFile: NodeSecurityFiles.nkeySeedFile } : {}),
    },
  };
  const adminWalletPath = await writeInitFiles(options, { ...prepared, config }, options.genesis);
  if (options.natsCredentials) copyNatsCredentials(options.dataDir, options.natsCredentials);
  const request: JoinRequest = {
    format: 'roam-join-request',
    version: 1,
    chainId: options.genesis.chainId,
    org: prepared.founder.org,
    admin: prepared.founder.admins[0]!,
    node: prepared.founder.nodes[0]!,
  };
  writeFileSync(joinRequestPath(options.dataDir), JSON.stringify(request, null, 2) + '\n');
  return {
    dataDir: options.dataDir,
    chainId: options.genesis.chainId,
    orgDid: prepared.keys.orgDid,
    nodeDid: prepared.keys.nodeDid,
    adminDid: prepared.admin.did,
    adminWalletPath,
    publicUrl: config.publicUrl,
    keyEncrypted: options.nodePassphrase !== undefined,
    joinRequestPath: joinRequestPath(options.dataDir),
  };
}

/** Copies a secured network's NATS CA bundle and the organization's seed into the data folder. */
function copyNatsCredentials(dataDir: string, credentials: { caFile: string; nkeySeedFile: string }): void {
  const target = (file: string) => join(dataDir, file);
  mkdirSync(dirname(target(NodeSecurityFiles.caFile)), { recursive: true, mode: 0o700 });
  mkdirSync(dirname(target(NodeSecurityFiles.nkeySeedFile)), { recursive: true, mode: 0o700 });
  copyFileSync(credentials.caFile, target(NodeSecurityFiles.caFile));
  copyFileSync(credentials.nkeySeedFile, target(NodeSecurityFiles.nkeySeedFile));
  chmodSync(target(NodeSecurityFiles.nkeySeedFile), 0o600);
}
