/**
 * A network of several member organizations on a real ledger (SQLite in memory, the real
 * contracts and signature checks), with parties that hold real keys: for the tests of governance
 * between organizations (test/security/governance-*.test.ts). Also an in-memory attestation
 * subject, and attestations signed as a node signs them.
 */
import { createContractSuite, type StateReader, type TxPayloads } from '../../src/contracts/index.js';
import { canonicalBytes, sign, toBase64Url, type SigningKeyPair } from '../../src/crypto/index.js';
import { Ledger, type GenesisDocument, type ResultCode, type TxType } from '../../src/ledger/index.js';
import type { AttestationTransport } from '../../src/node/network/attestations.js';
import { LedgerStore } from '../../src/store/index.js';
import { GENESIS_TIME, TEST_CHAIN_ID, envelope, newParty, signed, type TestParty } from './ledger-fixture.js';

export interface Member {
  readonly org: TestParty;
  readonly admin: TestParty;
  readonly nodes: TestParty[];
}

export function member(nodeCount = 1): Member {
  return { org: newParty(), admin: newParty(), nodes: Array.from({ length: nodeCount }, () => newParty()) };
}

export function genesisOf(members: readonly Member[], params: Partial<GenesisDocument['params']> = {}): GenesisDocument {
  return {
    format: 'roam-genesis',
    version: 1,
    chainId: TEST_CHAIN_ID,
    time: GENESIS_TIME,
    params: { txValidityMs: 600_000, txFutureSkewMs: 120_000, joinQuorum: 2 / 3, ...params },
    founders: members.map((m, i) => ({
      org: { did: m.org.did, name: `Org ${i}`, region: 'eu', encryptionKey: m.org.encryptionKey },
      admins: [{ did: m.admin.did, encryptionKey: m.admin.encryptionKey }],
      nodes: m.nodes.map((n, j) => ({ did: n.did, url: `https://n${i}-${j}.example.org`, region: 'eu', encryptionKey: n.encryptionKey })),
    })),
  };
}

export function openNetworkLedger(genesis: GenesisDocument): Ledger {
  return Ledger.open({ store: LedgerStore.open(':memory:'), contracts: createContractSuite(), genesis });
}

let cutTime = GENESIS_TIME;

/** Commits one block holding `tx`, signed by `by` (with `key` when given); returns its result code. */
export async function commit<T extends TxType>(
  ledger: Ledger,
  by: TestParty,
  type: T,
  payload: TxPayloads[T],
  key?: SigningKeyPair,
): Promise<ResultCode> {
  cutTime += 1000;
  const tx = signed(by, type, payload, { issuedAt: cutTime, ...(key === undefined ? {} : { key }) });
  const block = await ledger.applyCut([envelope(tx)], cutTime);
  const code = block.txs[0]?.code;
  if (code === undefined) throw new Error('the block holds no transaction');
  return code;
}

/** The ledger's state as the contracts' readers see it. */
export function stateOf(ledger: Ledger): StateReader {
  return { get: (key) => ledger.getState(key), range: (prefix) => ledger.rangeState(prefix) };
}

/** A NATS subject in memory: every published message reaches every subscriber, synchronously. */
export class MemoryTransport implements AttestationTransport {
  private readonly listeners = new Set<(data: string) => void>();
  publish(data: string): void {
    for (const listener of this.listeners) listener(data);
  }
  subscribe(onMessage: (data: string) => void): () => void {
    this.listeners.add(onMessage);
    return () => this.listeners.delete(onMessage);
  }
}

/** An attestation of `height` signed by `node` (with `key`, default its own), as a node publishes it. */
export function attestation(
  node: TestParty,
  block: { height: number; hash: string; stateRoot: string },
  key: SigningKeyPair = node.keys,
): string {
  const body = { v: 1 as const, chainId: TEST_CHAIN_ID, node: node.did, ...block, time: Date.now() };
  return JSON.stringify({ ...body, sig: toBase64Url(sign(key.secretKey, canonicalBytes(body))) });
}
