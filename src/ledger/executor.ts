import { fromBase64Url, sha256Hex, signingKeyFromDid, toBase64Url, verify } from '../crypto/index.js';
import { threadPoolVerifier, type SignatureVerifier, type VerifyItem } from './verifier.js';
import {
  blockHash,
  chainStateRoot,
  envelopeLeafHash,
  resultsRootOf,
  txRootOf,
  BLOCK_VERSION,
  ZERO_HASH,
  type BlockHeader,
} from './block.js';
import { ResultCode, consumesNonce } from './codes.js';
import { TxRejected, type ContractHandler, type ContractSuite, type NetworkParams } from './contract.js';
import { StateKey } from './keys.js';
import { BlockStateView, type StateSource } from './state-view.js';
import type { FolderLookup } from './folder-index.js';
import { parseSignedTxJson, type ParsedTx } from './tx.js';
import { checkTxFrame } from './tx-rules.js';
import { DEFAULT_MAX_NODES_PER_ORG, type GenesisDocument, type PartyRecord, type TxResult } from './types.js';
import { canonicalJson } from '../crypto/index.js';

/** Answers whether a (signer, nonce) pair was spent by an earlier block. */
export interface ReplayIndex {
  isSpent(signer: string, nonce: string): boolean;
}

/**
 * Signatures this node already verified (at admission), keyed by tx id. Lets the executor skip a
 * second verification of the same bytes with the same key; verify-from-scratch passes none.
 */
export interface VerifiedSignatures {
  has(txId: string, sig: string, signingKey: string): boolean;
}

export interface ExecutionEnv {
  readonly chainId: string;
  readonly contracts: ContractSuite;
  readonly params: NetworkParams;
  readonly state: StateSource;
  readonly replay: ReplayIndex;
  readonly verified?: VerifiedSignatures;
  /** Envelopes already parsed at admission (same text, same result): saves parsing them again. */
  readonly parsed?: (envelope: string) => ParsedTx | undefined;
  /**
   * True when this node knows the (signer, nonce) pair is unspent by every committed block (it
   * admitted the tx and no commit has spent the pair since), which saves a store lookup.
   */
  readonly knownUnspent?: (signer: string, nonce: string) => boolean;
  /** Checks the block's signatures in parallel; default one thread-pool job per signature. */
  readonly verifier?: SignatureVerifier;
}

export interface ExecutedTx {
  readonly idx: number;
  readonly id: string;
  readonly signer: string;
  readonly nonce: string;
  /** The transaction's type ('' when the envelope does not parse). */
  readonly type: string;
  readonly envelope: string;
  readonly code: ResultCode;
  readonly message: string | null;
  readonly spent: 0 | 1;
}

export interface ExecutedBlock {
  readonly header: BlockHeader;
  readonly hash: string;
  readonly txs: readonly ExecutedTx[];
  readonly results: readonly TxResult[];
  readonly writes: ReadonlyMap<string, string | null>;
  /** The keys of `writes` by folder (see `folder-index.ts`). */
  readonly writeFolders: FolderLookup;
}

export interface PreviousBlock {
  readonly height: number;
  readonly hash: string;
  readonly stateRoot: string;
  readonly time: number;
}

/** Hash of the genesis document: block 0's prevHash. */
export function genesisHash(genesis: GenesisDocument): string {
  return sha256Hex(canonicalJson(genesis));
}

export function paramsOf(genesis: GenesisDocument): NetworkParams {
  return {
    txValidityMs: genesis.params.txValidityMs,
    txFutureSkewMs: genesis.params.txFutureSkewMs,
    joinQuorum: genesis.params.joinQuorum,
    maxNodesPerOrg: genesis.params.maxNodesPerOrg ?? DEFAULT_MAX_NODES_PER_ORG,
    allowHttpNodeUrls: genesis.params.allowHttpNodeUrls ?? false,
  };
}

/** Builds block 0: no transactions, the founders written into state by the genesis contract. */
export function executeGenesis(env: Pick<ExecutionEnv, 'contracts' | 'state'>, genesis: GenesisDocument): ExecutedBlock {
  const view = new BlockStateView(env.state);
  env.contracts.applyGenesis({ get: (k) => view.get(k), put: (k, v) => view.put(k, v) }, genesis);
  view.commitTx();
  const header: BlockHeader = {
    v: BLOCK_VERSION,
    chainId: genesis.chainId,
    height: 0,
    prevHash: genesisHash(genesis),
    time: genesis.time,
    txCount: 0,
    txRoot: txRootOf([]),
    resultsRoot: resultsRootOf([]),
    stateRoot: chainStateRoot(ZERO_HASH, view.writeSet()),
  };
  return { header, hash: blockHash(header), txs: [], results: [], writes: view.writes, writeFolders: view.writeFolders };
}

interface Candidate {
  readonly envelope: string;
  readonly parsed: ParsedTx | undefined;
  readonly parseError: string | undefined;
  readonly handler: ContractHandler | undefined;
  /** Key the signature was checked against in the parallel pre-pass. */
  prepassKey?: string;
}

/**
 * Executes one block's worth of ordered envelopes on top of `prev`. Deterministic: the result
 * depends only on the envelopes, `time`, the state and the replay index. Signatures are verified
 * in parallel on the thread pool first (with the signers' keys as of the block start), then the
 * transactions run in order; a signer whose key changed inside the block is re-verified.
 */
export async function executeBlock(
  env: ExecutionEnv,
  prev: PreviousBlock,
  envelopes: readonly string[],
  time: number,
): Promise<ExecutedBlock> {
  const height = prev.height + 1;
  const view = new BlockStateView(env.state);
  const candidates = envelopes.map((envelope): Candidate => {
    const known = env.parsed?.(envelope);
    const result = known ? ({ ok: true, tx: known } as const) : parseSignedTxJson(envelope);
    if (!result.ok) return { envelope, parsed: undefined, parseError: result.message, handler: undefined };
    return { envelope, parsed: result.tx, parseError: undefined, handler: env.contracts.registry.get(result.tx.signed.tx.type) };
  });

  const prepass: boolean[] = new Array<boolean>(candidates.length).fill(false);
  const toVerify: Array<{ index: number; item: VerifyItem }> = [];
  candidates.forEach((candidate, index) => {
    const { parsed, handler } = candidate;
    if (!parsed || !handler || checkTxFrame(parsed, handler, env.chainId)) return;
    const signer = resolveSigner(view, parsed.signed.tx.signer, handler);
    if ('code' in signer) return;
    candidate.prepassKey = signer.key;
    if (env.verified?.has(parsed.id, parsed.signed.sig, signer.key)) prepass[index] = true;
    else toVerify.push({ index, item: { publicKey: fromBase64Url(signer.key), message: parsed.txBytes, signature: parsed.signature } });
  });
  if (toVerify.length > 0) {
    const verdicts = await (env.verifier ?? threadPoolVerifier).verifyBatch(toVerify.map((v) => v.item));
    toVerify.forEach((v, i) => (prepass[v.index] = verdicts[i] ?? false));
  }

  const spentInBlock = new Set<string>();
  const txs: ExecutedTx[] = [];
  const results: TxResult[] = [];
  candidates.forEach((candidate, idx) => {
    const outcome = runOne(env, view, candidate, prepass[idx] ?? false, spentInBlock, height, idx, time);
    const parsed = candidate.parsed;
    const spent = parsed && consumesNonce(outcome.code) ? 1 : 0;
    if (spent && parsed) spentInBlock.add(nonceKey(parsed.signed.tx.signer, parsed.signed.tx.nonce));
    txs.push({
      idx,
      id: parsed?.id ?? sha256Hex(candidate.envelope),
      signer: parsed?.signed.tx.signer ?? '',
      nonce: parsed?.signed.tx.nonce ?? '',
      type: parsed?.signed.tx.type ?? '',
      envelope: candidate.envelope,
      code: outcome.code,
      message: outcome.message ?? null,
      spent,
    });
    results.push(outcome.message === undefined ? { code: outcome.code } : { code: outcome.code, message: outcome.message });
  });

  const header: BlockHeader = {
    v: BLOCK_VERSION,
    chainId: env.chainId,
    height,
    prevHash: prev.hash,
    time,
    txCount: txs.length,
    txRoot: txRootOf(txs.map((t) => envelopeLeafHash(t.envelope))),
    resultsRoot: resultsRootOf(results),
    stateRoot: chainStateRoot(prev.stateRoot, view.writeSet()),
  };
  return { header, hash: blockHash(header), txs, results, writes: view.writes, writeFolders: view.writeFolders };
}

function runOne(
  env: ExecutionEnv,
  view: BlockStateView,
  candidate: Candidate,
  prepassValid: boolean,
  spentInBlock: Set<string>,
  height: number,
  txIndex: number,
  time: number,
): TxResult {
  const { parsed, handler } = candidate;
  if (!parsed) return { code: ResultCode.MALFORMED_TX, message: candidate.parseError ?? 'malformed envelope' };
  const tx = parsed.signed.tx;
  if (!handler) return { code: ResultCode.UNKNOWN_TX_TYPE, message: `unknown transaction type "${tx.type}"` };
  const frameError = checkTxFrame(parsed, handler, env.chainId);
  if (frameError) return frameError;
  if (tx.issuedAt < time - env.params.txValidityMs) {
    return { code: ResultCode.TX_EXPIRED, message: `issued ${time - tx.issuedAt} ms before the block, window is ${env.params.txValidityMs} ms` };
  }
  if (tx.issuedAt > time + env.params.txFutureSkewMs) {
    return { code: ResultCode.TX_FROM_FUTURE, message: `issued ${tx.issuedAt - time} ms after the block time` };
  }
  if (
    spentInBlock.has(nonceKey(tx.signer, tx.nonce)) ||
    (!env.knownUnspent?.(tx.signer, tx.nonce) && env.replay.isSpent(tx.signer, tx.nonce))
  ) {
    return { code: ResultCode.REPLAY, message: `nonce "${tx.nonce}" of this signer was already used` };
  }
  const signer = resolveSigner(view, tx.signer, handler);
  if ('code' in signer) return signer;
  const { key, party: signerParty } = signer;
  const valid = key === candidate.prepassKey ? prepassValid : verify(fromBase64Url(key), parsed.txBytes, parsed.signature);
  if (!valid) return { code: ResultCode.BAD_SIGNATURE, message: 'signature does not verify with the signer\'s current key' };

  try {
    const payload = parsed.checkedPayload ? parsed.checkedPayload.value : handler.parse(tx.payload);
    handler.execute(
      {
        txId: parsed.id,
        txIndex,
        block: { height, time },
        signer: tx.signer,
        signerParty,
        params: env.params,
        get: (k) => view.get(k),
        put: (k, v) => view.put(k, v),
        del: (k) => view.del(k),
        range: (p) => view.range(p),
        revokedGrantsOf: (patient) => view.revokedGrantsOf(patient),
        folderKeys: (folder) => view.folderKeys(folder),
      },
      payload as never,
    );
    view.commitTx();
    return { code: ResultCode.OK };
  } catch (error) {
    view.rollbackTx();
    if (error instanceof TxRejected) return { code: error.code, message: error.message };
    return { code: ResultCode.CONTRACT_ERROR, message: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The signer's party record and the key that must have signed its tx: the registered party's
 * current key, or, for tx types that admit unregistered signers, the key inside its did:key.
 */
function resolveSigner(
  view: BlockStateView,
  signer: string,
  handler: ContractHandler,
): { key: string; party: PartyRecord | undefined } | TxResult {
  const party = view.get<PartyRecord>(StateKey.party(signer));
  if (party) {
    if (party.status !== 'active') return { code: ResultCode.SIGNER_DEACTIVATED, message: 'signer is deactivated' };
    return { key: party.signingKey, party };
  }
  if (!handler.allowsUnregisteredSigner) return { code: ResultCode.UNKNOWN_SIGNER, message: 'signer is not registered on the ledger' };
  try {
    return { key: toBase64Url(signingKeyFromDid(signer)), party: undefined };
  } catch (error) {
    return { code: ResultCode.UNKNOWN_SIGNER, message: (error as Error).message };
  }
}

function nonceKey(signer: string, nonce: string): string {
  return `${signer}\n${nonce}`;
}
