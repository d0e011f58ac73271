/**
 * A one-organization network in memory or in a temp SQLite file, with parties that hold real keys,
 * for tests of the ledger and its contracts through the real executor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContractSuite } from '../../src/contracts/index.js';
import {
  didFromSigningKey,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  toBase64Url,
  type SigningKeyPair,
} from '../../src/crypto/index.js';
import {
  Ledger,
  createTx,
  signTx,
  type GenesisDocument,
  type SignedTx,
  TxType,
} from '../../src/ledger/index.js';
import { LedgerStore } from '../../src/store/index.js';

export interface TestParty {
  readonly did: string;
  readonly keys: SigningKeyPair;
  readonly encryptionKey: string;
}

export function newParty(): TestParty {
  const keys = generateSigningKeyPair();
  return { did: didFromSigningKey(keys.publicKey), keys, encryptionKey: toBase64Url(generateEncryptionKeyPair().publicKey) };
}

export interface TestNetwork {
  readonly genesis: GenesisDocument;
  readonly org: TestParty;
  readonly admin: TestParty;
  readonly node: TestParty;
}

export const GENESIS_TIME = 1_700_000_000_000;
/** The chain id of every test network here, and what `signed` names by default. */
export const TEST_CHAIN_ID = 'roam-test';

export function newNetwork(): TestNetwork {
  const org = newParty();
  const admin = newParty();
  const node = newParty();
  const genesis: GenesisDocument = {
    format: 'roam-genesis',
    version: 1,
    chainId: TEST_CHAIN_ID,
    time: GENESIS_TIME,
    params: { txValidityMs: 600_000, txFutureSkewMs: 120_000, joinQuorum: 2 / 3 },
    founders: [
      {
        org: { did: org.did, name: 'Test Hospital', region: 'eu', encryptionKey: org.encryptionKey },
        admins: [{ did: admin.did, encryptionKey: admin.encryptionKey }],
        nodes: [{ did: node.did, url: 'http://127.0.0.1:1', region: 'eu', encryptionKey: node.encryptionKey }],
      },
    ],
  };
  return { genesis, org, admin, node };
}

/** Folders `tempStorePath` made, removed when the test process exits (tests do not close every store). */
const tempFolders: string[] = [];
process.on('exit', () => {
  for (const folder of tempFolders) rmSync(folder, { recursive: true, force: true });
});

export function tempStorePath(): string {
  const folder = mkdtempSync(join(tmpdir(), 'roam-ledger-'));
  tempFolders.push(folder);
  return join(folder, 'ledger.sqlite');
}

export function openLedger(network: TestNetwork, path = ':memory:'): Ledger {
  return Ledger.open({ store: LedgerStore.open(path), contracts: createContractSuite(), genesis: network.genesis });
}

/** Signs a tx issued at `issuedAt` (default: the genesis time, to match test block times). */
export function signed(
  party: TestParty,
  type: TxType,
  payload: unknown,
  options: { issuedAt?: number; nonce?: string; key?: SigningKeyPair; chainId?: string } = {},
): SignedTx {
  const tx = createTx({
    chainId: options.chainId ?? TEST_CHAIN_ID,
    type,
    signer: party.did,
    payload,
    issuedAt: options.issuedAt ?? GENESIS_TIME,
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
  });
  return signTx(tx, (options.key ?? party.keys).secretKey);
}

export function envelope(tx: SignedTx): string {
  return JSON.stringify(tx);
}

/** A patient's `consent.grant` of write access to general records of every type to the network's organization. */
export function grantEnvelope(network: TestNetwork, patient: TestParty, grantId: string): string {
  return envelope(
    signed(patient, TxType.ConsentGrant, {
      grantId,
      grantee: network.org.did,
      scope: { resourceTypes: ['*'], classes: ['general'] },
      purpose: 'treatment',
      access: 'write',
      expiresAt: null,
    }),
  );
}

/** The network's node anchors a version of a general Observation the patient wrote itself. */
export function anchorEnvelope(network: TestNetwork, patient: TestParty, anchor: { recordId: string; version: number; epoch: number }): string {
  return envelope(
    signed(network.node, TxType.RecordAnchor, {
      ...anchor,
      patient: patient.did,
      resourceType: 'Observation',
      class: 'general',
      contentHash: 'ab'.repeat(32),
      author: patient.did,
    }),
  );
}
