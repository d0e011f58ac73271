/**
 * Roaming of one node, wired: the verifier of signed node requests and the custodians that
 * answer them (served by `routes.ts`), the requester side the FHIR repository uses to read
 * records kept by other organizations (`RemoteRecords` over a `RoamingClient`), and the
 * patient's whole record (`WholeRecord`, with the patient's proofs) for `GET /vault/records`.
 */
import type { StateReader } from '../../contracts/index.js';
import type { FhirIndexStore } from '../../store/index.js';
import type { Vault } from '../../vault/index.js';
import type { AuditTrail } from '../fhir/audit.js';
import type { PeerHttpClient } from '../network/peer-http.js';
import { RoamingClient } from './client.js';
import { Custodian } from './custodian.js';
import { PatientRecordsCustodian } from './patient-custodian.js';
import { PatientProofVerifier } from './patient-proof.js';
import { RemoteRecords } from './remote-records.js';
import { NodeRequestVerifier } from './verify.js';
import { WholeRecord } from './whole-record.js';

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
  /** This node's DID (the `node` a patient proof presented here must name). */
  readonly nodeDid: string;
  /** The node's ledger state. */
  readonly state: StateReader;
  readonly verifier: NodeRequestVerifier;
  readonly custodian: Custodian;
  readonly remote: RemoteRecords;
  /** Patient proofs, checked for `GET /vault/records` and for other nodes' patient-records requests. */
  readonly patientProofs: PatientProofVerifier;
  /** Answers other nodes' requests made on a patient's behalf (`POST /node/v1/records/patient`). */
  readonly patientCustodian: PatientRecordsCustodian;
  /** Fetches a signed-in patient's records from their other custodians. */
  readonly wholeRecord: WholeRecord;

  constructor(port: RoamingPort, options: RoamingOptions = {}) {
    this.nodeDid = port.did;
    this.state = port.state;
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
    this.patientProofs = new PatientProofVerifier(port.state);
    this.patientCustodian = new PatientRecordsCustodian(port, this.patientProofs);
    this.wholeRecord = new WholeRecord({ orgDid: port.orgDid, state: port.state }, client);
  }
}
