/**
 * The replica answering for a custodian that does not (`POST /node/v1/replica/query`): a roaming
 * query for the records of `custodian` C, sent to the patient's replica R when C did not answer.
 * R serves only while it is, on ITS OWN ledger, the patient's replica in effect (else 403
 * REPLICA_NOT_IN_EFFECT, audited); then it decides and audits exactly as any custodian does
 * (`Custodian.answer`: the requester's grants on R's ledger, the practitioner check, break-glass),
 * answering the copies it holds of C's records (its replica store), in C's name: the requester
 * checks them against C's anchors on its own ledger as it would C's answer.
 *
 * The patient-records request (`/node/v1/replica/patient`) is served the same way, by
 * `PatientRecordsCustodian.answer` with the patient's proof checked on R's ledger.
 *
 * A search is answered with every held record of the type (R keeps no search index of another
 * custodian's records): the requester matches each record's plaintext against the search again.
 */
import type { RecordEntry, StateReader } from '../../contracts/index.js';
import { replicaInEffect } from '../../contracts/index.js';
import { StateKey } from '../../ledger/index.js';
import type { FhirResourceRow, ReplicaStore, ReplicaVersionRow } from '../../store/index.js';
import type { AuditTrail } from '../fhir/audit.js';
import { HttpError } from '../http/errors.js';
import type { Custodian, CustodianRecords } from '../roaming/custodian.js';
import type { VerifiedNode } from '../roaming/verify.js';
import type { RecordQueryAnswer, RecordQueryRequest, WireRecord } from '../roaming/wire.js';
import type { PatientRecordsCustodian } from '../roaming/patient-custodian.js';
import { shippedOf } from './receiver.js';
import type { ReplicaPatientRequest, ReplicaQueryRequest } from './wire.js';

export interface ReplicaServerPort {
  readonly orgDid: string;
  readonly state: StateReader;
  readonly replicas: ReplicaStore;
  readonly custodian: Custodian;
  readonly patientCustodian: PatientRecordsCustodian;
  readonly audit: AuditTrail;
  /** ms since the epoch (default Date.now). */
  readonly now?: () => number;
}

/** Answers replica queries (see the module comment). */
export class ReplicaServer {
  private readonly now: () => number;

  constructor(private readonly port: ReplicaServerPort) {
    this.now = port.now ?? Date.now;
  }

  /**
   * @throws HttpError REPLICA_NOT_IN_EFFECT (403), and every code of `Custodian.answer`
   */
  answer(requester: VerifiedNode, request: ReplicaQueryRequest): RecordQueryAnswer {
    const { custodian, ...query } = request;
    const resourceType = query.query.kind === 'everything' ? 'Patient' : query.query.type;
    this.requireInEffect(requester, request, query.query.kind === 'read' ? 'read' : 'search', resourceType);
    return this.port.custodian.answer(requester, query, this.recordsOf(custodian));
  }

  /**
   * The patient-records request (with the patient's proof) for the held copies of `custodian`'s
   * records: the proof is checked on this node's ledger as any custodian checks it.
   *
   * @throws HttpError REPLICA_NOT_IN_EFFECT (403), and every code of `PatientRecordsCustodian.answer`
   */
  answerPatient(requester: VerifiedNode, request: ReplicaPatientRequest): Promise<RecordQueryAnswer> {
    const { custodian, ...rest } = request;
    this.requireInEffect(requester, request, 'search', 'Patient');
    return this.port.patientCustodian.answer(requester, rest, this.recordsOf(custodian));
  }

  /** Refuses (audited) unless this node's organization is the patient's replica in effect, for another custodian. */
  private requireInEffect(
    requester: VerifiedNode,
    request: { readonly patient: string; readonly custodian: string },
    action: 'read' | 'search',
    resourceType: string,
  ): void {
    const { orgDid, state } = this.port;
    if (request.custodian !== orgDid && replicaInEffect(state, request.patient, this.now()) === orgDid) return;
    this.port.audit.record([
      // The requesting node's own attempt: it asked an organization that holds nothing for it.
      { actor: requester.did, patient: request.patient, action, outcome: 'denied', via: requester.did, resourceType },
    ]);
    throw new HttpError('REPLICA_NOT_IN_EFFECT', `this organization is not the replica of ${request.patient} here`);
  }

  /** The copies held of `custodian`'s records, as a custodian's record source. */
  private recordsOf(custodian: string): CustodianRecords {
    const { replicas, state } = this.port;
    const held = new Map<string, ReplicaVersionRow>();
    const rowsOf = (versions: readonly ReplicaVersionRow[]): FhirResourceRow[] =>
      versions.map((v) => {
        held.set(v.recordId, v);
        return toIndexRow(v);
      });
    return {
      custodian,
      select: (request: RecordQueryRequest) => {
        const { patient, query } = request;
        switch (query.kind) {
          case 'read': {
            if (state.get<RecordEntry>(StateKey.record(query.id))?.status === 'erased')
              throw new HttpError('RECORD_ERASED', `${query.type}/${query.id} is erased`);
            const version = replicas.get(query.id);
            return version !== undefined && version.patient === patient && version.custodian === custodian && version.resourceType === query.type
              ? rowsOf([version])
              : [];
          }
          case 'everything':
            return rowsOf(replicas.ofPatient(patient, custodian));
          case 'search':
            return rowsOf(replicas.ofPatient(patient, custodian, query.type));
        }
      },
      reader: () => (row) => {
        const version = held.get(row.recordId);
        return version === undefined ? undefined : toWire(version);
      },
    };
  }
}

function toIndexRow(v: ReplicaVersionRow): FhirResourceRow {
  return {
    recordId: v.recordId,
    type: v.resourceType,
    version: v.version,
    patient: v.patient,
    lastUpdated: v.lastUpdated,
    class: v.class,
    epoch: v.epoch,
  };
}

function toWire(v: ReplicaVersionRow): WireRecord {
  // The version as its custodian shipped it, without the two names the anchor holds already.
  const { id, type, version, lastUpdated, date, class: cls, epoch, contentHash, ciphertext, wrappedDek } = shippedOf(v);
  return { id, type, version, lastUpdated, date, class: cls, epoch, contentHash, ciphertext, wrappedDek };
}
