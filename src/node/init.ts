import { chmodSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes, toBase64Url, toHex } from '../crypto/index.js';
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

export interface InitOptions {
  readonly dataDir: string;
  readonly orgName: string;
  readonly region: string;
  readonly adminPassphrase: string;
  readonly host?: string;
  readonly port?: number;
  /** URL other parties reach this node at; defaults to http://host:port. */
  readonly publicUrl?: string;
  /** Lower scrypt cost for tests. */
  readonly walletKdf?: { N: number; r: number; p: number };
}

export interface InitResult {
  readonly dataDir: string;
  readonly chainId: string;
  readonly orgDid: string;
  readonly nodeDid: string;
  readonly adminDid: string;
  readonly adminWalletPath: string;
  readonly publicUrl: string;
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
export function prepareNode(options: Omit<InitOptions, 'dataDir' | 'adminPassphrase' | 'walletKdf'>): PreparedNode {
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
  };
  return { keyFile, keys, admin, founder, config };
}

export function createGenesis(founders: readonly GenesisFounder[], time: number = Date.now()): GenesisDocument {
  return {
    format: 'roam-genesis',
    version: 1,
    chainId: `roam-${toHex(randomBytes(8))}`,
    time,
    params: { txValidityMs: DEFAULT_TX_VALIDITY_MS, txFutureSkewMs: DEFAULT_TX_FUTURE_SKEW_MS, joinQuorum: DEFAULT_JOIN_QUORUM },
    founders,
  };
}

/** Writes a prepared node's files into `dataDir` (which must not hold a node yet). */
export async function writeNodeFiles(
  dataDir: string,
  prepared: PreparedNode,
  genesis: GenesisDocument,
  adminPassphrase: string,
  walletKdf?: { N: number; r: number; p: number },
): Promise<string> {
  if (existsSync(DataFiles.config(dataDir)) || existsSync(DataFiles.store(dataDir))) {
    throw new NodeError(NodeErrorCode.ALREADY_INITIALIZED, `${dataDir} already holds a node`);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const adminWalletPath = DataFiles.adminWallet(dataDir);
  await saveWallet(adminWalletPath, prepared.admin, adminPassphrase, walletKdf ? { kdfParams: walletKdf } : {});
  // The node key is read unattended at every start, so it is protected by file mode, as
  // Fabric's and Besu's node keys are; wallets of people are passphrase-encrypted.
  writeFileSync(DataFiles.nodeKey(dataDir), JSON.stringify(prepared.keyFile, null, 2) + '\n', { mode: 0o600 });
  writeFileSync(DataFiles.genesis(dataDir), JSON.stringify(genesis, null, 2) + '\n');
  writeFileSync(DataFiles.config(dataDir), JSON.stringify(prepared.config, null, 2) + '\n');
  return adminWalletPath;
}

/** `roam init`: a new one-organization network whose founder is this node's organization. */
export async function initNetwork(options: InitOptions): Promise<InitResult> {
  const prepared = prepareNode(options);
  const genesis = createGenesis([prepared.founder]);
  const adminWalletPath = await writeNodeFiles(options.dataDir, prepared, genesis, options.adminPassphrase, options.walletKdf);
  return {
    dataDir: options.dataDir,
    chainId: genesis.chainId,
    orgDid: prepared.keys.orgDid,
    nodeDid: prepared.keys.nodeDid,
    adminDid: prepared.admin.did,
    adminWalletPath,
    publicUrl: prepared.config.publicUrl,
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
  const config: NodeConfigFile = {
    ...prepared.config,
    ordering: {
      kind: 'jetstream',
      servers: [...options.natsServers],
      replicas: options.replicas ?? 3,
      ...(options.natsCredentials ? { caFile: NodeSecurityFiles.caFile, nkeySeedFile: NodeSecurityFiles.nkeySeedFile } : {}),
    },
  };
  const adminWalletPath = await writeNodeFiles(options.dataDir, { ...prepared, config }, options.genesis, options.adminPassphrase, options.walletKdf);
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
