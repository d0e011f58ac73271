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
import type { RecordEntry, StateReader } from '../../contracts/index.js';
import { incompletePage, type Sortable, type StoredResource } from '../../fhir/index.js';
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
import type { RecordQueryRequest, WireRecord } from './wire.js';
import { cutToPage, earlierFrontier, pageSortable, sortSpecOf, type RemotePage } from '../fhir/remote-page.js';

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
    const answers = await Promise.all(
      custodians.map((c) =>
        this.disclosesToOther(body.query, c)
          ? this.answerOf(c, { ...body, query: withoutPage(body.query) }).then((a) => ({ ...a, unpaged: true as const }))
          : this.answerOf(c, body),
      ),
    );
    const resources: RemoteResource[] = [];
    const failures: RemoteFailure[] = [];
    const outcomes: OperationOutcome[] = [];
    let frontier: Sortable | undefined;
    let total = 0;
    for (const { answer, servedBy, unpaged } of answers) {
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
      const received = Array.isArray(records) ? (records as unknown[]) : [];
      // Malformed records and repeats of a record are left out (a repeat would show it twice).
      let sent = distinctWireRecords(received);
      rejected += received.length - sent.length;
      const page = unpaged === true ? undefined : pagedQuery(request.query);
      if (page !== undefined) {
        // The custodian's cut is not trusted: cut again by the claimed keys (checked on opening).
        const cut = cutToPage(sent, page.page, (record) => pageSortable(page.kind, sortSpecOf(page.page.sort), claimedKeys(record)));
        sent = cut.records;
        frontier = earlierFrontier(frontier, cut.frontier, sortSpecOf(page.page.sort));
        const claimed = answer.answer.total;
        total += Math.max(cut.records.length, typeof claimed === 'number' && Number.isSafeInteger(claimed) ? claimed : 0);
      }
      prefetchAnchors(this.port.state, sent);
      for (const record of sent) {
        const opened = this.check(record, request.patient, answer.custodian, keys);
        if (opened === 'rejected') rejected++;
        else if (opened !== undefined) resources.push(opened);
      }
      if (page === undefined) total += sent.length;
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
    if (pagedQuery(request.query) === undefined) return { resources, failures, outcomes };
    return { resources, failures, outcomes, total, ...(frontier === undefined ? {} : { frontier }) };
  }

  /**
   * The answer of `custodian`; when it does not answer (down, timeout, 5xx), the answer of the
   * patient's replica in effect on this node's ledger, in the custodian's name (its records are
   * then checked against the custodian's anchors as any answer of it).
   */
  private async answerOf(
    custodian: string,
    body: RecordQueryRequest,
  ): Promise<{ answer: CustodianAnswer; servedBy?: ServedByReplica; unpaged?: true }> {
    const parts = { state: this.port.state, orgDid: this.port.orgDid, client: this.client };
    const first = await orReplica(parts, await this.client.query(custodian, body), { patient: body.patient, replicaPath: REPLICA_QUERY_PATH, body });
    if (!refusedThePage(first.answer, body)) return first;
    // A custodian (or replica) of a version without paged queries refuses the `page` member: ask
    // it for all matches, as before; the page is then cut here from the full answer.
    const unpagedBody = { ...body, query: withoutPage(body.query) };
    const again = await orReplica(parts, await this.client.query(custodian, unpagedBody), { patient: body.patient, replicaPath: REPLICA_QUERY_PATH, body: unpagedBody });
    return { ...again, unpaged: true };
  }

  /**
   * Whether a paged query's cursor would tell `custodian` what it may not know: under `date` the
   * cursor carries the clinical date of the page's last item, which may be a record another
   * organization keeps (this node's own, say) of a class `custodian`'s grant does not cover. Such
   * a custodian is asked for all matches instead (the cost before paging). Under `_lastUpdated`
   * the key is the write time, which every member already sees as the anchor's `anchoredAt`.
   */
  private disclosesToOther(query: RecordQueryRequest['query'], custodian: string): boolean {
    const page = pagedQuery(query)?.page;
    if (page?.after === undefined || sortSpecOf(page.sort).param !== 'date') return false;
    return this.port.state.get<RecordEntry>(StateKey.record(page.after.id))?.custodian !== custodian;
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

/** The kind and page of a paged query (undefined: the query asks for all matches). */
function pagedQuery(query: RemoteRequest['query']): { kind: 'everything' | 'search'; page: RemotePage } | undefined {
  return query.kind === 'read' || query.page === undefined ? undefined : { kind: query.kind, page: query.page };
}

/** The well-formed records of an answer, each record id once (its first occurrence). */
function distinctWireRecords(records: readonly unknown[]): WireRecord[] {
  const ids = new Set<string>();
  return records.filter((record): record is WireRecord => {
    if (!isWireRecord(record) || ids.has(record.id)) return false;
    ids.add(record.id);
    return true;
  });
}

/** The sort metadata a custodian claims for a record (checked against the plaintext when opened). */
function claimedKeys(record: WireRecord): { id: string; type: string; lastUpdated: number; date: number | null } {
  return {
    id: record.id,
    type: record.type,
    lastUpdated: typeof record.lastUpdated === 'number' ? record.lastUpdated : 0,
    date: typeof record.date === 'number' ? record.date : null,
  };
}

/** `query` asking for all its matches. */
function withoutPage(query: RecordQueryRequest['query']): RecordQueryRequest['query'] {
  if (query.kind === 'read') return query;
  if (query.kind === 'everything') return { kind: 'everything' };
  return { kind: 'search', type: query.type, params: query.params };
}

/** Whether a custodian refused a paged query for its `page` member (a version before paging). */
function refusedThePage(answer: CustodianAnswer, body: RecordQueryRequest): boolean {
  return (
    answer.kind === 'refused' &&
    answer.code === 'VALIDATION_FAILED' &&
    pagedQuery(body.query) !== undefined &&
    /\bpage\b/.test(answer.message)
  );
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
