/**
 * Roaming of one node, wired: the verifier of signed node requests and the custodian that
 * answers them (served by `routes.ts`), and the requester side the FHIR repository uses to read
 * records kept by other organizations (`RemoteRecords` over a `RoamingClient`).
 */
import type { StateReader } from '../../contracts/index.js';
import type { FhirIndexStore } from '../../store/index.js';
import type { Vault } from '../../vault/index.js';
import type { AuditTrail } from '../fhir/audit.js';
import type { PeerHttpClient } from '../network/peer-http.js';
import { RoamingClient } from './client.js';
import { Custodian } from './custodian.js';
import { RemoteRecords } from './remote-records.js';
import { NodeRequestVerifier } from './verify.js';

/** What roaming needs of its node. */
export interface RoamingPort {
  readonly did: string;
  readonly orgDid: string;
  readonly nodeSecretKey: Uint8Array;
  readonly state: StateReader;
  /** The node's client for node-to-node calls (network CA, address rules). */
  readonly peerHttp: PeerHttpClient;
  readonly index: FhirIndexStore;
  readonly vault: Vault;
  readonly audit: AuditTrail;
  searchToken(type: string, param: string, value: string): string;
}

export interface RoamingOptions {
  /** Timeout of each custodian request (default CUSTODIAN_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

/** The roaming parts of one node. */
export class Roaming {
  readonly verifier: NodeRequestVerifier;
  readonly custodian: Custodian;
  readonly remote: RemoteRecords;

  constructor(port: RoamingPort, options: RoamingOptions = {}) {
    this.verifier = new NodeRequestVerifier(port.state, { audience: port.did });
    this.custodian = new Custodian(port);
    const client = new RoamingClient({
      nodeDid: port.did,
      secretKey: port.nodeSecretKey,
      state: port.state,
      http: port.peerHttp,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    this.remote = new RemoteRecords({ orgDid: port.orgDid, state: port.state }, client);
  }
}
