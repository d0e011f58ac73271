/**
 * The requester side of the patient's whole record: the node a patient signed in at asks every
 * other custodian of the patient's records (found from the record anchors on the ledger) in
 * parallel, forwarding the patient's proof, and checks each record it gets against its anchor on
 * THIS node's ledger (live, same patient, custodian, type, version and content hash). What passes
 * is handed on still encrypted, for the patient's wallet to open: this node holds no key of
 * records other organizations keep for the patient and decrypts nothing. Custodians that do not
 * answer, refuse, send records that fail the check or more than one answer carries are named in
 * the gaps, so the patient sees what is missing.
 */
import type { StateReader } from '../../contracts/index.js';
import { RECORDS_GAP_CODES, type EncryptedRecordView, type RecordsGap } from '../../wire/index.js';
import { anchoredBlob, isWireRecord, matchingAnchor, prefetchAnchors } from './anchor-check.js';
import type { CustodianAnswer, RoamingClient } from './client.js';
import { CustodianDirectory } from './directory.js';
import { orReplica } from './replica-fallback.js';
import { REPLICA_PATIENT_PATH } from '../replica/wire.js';

export interface WholeRecordPort {
  readonly orgDid: string;
  readonly state: StateReader;
}

/** The other custodians' records of a patient, checked, and what is missing. */
export interface RemotePatientRecords {
  readonly records: readonly EncryptedRecordView[];
  readonly incomplete: readonly RecordsGap[];
}

/** Fetches a patient's records from their other custodians (see the module comment). */
export class WholeRecord {
  private readonly directory: CustodianDirectory;

  constructor(
    private readonly port: WholeRecordPort,
    private readonly client: Pick<RoamingClient, 'patientRecords' | 'send'>,
  ) {
    this.directory = new CustodianDirectory(port.state);
  }

  /**
   * The records every other custodian keeps of `patient`, asked with the patient's `proof` (made
   * for this node); custodians that did not answer in full are in `incomplete`.
   */
  async fetch(patient: string, proof: string): Promise<RemotePatientRecords> {
    const custodians = this.directory.custodiansOf(patient, this.port.orgDid);
    const parts = { state: this.port.state, orgDid: this.port.orgDid, client: this.client };
    // A custodian that does not answer is stood in for by the patient's replica (replica-fallback.ts).
    const answers = await Promise.all(
      custodians.map(async (c) => {
        const body = { patient, proof };
        return (await orReplica(parts, await this.client.patientRecords(c, body), { patient, replicaPath: REPLICA_PATIENT_PATH, body })).answer;
      }),
    );
    const records: EncryptedRecordView[] = [];
    const incomplete: RecordsGap[] = [];
    for (const answer of answers) {
      const gaps = this.collect(answer, patient, records);
      incomplete.push(...gaps.map((code) => ({ custodian: answer.custodian, code })));
    }
    return { records, incomplete };
  }

  /** Adds the checked records of `answer` to `out`; returns the gap codes of the custodian. */
  private collect(answer: CustodianAnswer, patient: string, out: EncryptedRecordView[]): string[] {
    switch (answer.kind) {
      case 'unreachable':
        return [RECORDS_GAP_CODES.CUSTODIAN_UNREACHABLE];
      case 'refused':
        return [answer.code];
      case 'ok':
        break;
    }
    const { custodian } = answer;
    const sent: unknown = answer.answer.custodian === custodian ? answer.answer.records : [];
    let rejected = 0;
    const list = Array.isArray(sent) ? (sent as unknown[]) : [];
    prefetchAnchors(this.port.state, list);
    for (const record of list) {
      const checked = this.check(record, patient, custodian);
      if (checked === undefined) rejected++;
      else out.push(checked);
    }
    const gaps: string[] = [];
    if (rejected > 0) gaps.push(RECORDS_GAP_CODES.RECORDS_NOT_ANCHORED);
    if (answer.answer.truncated === true) gaps.push(RECORDS_GAP_CODES.ANSWER_TRUNCATED);
    return gaps;
  }

  /** A custodian's record as the patient's wallet reads it, when it matches its anchor; else undefined. */
  private check(record: unknown, patient: string, custodian: string): EncryptedRecordView | undefined {
    if (!isWireRecord(record)) return undefined;
    const anchor = matchingAnchor(this.port.state, record, { patient, custodian });
    if (anchor === undefined) return undefined;
    const blob = anchoredBlob(record, anchor);
    if (blob === undefined) return undefined;
    // What the ledger says wins over what the custodian says (class, epoch, author, hash).
    return {
      recordId: anchor.id,
      resourceType: anchor.resourceType,
      version: anchor.latest.version,
      class: anchor.class,
      epoch: anchor.latest.epoch,
      contentHash: anchor.latest.contentHash,
      custodian,
      author: anchor.latest.author,
      createdAt: typeof record.lastUpdated === 'number' ? record.lastUpdated : anchor.latest.anchoredAt,
      blob: Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('base64url'),
      wrappedDek: { iv: record.wrappedDek.iv, ct: record.wrappedDek.ct },
    };
  }
}
