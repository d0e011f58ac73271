/**
 * `roam ledger verify | block | tx | status`: inspect and check the ledger, online through a
 * node's API (`--node`) or offline from a data folder's store (`--data`, opened read-only).
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { verifyTxResponse } from '../client/index.js';
import { applyGenesis, createContractRegistry } from '../contracts/index.js';
import {
  buildTxInclusionProof,
  verifyChain,
  verifyTxInclusion,
  WorkerVerifierPool,
  type BlockHeader,
  type SignedTx,
  type TxInclusionProof,
} from '../ledger/index.js';
import { canonicalJson } from '../crypto/index.js';
import { DataFiles } from '../node/index.js';
import { LedgerStore } from '../store/index.js';
import {
  nodeUrlOption,
  openWallet,
  parseNonNegativeInteger,
  passphraseFileOption,
  subcommand,
  usage,
  type PassphraseOptions,
} from './common.js';
import { connect, type NodeApi } from './connect.js';
import {
  CliError,
  CliErrorCode,
  emit,
  EXIT_FAILURE,
  fields,
  isoTime,
  table,
  type OutputOptions,
} from './output.js';

interface SourceOptions extends OutputOptions, PassphraseOptions {
  readonly node?: string;
  readonly data?: string;
  /** The wallet a node's ledger is read as (the ledger API shows anonymous callers headers only). */
  readonly wallet?: string;
}

export function registerLedger(program: Command): void {
  const ledger = program.command('ledger').description('inspect and verify the ledger');

  subcommand(
    ledger,
    'verify',
    're-execute the chain from genesis and check every hash, signature, root and state row',
  )
    .requiredOption('--data <dir>', "the node's data folder (opened read-only; the node may be running)")
    .action(async (options: OutputOptions & { readonly data: string }) => {
      // Signatures on worker threads (one per core) while the main thread executes blocks in order.
      const verifier = new WorkerVerifierPool();
      const report = await withStore(options.data, (store) =>
        verifyChain(store, { registry: createContractRegistry(), applyGenesis }, { verifier }),
      ).finally(() => verifier.close());
      if (report.ok) {
        emit(options, report, () => [
          'ledger verify: OK',
          ...fields([
            ['height', String(report.height)],
            ['head hash', report.headHash],
            ['state root', report.stateRoot],
            ['transactions', String(report.txCount)],
          ]),
        ]);
      } else {
        emit(options, report, () => [`ledger verify: FAILED at height ${report.height}: ${report.problem}`]);
        process.exitCode = EXIT_FAILURE;
      }
    });

  subcommand(ledger, 'block', 'show a block: header and transactions')
    .argument('<height>', 'block height', parseNonNegativeInteger)
    .addOption(nodeUrlOption(false))
    .option('--wallet <file>', READ_AS_WALLET_HELP)
    .addOption(passphraseFileOption())
    .option('--data <dir>', "read offline from a node's data folder")
    .action(async (height: number, options: SourceOptions) => {
      const block = await readBlock(height, options);
      emit(options, block, () => [
        ...fields([
          ['height', String(block.header.height)],
          ['hash', block.hash],
          ['previous', block.header.prevHash],
          ['time', isoTime(block.header.time)],
          ['tx root', block.header.txRoot],
          ['results root', block.header.resultsRoot],
          ['state root', block.header.stateRoot],
          ['transactions', String(block.header.txCount)],
        ]),
        ...(block.txs.length === 0
          ? []
          : [
              '',
              ...table(
                ['#', 'id', 'type', 'signer', 'result'],
                block.txs.map((tx) => [String(tx.index), tx.id, tx.type, tx.signer, tx.code]),
              ),
            ]),
      ]);
    });

  subcommand(ledger, 'tx', 'show a transaction, its result and (with --proof) its Merkle inclusion proof')
    .argument('<id>', 'transaction id (hex SHA-256)')
    .option('--proof', 'print the inclusion proof and check it against the block header')
    .addOption(nodeUrlOption(false))
    .option('--wallet <file>', READ_AS_WALLET_HELP)
    .addOption(passphraseFileOption())
    .option('--data <dir>', "read offline from a node's data folder")
    .action(async (id: string, options: SourceOptions & { readonly proof?: boolean }) => {
      if (!/^[0-9a-f]{64}$/.test(id)) throw usage('transaction id expected 64 lowercase hex characters');
      const tx = await readTx(id, options, options.proof === true);
      const proofValid = tx.proofValid;
      const signed = JSON.parse(tx.envelope) as SignedTx;
      const data = {
        id: tx.id,
        height: tx.height,
        index: tx.index,
        code: tx.code,
        ...(tx.message === undefined ? {} : { message: tx.message }),
        tx: signed.tx,
        sig: signed.sig,
        ...(tx.proof ? { proof: tx.proof, proofValid } : {}),
      };
      emit(options, data, () => [
        ...fields([
          ['id', tx.id],
          ['block', `${tx.height} (position ${tx.index})`],
          ['result', tx.message === undefined ? tx.code : `${tx.code}: ${tx.message}`],
          ['type', signed.tx.type],
          ['signer', signed.tx.signer],
          ['issued', isoTime(signed.tx.issuedAt)],
          ['nonce', signed.tx.nonce],
          ['payload', JSON.stringify(signed.tx.payload)],
        ]),
        ...(tx.proof
          ? [
              '',
              `Merkle path (leaf ${tx.proof.leafIndex} of ${tx.proof.treeSize}, from leaf to root):`,
              ...(tx.proof.path.length === 0
                ? ['  (empty: the transaction is the only one in its block, its leaf hash is the root)']
                : tx.proof.path.map((hash, i) => `  ${i + 1}. ${hash}`)),
              `  root ${tx.proof.root}`,
              `inclusion proof: ${proofValid ? 'valid' : 'INVALID'}`,
            ]
          : []),
      ]);
      if (tx.proof && proofValid !== true) {
        throw new CliError(
          CliErrorCode.PROOF_INVALID,
          `the inclusion proof of ${id} does not lead to the txRoot of block ${tx.height}`,
        );
      }
    });

  subcommand(ledger, 'status', "a node's view of the chain: height, head, state root")
    .addOption(nodeUrlOption())
    .action(async (options: OutputOptions & { readonly node: string }) => {
      const status = await connect(options.node).status();
      emit(options, status, () =>
        fields([
          ['node', `${status.url} (${status.nodeDid})`],
          ['organization', `${status.org.name} (${status.org.did})`],
          ['region', status.region],
          ['chain', status.chainId],
          ['height', String(status.height)],
          ['head hash', status.headHash],
          ['head time', isoTime(status.headTime)],
          ['state root', status.stateRoot],
          ['ordering', status.ordering],
          ['version', status.version],
        ]),
      );
    });
}

// ---------------------------------------------------------------------------------------------
// Sources: a node's API, or a store opened read-only
// ---------------------------------------------------------------------------------------------

/** Opens a data folder's store read-only for the duration of `fn`. */
export async function withStore<T>(dataDir: string, fn: (store: LedgerStore) => Promise<T> | T): Promise<T> {
  const path = DataFiles.store(dataDir);
  if (!existsSync(path)) {
    const hint = existsSync(DataFiles.config(dataDir))
      ? 'start the node once to create block 0'
      : 'is it a node data folder (roam init)?';
    throw new CliError(CliErrorCode.NOT_FOUND, `no ledger store at ${path}; ${hint}`);
  }
  const store = LedgerStore.open(path, { readonly: true });
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

const READ_AS_WALLET_HELP =
  'with --node: read as this wallet (signed in); without it a node shows block headers only';

/** The API of the node at `url`, read as `--wallet` when given, else anonymously. */
async function nodeReader(url: string, options: SourceOptions): Promise<NodeApi> {
  if (options.wallet === undefined) return connect(url);
  return connect(url, await openWallet(options.wallet, options));
}

function sourceOf(options: SourceOptions): { kind: 'node'; url: string } | { kind: 'data'; dir: string } {
  if ((options.node === undefined) === (options.data === undefined))
    throw usage('give exactly one of --node <url> or --data <dir>');
  return options.node !== undefined
    ? { kind: 'node', url: options.node }
    : { kind: 'data', dir: options.data! };
}

interface BlockView {
  readonly hash: string;
  readonly header: BlockHeader;
  readonly txs: ReadonlyArray<{
    index: number;
    id: string;
    type: string;
    signer: string;
    code: string;
    message?: string;
  }>;
}

async function readBlock(height: number, options: SourceOptions): Promise<BlockView> {
  const source = sourceOf(options);
  if (source.kind === 'node') {
    const block = await (await nodeReader(source.url, options)).client.getBlock(height);
    const txs = block.txs.map((tx, index) => ({
      index,
      id: tx.id,
      type: tx.envelope.tx.type,
      signer: tx.envelope.tx.signer,
      code: tx.code,
      ...(tx.message === undefined ? {} : { message: tx.message }),
    }));
    return { hash: block.hash, header: block.header, txs };
  }
  return withStore(source.dir, (store) => {
    const stored = store.getBlock(height);
    if (!stored)
      throw new CliError(
        CliErrorCode.NOT_FOUND,
        `no block at height ${height} (head is ${store.head()?.height ?? -1})`,
      );
    const txs = store.getBlockTxs(height).map((tx) => {
      const { tx: body } = JSON.parse(tx.envelope) as SignedTx;
      return {
        index: tx.idx,
        id: tx.id,
        type: body.type,
        signer: body.signer,
        code: tx.code,
        ...(tx.message === null ? {} : { message: tx.message }),
      };
    });
    return { hash: stored.hash, header: JSON.parse(stored.header) as BlockHeader, txs };
  });
}

interface TxView {
  readonly id: string;
  readonly height: number;
  readonly index: number;
  readonly code: string;
  readonly message?: string;
  /** Canonical JSON of the signed envelope (the Merkle leaf's content). */
  readonly envelope: string;
  readonly proof?: TxInclusionProof;
  /** The proof leads from the envelope to the block header's txRoot (and, from a node, the header to its hash). */
  readonly proofValid?: boolean;
}

async function readTx(id: string, options: SourceOptions, withProof: boolean): Promise<TxView> {
  const source = sourceOf(options);
  if (source.kind === 'node') {
    const answer = await (await nodeReader(source.url, options)).client.getTx(id);
    const envelope = canonicalJson(answer.tx);
    const base = {
      id: answer.id,
      height: answer.height,
      index: answer.index,
      code: answer.code,
      ...(answer.message === undefined ? {} : { message: answer.message }),
      envelope,
    };
    if (!withProof) return base;
    // verifyTxResponse also checks that the envelope hashes to the id and the header to its hash.
    const proofValid = verifyTxInclusion(envelope, answer.proof, answer.header) && verifyTxResponse(answer);
    return { ...base, proof: answer.proof, proofValid };
  }
  return withStore(source.dir, (store) => {
    const stored = store.getTx(id);
    if (!stored) throw new CliError(CliErrorCode.NOT_FOUND, `no committed transaction ${id}`);
    const base = {
      id: stored.id,
      height: stored.height,
      index: stored.idx,
      code: stored.code,
      ...(stored.message === null ? {} : { message: stored.message }),
      envelope: stored.envelope,
    };
    if (!withProof) return base;
    const header = JSON.parse(store.getBlock(stored.height)!.header) as BlockHeader;
    const proof = buildTxInclusionProof(store, header, stored.idx);
    return { ...base, proof, proofValid: verifyTxInclusion(stored.envelope, proof, header) };
  });
}
