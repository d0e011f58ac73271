import { canonicalJson } from '../crypto/index.js';
import type { LedgerStore } from '../store/index.js';
import { blockHash, envelopeLeafHash, txRootOf, type BlockHeader } from './block.js';
import type { ContractSuite } from './contract.js';
import { executeBlock, executeGenesis, paramsOf, type ExecutedBlock, type ExecutionEnv } from './executor.js';
import { ReplayStore } from './replay-store.js';
import { CachedStateSource } from './state-cache.js';
import type { SignatureVerifier } from './verifier.js';
import type { GenesisDocument } from './types.js';

export type VerifyReport =
  | { ok: true; height: number; headHash: string; stateRoot: string; txCount: number }
  | { ok: false; height: number; problem: string };

export interface VerifyOptions {
  /** Called after each verified block (progress reporting). */
  onBlock?: (height: number) => void;
  /** Checks each block's signatures in parallel (e.g. a `WorkerVerifierPool`); default libuv's thread pool. */
  verifier?: SignatureVerifier;
}

/**
 * Re-executes a stored chain from genesis in a scratch store (a temporary file holding the state
 * and spent nonces only: see `ReplayStore`) and checks every block hash, hash
 * link, Merkle root, signature, result and state root, then compares the stored world state with
 * the recomputed one. Reports the first height where anything differs.
 */
export async function verifyChain(store: LedgerStore, contracts: ContractSuite, options: VerifyOptions = {}): Promise<VerifyReport> {
  const genesisText = store.getMeta('genesis');
  if (genesisText === undefined) return { ok: false, height: 0, problem: 'no genesis document in the store' };
  let genesis: GenesisDocument;
  try {
    genesis = JSON.parse(genesisText) as GenesisDocument;
  } catch {
    return { ok: false, height: 0, problem: 'stored genesis document is not valid JSON' };
  }
  const scratch = ReplayStore.create();
  try {
    return await replay(store, scratch, genesis, contracts, options);
  } finally {
    scratch.close();
  }
}

async function replay(
  store: LedgerStore,
  scratch: ReplayStore,
  genesis: GenesisDocument,
  contracts: ContractSuite,
  options: VerifyOptions,
): Promise<VerifyReport> {
  // The same read-through cache a node executes with, fed each block's writes after its commit.
  const state = new CachedStateSource(scratch);
  const commit = (block: ExecutedBlock): void => {
    scratch.commit(block);
    state.apply(block.writes);
  };
  const env: ExecutionEnv = {
    chainId: genesis.chainId,
    contracts,
    params: paramsOf(genesis),
    state,
    replay: scratch,
    ...(options.verifier === undefined ? {} : { verifier: options.verifier }),
  };
  let block0: ExecutedBlock;
  try {
    block0 = executeGenesis(env, genesis);
  } catch (error) {
    return { ok: false, height: 0, problem: `genesis document is invalid: ${(error as Error).message}` };
  }
  const stored0 = store.getBlock(0);
  if (!stored0) return { ok: false, height: 0, problem: 'block 0 is missing' };
  if (stored0.hash !== block0.hash || stored0.header !== canonicalJson(block0.header)) {
    return { ok: false, height: 0, problem: 'block 0 does not match the genesis document' };
  }
  commit(block0);

  const head = store.head();
  let prev = { height: 0, hash: block0.hash, stateRoot: block0.header.stateRoot, time: block0.header.time };
  let txCount = 0;
  for (let height = 1; head && height <= head.height; height++) {
    const stored = store.getBlock(height);
    if (!stored) return { ok: false, height, problem: 'block is missing' };
    let header: BlockHeader;
    try {
      header = JSON.parse(stored.header) as BlockHeader;
    } catch {
      return { ok: false, height, problem: 'block header is not valid JSON' };
    }
    const fail = (problem: string): VerifyReport => ({ ok: false, height, problem });
    if (blockHash(header) !== stored.hash) return fail('block hash does not match its header');
    if (header.height !== height) return fail(`header says height ${header.height}`);
    if (header.prevHash !== prev.hash) return fail('prevHash does not link to the previous block');
    if (header.chainId !== genesis.chainId) return fail('chainId differs from genesis');
    if (!(header.time >= prev.time)) return fail('block time goes backwards');
    const txs = store.getBlockTxs(height);
    if (txs.length !== header.txCount) return fail(`header counts ${header.txCount} transactions, block holds ${txs.length}`);
    if (txs.some((tx, i) => tx.idx !== i)) return fail('transaction positions are not contiguous');
    if (txRootOf(txs.map((tx) => envelopeLeafHash(tx.envelope))) !== header.txRoot) {
      return fail('Merkle root of the stored transactions differs from the header txRoot');
    }
    const executed = await executeBlock(env, prev, txs.map((tx) => tx.envelope), header.time);
    for (const [i, tx] of executed.txs.entries()) {
      const original = txs[i]!;
      if (original.id !== tx.id) return fail(`transaction ${i} id differs from its content`);
      if (original.code !== tx.code || original.message !== tx.message || original.spent !== tx.spent) {
        return fail(`transaction ${i} (${tx.id}) re-executes to ${tx.code}, block records ${original.code}`);
      }
    }
    if (executed.header.resultsRoot !== header.resultsRoot) return fail('results root differs on re-execution');
    if (executed.header.stateRoot !== header.stateRoot) return fail('state root differs on re-execution');
    if (executed.hash !== stored.hash) return fail('block hash differs on re-execution');
    commit(executed);
    prev = { height, hash: executed.hash, stateRoot: header.stateRoot, time: header.time };
    txCount += txs.length;
    options.onBlock?.(height);
  }

  const stateProblem = compareState(store, scratch);
  if (stateProblem) return stateProblem;
  return { ok: true, height: prev.height, headHash: prev.hash, stateRoot: prev.stateRoot, txCount };
}

/** Walks both state tables in key order; names the height that wrote the first differing row. */
function compareState(store: LedgerStore, scratch: ReplayStore): VerifyReport | undefined {
  const actual = store.iterateState();
  const expected = scratch.iterateState();
  try {
    return firstStateDifference(actual, expected);
  } finally {
    // Ends the SQLite statements of an iteration left early.
    actual.return?.();
    expected.return?.();
  }
}

type StateRows = IterableIterator<{ key: string; value: string; height: number }>;

function firstStateDifference(actual: StateRows, expected: StateRows): VerifyReport | undefined {
  let a = actual.next();
  let e = expected.next();
  while (!a.done || !e.done) {
    if (a.done || (!e.done && e.value.key < a.value.key)) {
      const row = e.value as { key: string; height: number };
      return { ok: false, height: row.height, problem: `state key "${row.key}" is missing from the stored state` };
    }
    if (e.done || a.value.key < e.value.key) {
      return { ok: false, height: a.value.height, problem: `stored state has key "${a.value.key}" that no block wrote` };
    }
    if (a.value.value !== e.value.value || a.value.height !== e.value.height) {
      return { ok: false, height: e.value.height, problem: `stored state of "${e.value.key}" differs from what the chain computes` };
    }
    a = actual.next();
    e = expected.next();
  }
  return undefined;
}
