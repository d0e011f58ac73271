import type { ResultCode } from './codes.js';
import type { BlockInfo, GenesisDocument, PartyRecord, TxType } from './types.js';

/**
 * What a contract sees of the world (after fabric-chaincode-node's stub): the state, the
 * transaction and block it runs in, and its authenticated signer. Nothing else: no clock, no
 * randomness, no I/O, so that every node computes the same result.
 */
export interface ContractContext {
  readonly txId: string;
  /** Position of the transaction in its block. */
  readonly txIndex: number;
  readonly block: BlockInfo;
  /** The signer's DID; its signature has been verified by the runner. */
  readonly signer: string;
  /** The signer's party record, or undefined when the tx type admits unregistered signers. */
  readonly signerParty: PartyRecord | undefined;
  /** Network parameters from genesis. */
  readonly params: NetworkParams;
  get<T>(key: string): T | undefined;
  put(key: string, value: unknown): void;
  del(key: string): void;
  /** Entries whose key starts with `prefix`, in ascending key order (state as of this point). */
  range<T>(prefix: string): Array<[key: string, value: T]>;
  /**
   * The ids of the patient's revoked grants as of this point, from the node's index beside the
   * state (what scanning `idx/patient-grant/<patient>/` and reading each grant answers, without
   * reads that grow with the patient's grants); undefined when there is no index: scan instead.
   */
  revokedGrantsOf?(patient: string): ReadonlySet<string> | undefined;
  /**
   * The keys under a folder (a prefix ending in '/') in ascending order as of this point, read
   * lazily (a loop that stops early reads no further); undefined when the state cannot page.
   */
  folderKeys?(folder: string): Iterable<string> | undefined;
}

export interface NetworkParams {
  /** Largest allowed distance between a tx's issuedAt and block time, in the past. */
  readonly txValidityMs: number;
  /** Largest allowed distance into the future (clock skew). */
  readonly txFutureSkewMs: number;
  /** Fraction of active member organizations whose yes-votes accept a governance proposal. */
  readonly joinQuorum: number;
  /** Most active nodes per organization (genesis `maxNodesPerOrg`, default applied). */
  readonly maxNodesPerOrg: number;
  /** Node URLs may be plain `http:` for any host, not only loopback (local development networks). */
  readonly allowHttpNodeUrls: boolean;
}

/** Throw from a contract to reject a transaction: its writes are discarded and the code committed. */
export class TxRejected extends Error {
  override readonly name = 'TxRejected';
  constructor(
    readonly code: Exclude<ResultCode, 'OK'>,
    message: string,
  ) {
    super(message);
  }
}

export interface ContractHandler {
  /** Tx types whose signer need not be registered (patient self-registration). */
  readonly allowsUnregisteredSigner?: boolean;
  /**
   * Largest signed transaction of this type, in bytes of its canonical JSON: larger ones are
   * refused (TX_TOO_LARGE) at admission and in execution, before the payload is parsed.
   */
  readonly maxTxBytes: number;
  /** Validates and narrows the payload; throws TxRejected(INVALID_PAYLOAD) naming the field. */
  readonly parse: (payload: unknown) => unknown;
  readonly execute: (ctx: ContractContext, payload: never) => void;
}

export type ContractRegistry = ReadonlyMap<TxType, ContractHandler>;

/** What genesis application may do: write the founders into empty state. */
export interface GenesisContext {
  get<T>(key: string): T | undefined;
  put(key: string, value: unknown): void;
}

/** The contracts a ledger runs: the transaction handlers and the genesis writer. */
export interface ContractSuite {
  readonly registry: ContractRegistry;
  readonly applyGenesis: (ctx: GenesisContext, genesis: GenesisDocument) => void;
}
