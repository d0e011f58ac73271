import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
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
