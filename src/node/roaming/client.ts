/**
 * The requester side of the custodian endpoints: one signed `POST /node/v1/records/query` (or
 * `/node/v1/records/patient`, on a patient's behalf) to a custodian organization's node (found on
 * the ledger), addressed to that node's DID, through the node's peer HTTP client (network CA, no redirects, answer capped while it streams, timeout). A
 * node of the organization that cannot be reached is skipped for the next one; the answer is
 * typed as ok, refused (the custodian's error code) or unreachable.
 */
import type { StateReader } from '../../contracts/index.js';
import type { PeerHttpClient, PeerRequest, PeerResponse } from '../network/peer-http.js';
import { nodesOfOrg } from './directory.js';
import { PATIENT_RECORDS_PATH, type PatientRecordsRequest } from './patient-records-wire.js';
import { signNodeRequest } from './signing.js';
import { RECORDS_QUERY_PATH, type RecordQueryAnswer, type RecordQueryRequest } from './wire.js';

/** How long a custodian has to answer. */
export const CUSTODIAN_TIMEOUT_MS = 5_000;
/** Largest answer taken from a custodian (MAX_RECORDS_PER_ANSWER records of a few KiB each fit). */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** What one custodian answered. */
export type CustodianAnswer<A = RecordQueryAnswer> =
  | { readonly kind: 'ok'; readonly custodian: string; readonly answer: A }
  | {
      readonly kind: 'refused';
      readonly custodian: string;
      readonly status: number;
      readonly code: string;
      readonly message: string;
    }
  | { readonly kind: 'unreachable'; readonly custodian: string; readonly message: string };

export interface RoamingClientOptions {
  /** This node's DID and Ed25519 secret key (signs the requests). */
  readonly nodeDid: string;
  readonly secretKey: Uint8Array;
  readonly state: StateReader;
  readonly timeoutMs?: number;
  /** The node's peer HTTP client (tests wrap it to tamper with answers). */
  readonly http: Pick<PeerHttpClient, 'request'>;
}

/** Sends signed queries to custodians. */
export class RoamingClient {
  private readonly timeoutMs: number;

  constructor(private readonly options: RoamingClientOptions) {
    this.timeoutMs = options.timeoutMs ?? CUSTODIAN_TIMEOUT_MS;
  }

  /** Asks `custodian` (an organization DID) through its nodes on the ledger, in order. */
  query(custodian: string, request: RecordQueryRequest): Promise<CustodianAnswer> {
    return this.send(custodian, RECORDS_QUERY_PATH, request);
  }

  /** Asks `custodian` for all of a patient's records, on the patient's behalf (the patient's proof). */
  patientRecords(custodian: string, request: PatientRecordsRequest): Promise<CustodianAnswer> {
    return this.send(custodian, PATIENT_RECORDS_PATH, request);
  }

  /**
   * One signed POST of `request` to `path` at the first node of organization `custodian` that
   * answers (also the replica's shipments and queries, `src/node/replica`). The 2xx body is
   * typed `A` unchecked: the caller checks it.
   */
  async send<A = RecordQueryAnswer>(custodian: string, path: string, request: unknown): Promise<CustodianAnswer<A>> {
    const nodes = nodesOfOrg(this.options.state, custodian);
    if (nodes.length === 0)
      return { kind: 'unreachable', custodian, message: 'no active node with a URL on the ledger' };
    const body = JSON.stringify(request);
    let last = '';
    for (const node of nodes) {
      const headers = signNodeRequest({
        method: 'POST',
        path,
        body,
        node: this.options.nodeDid,
        secretKey: this.options.secretKey,
        audience: node.did,
      });
      const call: PeerRequest = {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
        timeoutMs: this.timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
      };
      let response: PeerResponse;
      try {
        response = await this.options.http.request(`${node.url}${path}`, call);
      } catch (error) {
        last = `${node.url}: ${describe(error)}`;
        continue;
      }
      let json: unknown;
      try {
        json = JSON.parse(response.text());
      } catch {
        last = `${node.url}: answered ${response.status} with a body that is not JSON`;
        continue;
      }
      if (response.status >= 200 && response.status < 300) return { kind: 'ok', custodian, answer: json as A };
      const error = (json as { error?: { code?: unknown; message?: unknown } }).error;
      if (response.status >= 500 || typeof error?.code !== 'string') {
        last = `${node.url}: answered ${response.status}`;
        continue;
      }
      return {
        kind: 'refused',
        custodian,
        status: response.status,
        code: error.code,
        message: typeof error.message === 'string' ? error.message.slice(0, 300) : '',
      };
    }
    return { kind: 'unreachable', custodian, message: last };
  }
}

/** A failed call in a line for the requester's warning (the peer client's code and message). */
function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code}: ` : ''}${error.message.slice(0, 200)}`;
  }
  return 'failed';
}
