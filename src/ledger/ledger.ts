import { EventEmitter } from 'node:events';
import { canonicalJson, fromBase64Url, signingKeyFromDid, toBase64Url } from '../crypto/index.js';
import { threadPoolVerifier, type SignatureVerifier } from './verifier.js';
import { nonceKey, type BlockCommit, type LedgerStore, type StoredTx } from '../store/index.js';
import type { BlockHeader } from './block.js';
import { ResultCode } from './codes.js';
import type { ContractSuite, NetworkParams } from './contract.js';
import { LedgerError, LedgerErrorCode } from './errors.js';
import {
  executeBlock,
  executeGenesis,
  genesisHash,
  paramsOf,
  type ExecutedBlock,
  type ExecutionEnv,
  type PreviousBlock,
} from './executor.js';
import { isFolder, type FolderLookup } from './folder-index.js';
import { StateKey } from './keys.js';
import type { StateSource } from './state-view.js';
import { CachedStateSource } from './state-cache.js';
import { overlayFolderPage } from './folder-keys.js';
import { revokedGrantsThrough } from './revoked-grants.js';
import { SpentNonceFilter } from './spent-nonce-filter.js';
import { parseSignedTx, type ParsedTx } from './tx.js';
import { checkPayload, checkTxFrame } from './tx-rules.js';
import type { GenesisDocument, PartyRecord, TxResult } from './types.js';

const META_GENESIS = 'genesis';
const META_ORDERER_POSITION = 'orderer.position';

/** Outcome of one committed transaction, as waiters and the API see it. */
export interface CommittedTx {
  readonly id: string;
  readonly height: number;
  readonly index: number;
  readonly code: ResultCode;
  readonly message?: string;
}

/** A transaction of a committed block, with its type ('' when the envelope did not parse). */
export interface CommittedBlockTx extends CommittedTx {
  readonly type: string;
}

export interface CommittedBlock {
  readonly header: BlockHeader;
  readonly hash: string;
  /** In block order; listeners filter on `type` without reading the transactions back. */
  readonly txs: readonly CommittedBlockTx[];
}

/** A block executed and handed to the writer: its hash now, its durability later. */
export interface EnqueuedBlock {
  /** The executed block's hash (known before it is durable: catch-up compares it with the peer's). */
  readonly hash: string;
  readonly committed: Promise<CommittedBlock>;
}

/** Why a submitted envelope is refused before ordering: the code it would get in a block. */
export interface AdmissionRejection {
  readonly code: ResultCode;
  readonly message: string;
  readonly index: number;
}

export interface LedgerOptions {
  readonly store: LedgerStore;
  readonly contracts: ContractSuite;
  readonly genesis: GenesisDocument;
  /** Node clock, used only for admission checks (never for execution). */
  readonly clock?: () => number;
  /** Where signatures are checked; default one thread-pool job per signature. */
  readonly verifier?: SignatureVerifier;
  /**
   * Commits blocks off the main thread (`BlockWriter`); without one, blocks commit on the
   * calling thread. Either way a block is announced only once it is durable.
   */
  readonly writer?: { commit(commit: BlockCommit): Promise<void> };
}

/** Blocks executed and handed to the writer, not yet durable; the next block waits beyond this. */
export const MAX_BLOCKS_IN_FLIGHT = 2;

/** A block executed and handed to the writer, not yet durable. */
interface InFlightBlock {
  readonly height: number;
  readonly writes: ReadonlyMap<string, string | null>;
  readonly writeFolders: FolderLookup;
  /** `signer\nnonce` pairs it spends. */
  readonly spent: ReadonlySet<string>;
  readonly committed: Promise<CommittedBlock>;
}

/**
 * The replicated state machine of one node: executes ordered block cuts, commits each block
 * atomically with its state changes, and answers queries. Emits 'block' (CommittedBlock).
 */
export class Ledger extends EventEmitter<{ block: [CommittedBlock] }> {
  readonly store: LedgerStore;
  readonly genesis: GenesisDocument;
  readonly params: NetworkParams;
  private readonly contracts: ContractSuite;
  private readonly clock: () => number;
  private readonly verifier: SignatureVerifier;
  /** Last durable block: what queries and status report. */
  private head: PreviousBlock;
  private headHeader: BlockHeader;
  /** Last executed block: what the next block builds on (ahead of `head` while commits are in flight). */
  private executedHead: PreviousBlock;
  private readonly inFlight: InFlightBlock[] = [];
  private readonly writer: LedgerOptions['writer'];
  private failure: Error | undefined;
  /** Signatures verified at admission: id → "sig key". Dropped once the tx is committed. */
  private readonly verified = new Map<string, string>();
  /** (signer, nonce) pairs admitted but not yet committed, to refuse duplicates at once. */
  private readonly pendingNonces = new Set<string>();
  private readonly waiters = new Map<string, Waiter[]>();
  private closed = false;
  private readonly stateSource: CachedStateSource;
  /** Durable state overlaid with the writes of in-flight blocks: what execution reads. */
  private readonly executionState: StateSource;
  /** Envelopes admitted here, parsed, so their block need not parse them again. */
  private readonly admitted = new Map<string, ParsedTx>();
  /** The pairs durable blocks spent, to answer "not spent" without the store (see its module). */
  private readonly spentNonces: SpentNonceFilter;

  private constructor(options: LedgerOptions, head: PreviousBlock, headHeader: BlockHeader) {
    super();
    this.store = options.store;
    this.contracts = options.contracts;
    this.genesis = options.genesis;
    this.params = paramsOf(options.genesis);
    this.clock = options.clock ?? Date.now;
    this.verifier = options.verifier ?? threadPoolVerifier;
    this.head = head;
    this.headHeader = headHeader;
    this.executedHead = head;
    this.writer = options.writer;
    this.spentNonces = new SpentNonceFilter(() => this.store.spentNonceKeys());
    this.stateSource = new CachedStateSource({
      get: (k) => this.store.getState(k),
      range: (p) => this.store.rangeState(p),
      folderPage: (folder, after, limit) => this.store.stateKeysPage(folder, after, limit),
    });
    this.executionState = {
      // Newest in-flight block first: it holds the latest value of a key it wrote.
      get: (key) => {
        for (let i = this.inFlight.length - 1; i >= 0; i--) {
          const writes = this.inFlight[i]!.writes;
          if (writes.has(key)) return writes.get(key) ?? undefined;
        }
        return this.stateSource.get(key);
      },
      range: (prefix) => {
        if (this.inFlight.length === 0) return this.stateSource.range(prefix);
        const merged = new Map<string, string | null>(this.stateSource.range(prefix));
        // Oldest first, so the newest value of a key wins; a folder looks only at its own keys
        // (scanning a 2,000-transaction block's writes for every range made execution quadratic).
        for (const block of this.inFlight) {
          if (isFolder(prefix)) for (const k of block.writeFolders.keysUnder(prefix)) merged.set(k, block.writes.get(k)!);
          else for (const [k, v] of block.writes) if (k.startsWith(prefix)) merged.set(k, v);
        }
        const out: Array<[string, string]> = [];
        for (const [k, v] of merged) if (v !== null) out.push([k, v]);
        return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      },
      folderPage: (folder, after, limit) => {
        const lower = this.stateSource.folderPage(folder, after, limit);
        if (this.inFlight.length === 0) return lower;
        const pendingKeys = this.inFlight.flatMap((block) => [...block.writeFolders.keysUnder(folder)]);
        const pendingValue = (key: string): string | null | undefined => {
          for (let i = this.inFlight.length - 1; i >= 0; i--) {
            const writes = this.inFlight[i]!.writes;
            if (writes.has(key)) return writes.get(key);
          }
          return undefined;
        };
        return overlayFolderPage({ lower, after, pendingKeys, pendingValue });
      },
      revokedGrantsOf: (patient) =>
        revokedGrantsThrough({ committed: this.stateSource, pending: this.inFlight, patient, get: (key) => this.executionState.get(key) }),
    };
  }

  /** Opens the ledger in `store`, writing block 0 from `genesis` when the store is new. */
  static open(options: LedgerOptions): Ledger {
    const { store, genesis } = options;
    const stored = store.getMeta(META_GENESIS);
    if (stored === undefined) {
      const block0 = executeGenesis({ contracts: options.contracts, state: emptyState }, genesis);
      store.commitBlock({
        block: { height: 0, hash: block0.hash, header: canonicalJson(block0.header) },
        txs: [],
        writes: block0.writes,
        meta: { [META_GENESIS]: canonicalJson(genesis) },
      });
    } else if (stored !== canonicalJson(genesis)) {
      throw new LedgerError(LedgerErrorCode.GENESIS_MISMATCH, 'the store belongs to another network (genesis differs)');
    }
    const head = store.head();
    if (!head) throw new LedgerError(LedgerErrorCode.INVALID_GENESIS, 'store has no block 0');
    const header = JSON.parse(head.header) as BlockHeader;
    return new Ledger(options, { height: header.height, hash: head.hash, stateRoot: header.stateRoot, time: header.time }, header);
  }

  get height(): number {
    return this.head.height;
  }

  get headHash(): string {
    return this.head.hash;
  }

  get stateRoot(): string {
    return this.head.stateRoot;
  }

  get headTime(): number {
    return this.head.time;
  }

  get chainId(): string {
    return this.genesis.chainId;
  }

  get genesisHash(): string {
    return genesisHash(this.genesis);
  }

  /** The orderer position stored with the last block, to resume ordering after a restart. */
  get ordererPosition(): string | undefined {
    return this.store.getMeta(META_ORDERER_POSITION);
  }

  headerAt(height: number): BlockHeader | undefined {
    if (height === this.head.height) return this.headHeader;
    const block = this.store.getBlock(height);
    return block ? (JSON.parse(block.header) as BlockHeader) : undefined;
  }

  /**
   * Checks envelopes before they are ordered, against the node's clock and current state:
   * shape, type, chain id, size cap and payload schema of the type, validity window, replay,
   * signer and signature (verified in parallel on the thread pool). Accepted ones are returned parsed; the rest with the code a block would give them.
   * Acceptance is not commitment: a block may still reject a tx whose state changed meanwhile.
   */
  async admit(envelopes: readonly unknown[]): Promise<{ accepted: ParsedTx[]; rejected: AdmissionRejection[] }> {
    const now = this.clock();
    const heightAtCheck = this.executedHead.height;
    const rejected: AdmissionRejection[] = [];
    const checks: Array<{ parsed: ParsedTx; key: string; index: number }> = [];
    const seenInRequest = new Set<string>();
    envelopes.forEach((value, index) => {
      const reject = (code: ResultCode, message: string) => rejected.push({ code, message, index });
      const result = parseSignedTx(value);
      if (!result.ok) return reject(ResultCode.MALFORMED_TX, result.message);
      const parsed = result.tx;
      const tx = parsed.signed.tx;
      const handler = this.contracts.registry.get(tx.type);
      if (!handler) return reject(ResultCode.UNKNOWN_TX_TYPE, `unknown transaction type "${tx.type}"`);
      // Network, size and payload schema first: what fails them is never ordered nor stored.
      const invalid = checkTxFrame(parsed, handler, this.chainId);
      if (invalid) return reject(invalid.code, invalid.message ?? invalid.code);
      const payload = checkPayload(parsed, handler);
      if ('code' in payload) return reject(payload.code, payload.message ?? payload.code);
      if (tx.issuedAt < now - this.params.txValidityMs) return reject(ResultCode.TX_EXPIRED, 'transaction is older than the validity window');
      if (tx.issuedAt > now + this.params.txFutureSkewMs) return reject(ResultCode.TX_FROM_FUTURE, 'transaction is issued in the future');
      const nonce = `${tx.signer}\n${tx.nonce}`;
      if (seenInRequest.has(nonce) || this.pendingNonces.has(nonce) || this.isNonceSpent(tx.signer, tx.nonce)) {
        return reject(ResultCode.REPLAY, `nonce "${tx.nonce}" of this signer was already used`);
      }
      seenInRequest.add(nonce);
      const partyJson = this.stateSource.get(StateKey.party(tx.signer));
      const party = partyJson === undefined ? undefined : (JSON.parse(partyJson) as PartyRecord);
      let key: string;
      if (party) {
        if (party.status !== 'active') return reject(ResultCode.SIGNER_DEACTIVATED, 'signer is deactivated');
        key = party.signingKey;
      } else if (handler.allowsUnregisteredSigner) {
        key = didKeyOrEmpty(tx.signer);
        if (!key) return reject(ResultCode.UNKNOWN_SIGNER, 'signer is not a valid did:key');
      } else {
        return reject(ResultCode.UNKNOWN_SIGNER, 'signer is not registered on the ledger');
      }
      checks.push({ parsed: { ...parsed, checkedPayload: payload }, key, index });
    });
    const verdicts = await this.verifier.verifyBatch(
      checks.map((c) => ({ publicKey: fromBase64Url(c.key), message: c.parsed.txBytes, signature: c.parsed.signature })),
    );
    const accepted: ParsedTx[] = [];
    for (const [i, check] of checks.entries()) {
      const tx = check.parsed.signed.tx;
      if (!verdicts[i]) {
        rejected.push({ code: ResultCode.BAD_SIGNATURE, message: 'signature does not verify', index: check.index });
        continue;
      }
      const nonce = `${tx.signer}\n${tx.nonce}`;
      // A block committed while the signatures were checked may have spent the nonce.
      const spentMeanwhile = this.executedHead.height !== heightAtCheck && this.isNonceSpent(tx.signer, tx.nonce);
      if (this.pendingNonces.has(nonce) || spentMeanwhile) {
        rejected.push({ code: ResultCode.REPLAY, message: `nonce "${tx.nonce}" of this signer was already used`, index: check.index });
        continue;
      }
      this.pendingNonces.add(nonce);
      this.verified.set(check.parsed.id, `${check.parsed.signed.sig} ${check.key}`);
      this.admitted.set(check.parsed.envelopeJson, check.parsed);
      accepted.push(check.parsed);
    }
    rejected.sort((a, b) => a.index - b.index);
    return { accepted, rejected };
  }

  /** Forgets admitted envelopes that could not be handed to ordering. */
  releaseAdmitted(txs: readonly ParsedTx[]): void {
    for (const parsed of txs) {
      this.pendingNonces.delete(`${parsed.signed.tx.signer}\n${parsed.signed.tx.nonce}`);
      this.verified.delete(parsed.id);
      this.admitted.delete(parsed.envelopeJson);
    }
  }

  /**
   * Executes the next block from an ordered cut and hands it to the writer. Resolves once the
   * block is executed (its commit may still be in flight: see `MAX_BLOCKS_IN_FLIGHT`), so that
   * ordering can go on; the returned `committed` promise resolves when it is durable and
   * announced. Block time never goes backwards. Called by the orderer, one cut at a time.
   */
  async enqueueCut(envelopes: readonly string[], cutTime: number, ordererPosition?: string): Promise<EnqueuedBlock> {
    if (this.failure) throw this.failure;
    while (this.inFlight.length >= MAX_BLOCKS_IN_FLIGHT) await this.inFlight[0]!.committed;
    const time = Math.max(cutTime, this.executedHead.time);
    const executed = await executeBlock(this.executionEnv(), this.executedHead, envelopes, time);
    const { header } = executed;
    this.executedHead = { height: header.height, hash: executed.hash, stateRoot: header.stateRoot, time: header.time };
    const commit: BlockCommit = {
      block: { height: header.height, hash: executed.hash, header: canonicalJson(header), position: ordererPosition ?? null },
      txs: executed.txs,
      writes: executed.writes,
      ...(ordererPosition === undefined ? {} : { meta: { [META_ORDERER_POSITION]: ordererPosition } }),
      // The local orderer's positions are its log's sequence numbers: its rows go with the block.
      ...(ordererPosition !== undefined && /^\d+$/.test(ordererPosition) ? { logThrough: Number(ordererPosition) } : {}),
    };
    if (!this.writer) {
      this.store.commitBlock(commit);
      return { hash: executed.hash, committed: Promise.resolve(this.confirm(executed)) };
    }
    const spent = new Set(executed.txs.filter((tx) => tx.spent).map((tx) => `${tx.signer}\n${tx.nonce}`));
    const committed = this.writer.commit(commit).then(
      () => {
        this.inFlight.shift();
        return this.confirm(executed);
      },
      (error: unknown) => {
        this.failure = error instanceof Error ? error : new Error(String(error));
        throw this.failure;
      },
    );
    // The orderer learns of a failure from the next enqueueCut; nothing is left unhandled.
    committed.catch(() => undefined);
    this.inFlight.push({ height: header.height, writes: executed.writes, writeFolders: executed.writeFolders, spent, committed });
    return { hash: executed.hash, committed };
  }

  /**
   * Stops this ledger from executing further blocks: every later cut fails with `reason` (a node
   * that finds its chain differs from the network's must not build on it). Queries still work.
   */
  halt(reason: Error): void {
    this.failure ??= reason;
  }

  /** Why the ledger stopped executing blocks, if it did. */
  get haltReason(): Error | undefined {
    return this.failure;
  }

  /** Executes and commits the next block, resolving once it is durable (tests, tools). */
  async applyCut(envelopes: readonly string[], cutTime: number, ordererPosition?: string): Promise<CommittedBlock> {
    const { committed } = await this.enqueueCut(envelopes, cutTime, ordererPosition);
    return committed;
  }

  /** Waits until every executed block is durable. */
  async flush(): Promise<void> {
    while (this.inFlight.length > 0) await this.inFlight[this.inFlight.length - 1]!.committed.catch(() => undefined);
    if (this.failure) throw this.failure;
  }

  private executionEnv(): ExecutionEnv {
    return {
      chainId: this.genesis.chainId,
      contracts: this.contracts,
      params: this.params,
      state: this.executionState,
      replay: { isSpent: (signer, nonce) => this.isNonceSpent(signer, nonce) },
      verified: { has: (id, sig, key) => this.verified.get(id) === `${sig} ${key}` },
      parsed: (envelope) => this.admitted.get(envelope),
      // Admission found the pair unspent; a durable block spending it since has removed it from
      // the set, and an in-flight one is asked directly.
      knownUnspent: (signer, nonce) => {
        const key = `${signer}\n${nonce}`;
        return this.pendingNonces.has(key) && !this.inFlight.some((b) => b.spent.has(key));
      },
      verifier: this.verifier,
    };
  }

  /** Whether an executed block (durable or in flight) spent the pair. */
  private isNonceSpent(signer: string, nonce: string): boolean {
    const key = `${signer}\n${nonce}`;
    if (this.inFlight.some((b) => b.spent.has(key))) return true;
    const storeKey = nonceKey(signer, nonce);
    return this.spentNonces.mayContain(storeKey) && this.store.isNonceKeySpent(storeKey, signer, nonce);
  }

  /** A block became durable: advance the head, refresh the cache, answer waiters. */
  private confirm(executed: ExecutedBlock): CommittedBlock {
    this.stateSource.apply(executed.writes);
    // In the turn the block left `inFlight`: no replay check sees neither of them hold its pairs.
    for (const tx of executed.txs) if (tx.spent) this.spentNonces.add(nonceKey(tx.signer, tx.nonce));
    this.head = { height: executed.header.height, hash: executed.hash, stateRoot: executed.header.stateRoot, time: executed.header.time };
    this.headHeader = executed.header;
    return this.announce(executed);
  }

  private announce(executed: ExecutedBlock): CommittedBlock {
    const height = executed.header.height;
    const txs = executed.txs.map((tx): CommittedBlockTx => {
      this.verified.delete(tx.id);
      this.admitted.delete(tx.envelope);
      this.pendingNonces.delete(`${tx.signer}\n${tx.nonce}`);
      return tx.message === null
        ? { id: tx.id, height, index: tx.idx, code: tx.code, type: tx.type }
        : { id: tx.id, height, index: tx.idx, code: tx.code, message: tx.message, type: tx.type };
    });
    const block: CommittedBlock = { header: executed.header, hash: executed.hash, txs };
    for (const tx of txs) {
      const waiting = this.waiters.get(tx.id);
      if (waiting) {
        this.waiters.delete(tx.id);
        // The same shape as a wait answered from the store (which does not keep the type).
        const outcome: CommittedTx =
          tx.message === undefined ? { id: tx.id, height, index: tx.index, code: tx.code } : { id: tx.id, height, index: tx.index, code: tx.code, message: tx.message };
        for (const waiter of waiting) waiter.resolve(outcome);
      }
    }
    this.emit('block', block);
    return block;
  }

  /**
   * Resolves when the transaction `id` is committed (with any result code); rejects with
   * COMMIT_TIMEOUT after `timeoutMs`, or LEDGER_CLOSED when the ledger closes first. A tx still
   * pending here is waited for even if an earlier copy of it is in a block (one that did not
   * spend its nonce, e.g. TX_FROM_FUTURE), so the answer is about this submission.
   */
  waitForCommit(id: string, timeoutMs: number): Promise<CommittedTx> {
    if (this.closed) return Promise.reject(new LedgerError(LedgerErrorCode.LEDGER_CLOSED, 'ledger is closed'));
    if (!this.verified.has(id)) {
      const stored = this.store.getTx(id);
      if (stored) return Promise.resolve(committedTxOf(stored));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (tx) => {
          clearTimeout(timer);
          resolve(tx);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.removeWaiter(id, waiter);
        reject(new LedgerError(LedgerErrorCode.COMMIT_TIMEOUT, `transaction ${id} not committed within ${timeoutMs} ms`));
      }, timeoutMs);
      // A pending wait must not keep a process alive that is otherwise done.
      timer.unref();
      const list = this.waiters.get(id);
      if (list) list.push(waiter);
      else this.waiters.set(id, [waiter]);
    });
  }

  private removeWaiter(id: string, waiter: Waiter): void {
    const remaining = (this.waiters.get(id) ?? []).filter((w) => w !== waiter);
    if (remaining.length > 0) this.waiters.set(id, remaining);
    else this.waiters.delete(id);
  }

  /** Ends every wait with LEDGER_CLOSED. The store is the caller's to close. */
  close(): void {
    this.closed = true;
    const error = new LedgerError(LedgerErrorCode.LEDGER_CLOSED, 'ledger closed before the transaction was committed');
    for (const list of this.waiters.values()) for (const waiter of list) waiter.reject(error);
    this.waiters.clear();
  }

  getState<T>(key: string): T | undefined {
    const raw = this.store.getState(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  /** The values of those of `keys` that are set, by key (one store query). */
  getStates<T>(keys: readonly string[]): Map<string, T> {
    const out = new Map<string, T>();
    for (const [key, raw] of this.store.getStates(keys)) out.set(key, JSON.parse(raw) as T);
    return out;
  }

  rangeState<T>(prefix: string): Array<[string, T]> {
    return this.store.rangeState(prefix).map(([k, v]) => [k, JSON.parse(v) as T]);
  }

  /** A committed transaction with its result, or undefined. */
  getTx(id: string): (CommittedTx & { envelope: string }) | undefined {
    const stored = this.store.getTx(id);
    return stored ? { ...committedTxOf(stored), envelope: stored.envelope } : undefined;
  }
}

interface Waiter {
  resolve(tx: CommittedTx): void;
  reject(error: Error): void;
}

function committedTxOf(stored: StoredTx): CommittedTx {
  const base = { id: stored.id, height: stored.height, index: stored.idx, code: stored.code as ResultCode };
  return stored.message === null ? base : { ...base, message: stored.message };
}

const emptyState: StateSource = { get: () => undefined, range: () => [] };

/** The base64url key inside a did:key, or '' when the DID is not an Ed25519 did:key. */
function didKeyOrEmpty(did: string): string {
  try {
    return toBase64Url(signingKeyFromDid(did));
  } catch {
    return '';
  }
}

export type { TxResult };
