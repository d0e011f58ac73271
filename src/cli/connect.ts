/** The CLI's use of a node's API: the typed client plus "sign, submit, wait for the commit". */
import { signIn } from '../client/auth.js';
import { RoamClient, renewingToken, signedTx, type TxSigner } from '../client/index.js';
import type { SubmitCommitted } from '../wire/index.js';
import type { TxPayloads } from '../contracts/index.js';
import { ResultCode, type TxType } from '../ledger/index.js';
import { CliError } from './output.js';

export class NodeApi {
  readonly client: RoamClient;
  /** The node's chain id (from GET /ledger/status), asked once: every transaction names it. */
  private chainId: Promise<string> | undefined;

  /**
   * @param reader the wallet ledger reads are made as (signed in on first use): without one
   *   the node answers as to an anonymous visitor (status and block headers only)
   */
  constructor(
    readonly url: string,
    reader?: TxSigner,
  ) {
    this.client = new RoamClient(
      url,
      reader === undefined ? {} : { accessToken: renewingToken({ signIn: () => signIn({ baseUrl: url }, reader) }) },
    );
  }

  /**
   * Signs a transaction with `wallet`, submits it and waits until it is in a block.
   *
   * @throws RoamApiError when the node refuses it at admission (REPLAY, UNKNOWN_SIGNER, …) or
   *   cannot be reached; CliError with the ledger's result code when it was committed without effect
   */
  async submit<T extends TxType>(
    wallet: TxSigner,
    type: T,
    payload: TxPayloads[T],
  ): Promise<SubmitCommitted> {
    // A failed status call is not kept: the next submit asks again.
    this.chainId ??= this.client.status().then(
      (status) => status.chainId,
      (error: unknown) => {
        this.chainId = undefined;
        throw error;
      },
    );
    const chainId = await this.chainId;
    const committed = await this.client.submit(signedTx(wallet, type, payload, { chainId }), { wait: 'commit' });
    if (committed.code !== ResultCode.OK) {
      throw new CliError(
        committed.code,
        `${type} was committed without effect in block ${committed.height} (tx ${committed.id}): ${committed.message ?? committed.code}`,
      );
    }
    return committed;
  }

  status() {
    return this.client.status();
  }

  async orgs() {
    return (await this.client.orgs()).orgs;
  }

  consents(patientDid: string) {
    return this.client.consents(patientDid);
  }

  emergency(patientDid: string) {
    return this.client.emergency(patientDid);
  }

  replica(patientDid: string) {
    return this.client.replica(patientDid);
  }
}

/** The API of the node at `url`; ledger reads are made as `reader` when given (see NodeApi). */
export function connect(url: string, reader?: TxSigner): NodeApi {
  return new NodeApi(url, reader);
}
