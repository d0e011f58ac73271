/** A real one-organization node in a temporary data folder, for the HTTP tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBase64Url } from '../../src/crypto/index.js';
import { createTx, signTx, type SignedTx, type TxType } from '../../src/ledger/index.js';
import { initNetwork, RoamNode, type InitResult } from '../../src/node/index.js';
import { createWallet, loadWallet, type Wallet } from '../../src/wallet/index.js';

const PASSPHRASE = 'test passphrase 1234';
/** The admin wallet's passphrase of the networks `initTestNetwork` makes. */
export const TEST_PASSPHRASE = PASSPHRASE;

/** Chain id of the test node opened last: what `envelope` signs for unless told otherwise. */
let lastChainId = '';

/** Makes `envelope` sign for `chainId` by default (for tests that open their nodes themselves). */
export function useChain(chainId: string): void {
  lastChainId = chainId;
}

export interface TestNode {
  readonly node: RoamNode;
  readonly init: InitResult;
  readonly admin: Wallet;
  close(): Promise<void>;
}

/** A one-organization network initialized in `dataDir` (admin passphrase: `TEST_PASSPHRASE`). */
export function initTestNetwork(dataDir: string): Promise<InitResult> {
  return initNetwork({
    dataDir,
    orgName: 'Clinic of Test',
    region: 'eu-west',
    adminPassphrase: PASSPHRASE,
    host: '127.0.0.1',
    port: 0,
    publicUrl: 'https://clinic.test:8080',
    walletKdf: { N: 32768, r: 8, p: 1 },
  });
}

/** `blockTimeoutMs`: how long the orderer waits before cutting a partial block (default 5 ms). */
export async function openTestNode(blockTimeoutMs = 5): Promise<TestNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'roam-http-'));
  try {
    const init = await initTestNetwork(dataDir);
    const node = await RoamNode.open({ dataDir, blockLimits: { timeoutMs: blockTimeoutMs } });
    useChain(node.ledger.chainId);
    const admin = await loadWallet(init.adminWalletPath, PASSPHRASE);
    return {
      node,
      init,
      admin,
      async close() {
        await node.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

export function newPatient(): Wallet {
  return createWallet('patient').wallet;
}

/** A signed envelope; `overrides` reach past the typed builder (bad types, old issuedAt…). */
export function envelope(
  wallet: Wallet,
  /** A TxType, or any string (to test unknown types). */
  type: string,
  payload: unknown,
  overrides: { nonce?: string; issuedAt?: number; chainId?: string } = {},
): SignedTx {
  return signTx(
    createTx({ chainId: lastChainId, type: type as TxType, signer: wallet.did, payload, ...overrides }),
    wallet.signing.secretKey,
  );
}

export function registerPatient(patient: Wallet): SignedTx {
  return envelope(patient, 'identity.patient.register', {
    encryptionKey: toBase64Url(patient.encryption.publicKey),
  });
}

export function grant(patient: Wallet, grantee: string, grantId: string, keys?: unknown[]): SignedTx {
  return envelope(patient, 'consent.grant', {
    grantId,
    grantee,
    scope: { resourceTypes: ['Observation', 'Condition'], classes: ['general'] },
    purpose: 'treatment',
    access: 'read',
    expiresAt: null,
    ...(keys === undefined ? {} : { keys }),
  });
}
