/**
 * The requester side of roaming, as the encrypted repository uses it (`RemoteRecordSource`):
 * asks every other custodian of the patient's records in parallel (one request each), checks each
 * record it gets against the ledger anchor on THIS node's ledger (live, same patient, custodian,
 * type, version and content hash), and hands it on to be decrypted, when a page shows it, with
 * the record keys the node's organization holds. Records that fail a check are left out and
 * counted in a warning; custodians that do not answer or refuse become warnings too, so a Bundle
 * still answers with what was reached.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { StateReader } from '../../contracts/index.js';
import { incompletePage, type StoredResource } from '../../fhir/index.js';
import { StateKey, type OrgRecord } from '../../ledger/index.js';
import { VaultError, VaultErrorCode, decryptRecord } from '../../vault/index.js';
import type {
  RemoteFailure,
  RemoteRecordSource,
  RemoteRequest,
  RemoteResource,
  RemoteResult,
} from '../fhir/remote.js';
import { anchoredBlob, isWireRecord, matchingAnchor, prefetchAnchors } from './anchor-check.js';
import type { CustodianAnswer, RoamingClient } from './client.js';
import { CustodianDirectory } from './directory.js';
import { orReplica, type ServedByReplica } from './replica-fallback.js';
import { REPLICA_QUERY_PATH } from '../replica/wire.js';
import type { RecordQueryRequest } from './wire.js';

export interface RemoteRecordsPort {
  readonly orgDid: string;
  readonly state: StateReader;
}

/** Fetches a patient's records from their other custodians (see the module comment). */
export class RemoteRecords implements RemoteRecordSource {
  /** How many remote record versions this node decrypted (a measure for tests and benchmarks). */
  decryptions = 0;
  private readonly directory: CustodianDirectory;

  constructor(
    private readonly port: RemoteRecordsPort,
    private readonly client: RoamingClient,
  ) {
    this.directory = new CustodianDirectory(port.state);
  }

  custodiansOf(patient: string): string[] {
    return this.directory.custodiansOf(patient, this.port.orgDid);
  }

  async fetch(request: RemoteRequest, keys: ReadonlyMap<string, Uint8Array>): Promise<RemoteResult> {
    const custodians = request.custodians ?? this.custodiansOf(request.patient);
    const body = {
      patient: request.patient,
      onBehalfOf: request.onBehalfOf,
      purpose: request.purpose,
      query: request.query,
      ...(request.emergency === undefined ? {} : { emergency: request.emergency }),
    };
    const answers = await Promise.all(custodians.map((c) => this.answerOf(c, body)));
    const resources: RemoteResource[] = [];
    const failures: RemoteFailure[] = [];
    const outcomes: OperationOutcome[] = [];
    for (const { answer, servedBy } of answers) {
      if (servedBy !== undefined) outcomes.push(servedByReplica(this.describe(answer.custodian), servedBy.replica, servedBy.reason));
      const failure = failureOf(answer);
      if (failure !== undefined) {
        failures.push(failure);
        outcomes.push(incompletePage(`${this.describe(answer.custodian)} ${failure.message}`));
        continue;
      }
      if (answer.kind !== 'ok') continue;
      let rejected = 0;
      const records: unknown = answer.answer.custodian === answer.custodian ? answer.answer.records : [];
      const sent = Array.isArray(records) ? (records as unknown[]) : [];
      prefetchAnchors(this.port.state, sent);
      for (const record of sent) {
        const opened = this.check(record, request.patient, answer.custodian, keys);
        if (opened === 'rejected') rejected++;
        else if (opened !== undefined) resources.push(opened);
      }
      if (rejected > 0) {
        outcomes.push(
          incompletePage(
            `${this.describe(answer.custodian)} sent ${rejected} record(s) that do not match their ledger anchor (written meanwhile, not yet anchored here, or altered); they are left out`,
          ),
        );
      }
      if (answer.answer.truncated === true) {
        outcomes.push(
          incompletePage(
            `${this.describe(answer.custodian)} holds more matching records than one answer carries`,
          ),
        );
      }
    }
    return { resources, failures, outcomes };
  }

  /**
   * The answer of `custodian`; when it does not answer (down, timeout, 5xx), the answer of the
   * patient's replica in effect on this node's ledger, in the custodian's name (its records are
   * then checked against the custodian's anchors as any answer of it).
   */
  private async answerOf(
    custodian: string,
    body: RecordQueryRequest,
  ): Promise<{ answer: CustodianAnswer; servedBy?: ServedByReplica }> {
    const parts = { state: this.port.state, orgDid: this.port.orgDid, client: this.client };
    return orReplica(parts, await this.client.query(custodian, body), { patient: body.patient, replicaPath: REPLICA_QUERY_PATH, body });
  }

  /**
   * A record checked against its anchor (and its blob against the anchored hash), to be
   * decrypted when opened; undefined when this node holds no key for its class and epoch;
   * 'rejected' when it does not match the ledger.
   */
  private check(
    record: unknown,
    patient: string,
    custodian: string,
    keys: ReadonlyMap<string, Uint8Array>,
  ): RemoteResource | 'rejected' | undefined {
    if (!isWireRecord(record)) return 'rejected';
    const anchor = matchingAnchor(this.port.state, record, { patient, custodian });
    if (anchor === undefined) return 'rejected';
    const kek = keys.get(`${anchor.class}|${anchor.latest.epoch}`);
    if (kek === undefined) return undefined;
    const blob = anchoredBlob(record, anchor);
    if (blob === undefined) return 'rejected';
    const { wrappedDek } = record;
    return {
      id: anchor.id,
      type: anchor.resourceType,
      patient,
      custodian,
      class: anchor.class,
      lastUpdated: typeof record.lastUpdated === 'number' ? record.lastUpdated : 0,
      date: typeof record.date === 'number' ? record.date : null,
      open: () => {
        this.decryptions++;
        const resource = decryptRecord({
          recordId: anchor.id,
          version: anchor.latest.version,
          patient,
          class: anchor.class,
          epoch: anchor.latest.epoch,
          blob,
          wrappedDek,
          kek,
          // No expectedContentHash: `blob` is this node's own copy, hashed against the anchor
          // when it arrived (anchoredBlob); hashing it again here cost as much as the decryption.
        }) as unknown as StoredResource;
        if (resource.resourceType !== anchor.resourceType || resource.id !== anchor.id) {
          throw new VaultError(
            VaultErrorCode.RECORD_MISMATCH,
            `record ${anchor.id} decrypts to another resource than its anchor names`,
          );
        }
        return resource;
      },
    };
  }

  /** "custodian <name> (<did>, region <region>)" from the ledger. */
  private describe(custodian: string): string {
    const org = this.port.state.get<OrgRecord>(StateKey.org(custodian));
    return org === undefined
      ? `custodian ${custodian}`
      : `custodian ${org.name} (${custodian}, region ${org.region})`;
  }
}

/** The Bundle's note that a custodian did not answer and its replica served its records. */
function servedByReplica(custodian: string, replica: string, reason: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'information',
        code: 'informational',
        details: {
          text: `${custodian} did not answer (${reason}); the patient's replica ${replica} served its records`,
        },
      },
    ],
  };
}

function failureOf(answer: CustodianAnswer): RemoteFailure | undefined {
  switch (answer.kind) {
    case 'ok':
      return undefined;
    case 'unreachable':
      return {
        custodian: answer.custodian,
        kind: 'unreachable',
        message: `was not reached (${answer.message}); its records are missing from this answer`,
      };
    case 'refused':
      return {
        custodian: answer.custodian,
        kind: 'refused',
        code: answer.code,
        message: `refused the request: ${answer.code}: ${answer.message}`,
      };
  }
}
