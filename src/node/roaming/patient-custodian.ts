/**
 * The custodian side of the patient's whole record: answers a verified node's request made on a
 * patient's behalf (`POST /node/v1/records/patient`) with ALL of that patient's live records this
 * node keeps, as ciphertexts with their wrapped data keys, once the patient's proof holds on THIS
 * node's ledger (`patient-proof.ts`: the patient's current key, active, made for the requesting
 * node, fresh, unused). No grant is involved: the patient reaches their own records (the node's
 * access policy, as for the patient's own token), and only the patient's wallet opens them.
 * Capped at MAX_RECORDS_PER_ANSWER (`truncated`). Every answer is audited as a read by the
 * patient via the requesting node; every refusal once, as the requesting node's attempt.
 */
import type { StateReader } from '../../contracts/index.js';
import type { SensitivityClass } from '../../ledger/types.js';
import type { FhirIndexStore } from '../../store/index.js';
import type { Vault } from '../../vault/index.js';
import { AccessPolicy } from '../fhir/access.js';
import type { AuditTrail } from '../fhir/audit.js';
import { DEFAULT_PURPOSE } from '../fhir/request.js';
import type { PatientProofVerifier } from './patient-proof.js';
import type { PatientRecordsRequest } from './patient-records-wire.js';
import type { CustodianRecords } from './custodian.js';
import type { VerifiedNode } from './verify.js';
import { MAX_RECORDS_PER_ANSWER, type RecordQueryAnswer, type WireRecord } from './wire.js';
import { ownRecordsReader } from './own-reader.js';

/** What the patient-records custodian needs of its node. */
export interface PatientCustodianPort {
  readonly orgDid: string;
  readonly state: StateReader;
  readonly index: FhirIndexStore;
  readonly vault: Vault;
  readonly audit: AuditTrail;
  /** ms since the epoch (default Date.now). */
  readonly now?: () => number;
}

/** Answers node requests made on a patient's behalf (see the module comment). */
export class PatientRecordsCustodian {
  private readonly access: AccessPolicy;

  constructor(
    private readonly port: PatientCustodianPort,
    private readonly proofs: PatientProofVerifier,
  ) {
    this.access = new AccessPolicy({ orgDid: port.orgDid, state: port.state }, port.now ?? Date.now);
  }

  /**
   * Every live record of the request's patient kept here, when the proof holds.
   *
   * @throws HttpError PATIENT_PROOF_* (403), audited once, nothing answered
   */
  async answer(
    requester: VerifiedNode,
    request: PatientRecordsRequest,
    /** Where the records come from instead of this node's index and vault (a replica's held copies). */
    source?: CustodianRecords,
  ): Promise<RecordQueryAnswer> {
    const { patient } = request;
    try {
      await this.proofs.verify(request.proof, { patient, node: requester.did });
    } catch (error) {
      // The attempt is the requesting node's own: nothing shows the patient asked.
      this.audit(patient, requester, 'denied', requester.did);
      throw error;
    }
    const reach = this.access.reachOf(
      { did: patient, kind: 'patient', roles: [], org: null },
      DEFAULT_PURPOSE,
    );
    const selected =
      source === undefined
        ? this.port.index.resourcesOfPatient(patient)
        : source.select({ patient, onBehalfOf: patient, purpose: DEFAULT_PURPOSE, query: { kind: 'everything' } });
    const rows = selected.filter((row) => reach.mayRead(patient, row.type, row.class as SensitivityClass));
    const read = source === undefined ? ownRecordsReader(this.port, rows) : source.reader(rows);
    const records: WireRecord[] = [];
    let truncated = false;
    for (const row of rows) {
      if (records.length >= MAX_RECORDS_PER_ANSWER) {
        truncated = true;
        break;
      }
      const record = read(row);
      if (record !== undefined) records.push(record);
    }
    this.audit(patient, requester, 'success', patient);
    return { custodian: source?.custodian ?? this.port.orgDid, records, truncated };
  }

  private audit(
    patient: string,
    requester: VerifiedNode,
    outcome: 'success' | 'denied',
    actor: string,
  ): void {
    this.port.audit.record([
      { actor, patient, action: 'search', outcome, via: requester.did, resourceType: 'Patient' },
    ]);
  }
}
