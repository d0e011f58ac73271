/**
 * The custodian side of roaming: answers a verified node's query for a patient's records with
 * ciphertexts, after deciding on THIS node's ledger state that
 * - the request is made for the patient itself, or for an active practitioner of the requesting
 *   node's organization (else NOT_PRACTITIONER), and
 * - that organization holds an active, unexpired grant of the patient covering each record's
 *   resource type and sensitivity class for reading (the node's access policy,
 *   `AccessPolicy.reachOfOrganization`, which is the ledger's `findCoveringGrant`); records not covered
 *   are left out, and when nothing the query names is covered the request is refused with the
 *   grant's code (NO_GRANT, GRANT_REVOKED, GRANT_EXPIRED, SCOPE_NOT_COVERED).
 * The search runs on this node's own index (keyed tokens, date rows). Nothing is decrypted for
 * the requester: it gets the blob and the wrapped data key, which only the patient's record keys
 * (sealed to the requester's organization in the grant) open. Every answer, and every refusal,
 * is written to the audit outbox (actor: the practitioner; via: the requesting node; the grant).
 *
 * A query under break-glass (`emergency: <id>`) is decided by that access instead of the grants,
 * on THIS node's ledger and clock: it must be active, of the requesting node's organization, made
 * for its requester and of its patient (else EMERGENCY_NOT_ACTIVE, audited once); then only
 * records of the emergency resource types and the access's classes are served, read only, and
 * the audit entry carries purpose `emergency` and the access id.
 */
import { isActivePractitionerOf, isEmergencyActive, type StateReader } from '../../contracts/index.js';
import {
  FhirError,
  SUPPORTED_TYPES,
  dateConditionHolds,
  outcomeText,
  parseSearch,
  type SearchFilter,
  type SupportedType,
} from '../../fhir/index.js';
import { StateKey } from '../../ledger/index.js';
import type { PartyRecord, SensitivityClass } from '../../ledger/types.js';
import type { FhirIndexStore, FhirResourceRow } from '../../store/index.js';
import type { Vault } from '../../vault/index.js';
import { emergencyAccessOf } from '../emergency/access-record.js';
import { AccessPolicy, type Reach } from '../fhir/access.js';
import { EMERGENCY_PURPOSE } from '../fhir/request.js';
import { cutToPage, pageSortable, sortSpecOf, type RemotePage } from '../fhir/remote-page.js';
import type { AuditEvent, AuditTrail } from '../fhir/audit.js';
import { HttpError, type HttpErrorCode } from '../http/errors.js';
import type { VerifiedNode } from './verify.js';
import { ownRecordsReader } from './own-reader.js';
import {
  MAX_RECORDS_PER_ANSWER,
  type RecordQueryAnswer,
  type RecordQueryRequest,
  type WireRecord,
} from './wire.js';

/** What the custodian needs of its node. */
export interface CustodianPort {
  readonly orgDid: string;
  readonly state: StateReader;
  readonly index: FhirIndexStore;
  readonly vault: Vault;
  readonly audit: AuditTrail;
  /** The keyed index token of a search value (the repository's `searchToken`). */
  searchToken(type: string, param: string, value: string): string;
  /** ms since the epoch (default Date.now). */
  readonly now?: () => number;
}

/**
 * The records a custodian answers from: by default its own vault and index; a replica answers
 * from the copies it holds of another custodian's records (`src/node/replica`). The access
 * decision and the audit are the same for both.
 */
export interface CustodianRecords {
  /** The organization the answer is given for: the records' custodian on the ledger. */
  readonly custodian: string;
  /** The index rows of the patient's records the query names (a search may answer a superset: the requester matches the plaintext again). */
  select(request: RecordQueryRequest): FhirResourceRow[];
  /**
   * A reader of the wire form of each of `rows` (undefined when a record is gone meanwhile:
   * erased); made once per answer so that a source can look up all rows' dates at once.
   */
  reader(rows: readonly FhirResourceRow[]): (row: FhirResourceRow) => WireRecord | undefined;
  /**
   * The `date` start of each of `rows` (absent: none), to place them in a `date`-sorted page
   * without reading their ciphertexts; a source without it is read in full for such a page.
   */
  dateStarts?(rows: readonly FhirResourceRow[]): ReadonlyMap<string, number>;
}

/** Grant codes a refusal may carry (registered HTTP codes of the same meaning). */
const GRANT_CODES = new Set<string>(['NO_GRANT', 'GRANT_REVOKED', 'GRANT_EXPIRED', 'SCOPE_NOT_COVERED']);

/** A date filter of a search. */
type DateFilter = Extract<SearchFilter, { kind: 'date' }>;

/** Answers node queries from this node's vault and index (see the module comment). */
export class Custodian {
  /** The one access policy of the node: what a requesting organization's grants cover. */
  private readonly access: AccessPolicy;
  private readonly now: () => number;
  /** This node's own records (vault and index). */
  private readonly own: CustodianRecords;
  constructor(private readonly port: CustodianPort) {
    this.now = port.now ?? Date.now;
    this.access = new AccessPolicy({ orgDid: port.orgDid, state: port.state }, this.now);
    this.own = {
      custodian: port.orgDid,
      select: (request) => this.select(request),
      reader: (rows) => ownRecordsReader(port, rows),
      dateStarts: (rows) => {
        const dates = port.index.datesOf(
          rows.map((r) => r.recordId),
          ['date'],
        );
        const starts = new Map<string, number>();
        for (const [id, entries] of dates) {
          const start = entries.find((d) => d.param === 'date')?.start;
          if (start !== undefined) starts.set(id, start);
        }
        return starts;
      },
    };
  }

  /**
   * The reach of a query: the grants of the requesting organization, or the break-glass access
   * the query names when it is active here for that organization, practitioner and patient.
   */
  private reachOf(requester: VerifiedNode, request: RecordQueryRequest, denied: () => void): Reach {
    if (request.emergency === undefined) return this.access.reachOfOrganization(requester.org, request.purpose);
    const access = emergencyAccessOf(this.port.state, request.emergency);
    if (
      access === undefined ||
      access.id !== request.emergency ||
      access.org !== requester.org ||
      access.requester !== request.onBehalfOf ||
      access.patient !== request.patient ||
      !isEmergencyActive(access, this.now())
    ) {
      denied();
      throw new HttpError(
        'EMERGENCY_NOT_ACTIVE',
        `no active emergency access ${request.emergency} of ${request.onBehalfOf} to this patient here`,
      );
    }
    return this.access.reachOfEmergency(access);
  }

  /**
   * The covered records the request names, as ciphertexts.
   *
   * @throws HttpError UNKNOWN_PATIENT (404), NOT_PRACTITIONER and the grant codes (403),
   *   RECORD_NOT_FOUND (404), RECORD_ERASED (410), VALIDATION_FAILED (400, a bad search)
   */
  answer(requester: VerifiedNode, request: RecordQueryRequest, source: CustodianRecords = this.own): RecordQueryAnswer {
    const { state } = this.port;
    const { patient, query } = request;
    const audit = (outcome: AuditEvent['outcome'], extra: Partial<AuditEvent> = {}): void => {
      this.port.audit.record([
        {
          actor: request.onBehalfOf,
          patient,
          action: query.kind === 'read' ? 'read' : 'search',
          outcome,
          ...(request.emergency === undefined
            ? { purpose: request.purpose }
            : { purpose: EMERGENCY_PURPOSE, emergency: request.emergency }),
          via: requester.did,
          resourceType: query.kind === 'everything' ? 'Patient' : query.type,
          ...(query.kind === 'read' ? { recordId: query.id } : {}),
          ...extra,
        },
      ]);
    };
    if (state.get<PartyRecord>(StateKey.party(patient))?.kind !== 'patient')
      throw new HttpError('UNKNOWN_PATIENT', `${patient} is not a registered patient`);
    if (request.onBehalfOf !== patient && !isActivePractitionerOf(state, request.onBehalfOf, requester.org)) {
      // Not one of the requester's people: the attempt is the requesting node's own (the ledger
      // refuses entries naming an actor the node cannot speak for).
      audit('denied', { actor: requester.did });
      throw new HttpError(
        'NOT_PRACTITIONER',
        `${request.onBehalfOf} is not an active practitioner of ${requester.org}`,
      );
    }
    // Decided on this node's ledger, once per (type, class) within the request.
    const reach = this.reachOf(requester, request, () => audit('denied'));
    // Nothing is disclosed, not even whether records exist, unless the query's types are covered.
    const types = query.kind === 'everything' ? SUPPORTED_TYPES : [query.type];
    const refusal = reach.refusalFor(patient, types);
    if (refusal !== undefined) {
      audit('denied');
      throw new HttpError(
        refusalCode(refusal),
        `${requester.org} holds no usable grant of ${patient} for this query`,
      );
    }

    // A read by id answers the refusal of its record's class; other queries leave records out.
    const covered = source.select(request).filter(
      (r) => query.kind === 'read' || reach.mayRead(patient, r.type, r.class as SensitivityClass),
    );
    // A paged query: only the page's records are read and sent (the cut needs the index alone).
    const page = query.kind === 'read' ? undefined : query.page;
    const rows = page === undefined || query.kind === 'read' ? covered : pageOfRows(source, covered, query.kind, page);
    const read = source.reader(rows);
    const records: WireRecord[] = [];
    const grants = new Set<string>();
    let truncated = false;
    for (const row of rows) {
      const decision = reach.decide({
        patient,
        resourceType: row.type,
        class: row.class as SensitivityClass,
        action: 'read',
      });
      if (!decision.ok) {
        if (query.kind === 'read') {
          audit('denied');
          throw new HttpError(
            refusalCode(decision.code),
            `reading this ${row.class} ${row.type} is not granted`,
          );
        }
        continue;
      }
      if (records.length >= MAX_RECORDS_PER_ANSWER) {
        truncated = true;
        break;
      }
      const record = read(row);
      if (record === undefined) continue;
      if (decision.grantId !== undefined) grants.add(decision.grantId);
      records.push(record);
    }
    if (query.kind === 'read' && records.length === 0)
      throw new HttpError('RECORD_NOT_FOUND', `no ${query.type}/${query.id} of this patient is kept here`);
    const [grantId] = grants;
    audit('success', grantId === undefined ? {} : { grantId });
    return {
      custodian: source.custodian,
      records,
      truncated,
      ...(page === undefined ? {} : { total: covered.length }),
    };
  }

  /** The index rows of the patient's records the query names. */
  private select(request: RecordQueryRequest): FhirResourceRow[] {
    const { index } = this.port;
    const { patient, query } = request;
    switch (query.kind) {
      case 'read': {
        if (this.port.vault.store.getErasure(query.id) !== undefined)
          throw new HttpError('RECORD_ERASED', `${query.type}/${query.id} is erased`);
        const row = index.getResource(query.id);
        return row !== undefined && row.patient === patient && row.type === query.type ? [row] : [];
      }
      case 'everything':
        return index.resourcesOfPatient(patient);
      case 'search':
        return this.search(patient, query.type as SupportedType, query.params);
    }
  }

  /** A FHIR search among the patient's records of `type`, on the index alone. */
  private search(
    patient: string,
    type: SupportedType,
    params: ReadonlyArray<readonly [string, string]>,
  ): FhirResourceRow[] {
    let parsed;
    try {
      parsed = parseSearch(type, new URLSearchParams(params.map(([k, v]): [string, string] => [k, v])));
    } catch (error) {
      if (error instanceof FhirError) throw new HttpError('VALIDATION_FAILED', outcomeText(error.outcome));
      throw error;
    }
    const { index } = this.port;
    let rows = index.resourcesOfPatient(patient, type);
    const dateFilters: DateFilter[] = [];
    for (const f of parsed.filters) {
      if (f.kind === 'date') {
        dateFilters.push(f);
        continue;
      }
      if (f.kind === 'reference')
        throw new HttpError(
          'VALIDATION_FAILED',
          '"body.query.params" may not name a patient (the body does)',
        );
      const found = index.recordsWithToken(
        f.param,
        f.anyOf.map((v) => this.port.searchToken(type, f.param, v)),
      );
      rows = rows.filter((r) => found.has(r.recordId));
    }
    if (dateFilters.length === 0) return rows;
    const dates = index.datesOf(
      rows.map((r) => r.recordId),
      [...new Set(dateFilters.map((f) => f.param))],
    );
    return rows.filter((r) => {
      const own = dates.get(r.recordId) ?? [];
      return dateFilters.every((f) =>
        own.some((d) => d.param === f.param && f.anyOf.some((c) => dateConditionHolds(c, d.start, d.end))),
      );
    });
  }
}

/**
 * The rows of a `kind` page: after its cursor in its order, at most its limit. Placed by the
 * index's `_lastUpdated` and `date` (the keys the answer claims for them, which the requester
 * checks against each decrypted record); a source that cannot give dates without reading is read.
 */
function pageOfRows(
  source: CustodianRecords,
  rows: readonly FhirResourceRow[],
  kind: 'everything' | 'search',
  page: RemotePage,
): FhirResourceRow[] {
  const sort = sortSpecOf(page.sort);
  let dateOf: (row: FhirResourceRow) => number | null = () => null;
  if (sort.param === 'date') {
    if (source.dateStarts !== undefined) {
      const starts = source.dateStarts(rows);
      dateOf = (row) => starts.get(row.recordId) ?? null;
    } else {
      const read = source.reader(rows);
      dateOf = (row) => read(row)?.date ?? null;
    }
  }
  const placed = cutToPage(rows, page, (row) =>
    pageSortable(kind, sort, { id: row.recordId, type: row.type, lastUpdated: row.lastUpdated, date: dateOf(row) }),
  );
  return placed.records;
}

function refusalCode(code: string): HttpErrorCode {
  return GRANT_CODES.has(code) ? (code as HttpErrorCode) : 'NO_GRANT';
}
