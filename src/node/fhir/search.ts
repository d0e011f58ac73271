/**
 * The search stage of the encrypted repository: type-level search, paging and `$everything`,
 * local and (roaming) from other custodians, always narrowed to the caller's reach first.
 *
 * - Search: the access policy's reach comes first (see `search`); then index tokens (and date
 *   rows) select candidates among the reachable records, which are ordered by the sort key kept
 *   in the index; only the candidates a page needs are decrypted (page size + 1), and `matches`
 *   is checked again on their plaintext entries. `total` counts the reachable candidates the
 *   index selects. A patient reference (`patient=`, `$everything`) selects the records of that
 *   patient's DID.
 * - Roaming: searches naming a patient and `$everything` also ask the other custodians of the
 *   patient's records (found on the ledger) for their matches, as ciphertext; those join the
 *   candidates by their sort key and are decrypted only when a page shows them. A custodian not
 *   reached (or refusing) adds an OperationOutcome to the page.
 */
import {
  FhirError,
  SUPPORTED_TYPES,
  badRequest,
  checkCursor,
  compareForSort,
  dateConditionHolds,
  dateRangeOf,
  indexEntries,
  isAfterCursor,
  matches,
  patientReference,
  sortKey,
  sortName,
  EVERYTHING_SORT,
  type Cursor,
  type EverythingOptions,
  type IndexEntry,
  type ResourceByType,
  type SearchFilter,
  type SearchPage,
  type SearchQuery,
  type SortKey,
  type SortSpec,
  type Sortable,
  type StoredResource,
  type SupportedType,
} from '../../fhir/index.js';
import type { SensitivityClass } from '../../ledger/types.js';
import type { FhirResourceRow } from '../../store/index.js';
import { basisOf, type AccessBasis, type Reach } from './access.js';
import { recordOnce, recordOnceInTurn } from './audit-once.js';
import { PageCiphertexts } from './page-ciphertexts.js';
import { checkPageCursorId, remotePageFor } from './remote-page.js';
import { storedRow, type RepositoryParts } from './parts.js';
import {
  NO_REMOTE,
  didsOfIdentifiers,
  fetchRemote,
  isClaimedKey,
  grantsOfRemoteReads,
  misplacedOutcome,
  remoteBounds,
  remoteItems,
  withOutcomes,
  type RemoteFetch,
  type RemoteItem,
} from './remote-reads.js';
import { DID_IDENTIFIER_SYSTEM, auditEvent, deniedError, type FhirRequestContext } from './request.js';

/** A resource of a page, with the id and sort key its cursor uses. */
interface Item {
  readonly id: string;
  readonly key: SortKey;
  readonly resource: StoredResource;
}

/** A `date` or `_lastUpdated` filter of a search. */
type DateFilter = Extract<SearchFilter, { kind: 'date' }>;

/**
 * The search stage (see the module comment).
 *
 * @example
 * const page = await new RecordSearch(parts).search('Observation', parseSearch('Observation', 'patient=p1'), ctx);
 */
/** A DID no patient has: the access policy's answer for it is its answer for "nobody you may read". */
const NO_SUCH_PATIENT = 'did:key:z-no-such-patient';

export class RecordSearch {
  constructor(private readonly parts: RepositoryParts) {}

  /**
   * The other custodians' records of `patients` that a practitioner's (or a patient's own)
   * `query` names (nothing without roaming). Patients `reach` reaches nothing of among `types`
   * are not asked for; a patient reached under break-glass only is asked for under that access.
   */
  private async fetchRemoteFor(
    ctx: FhirRequestContext,
    patients: readonly string[],
    query: Parameters<typeof fetchRemote>[2]['query'],
    types: readonly string[],
  ): Promise<RemoteFetch> {
    const remote = this.parts.remote();
    if (remote === undefined || ctx.principal.kind === 'node') return NO_REMOTE;
    const reach = this.parts.access.reachOf(ctx.principal, ctx.purpose);
    return fetchRemote(
      remote,
      patients,
      {
        onBehalfOf: ctx.principal.did,
        purpose: ctx.purpose,
        query,
        emergencyOf: (patient) => reach.emergencyFor(patient, types),
      },
      (patient) => this.parts.keys.keysOf(patient),
      (patient) => reach.refusalFor(patient, types) === undefined,
    );
  }

  /**
   * One page of the readable, matching resources among candidate rows, cut from the index: rows
   * are authorized, filtered by their date rows and by the keys at hand, and ordered by the sort
   * key kept in the index without decrypting anything; then candidates after the cursor are
   * decrypted in order (`matches` re-checked on the plaintext) until the page is full, plus one
   * to know whether a next page exists. `total` counts the candidates the index selects.
   */
  private async pageFromIndex(
    rows: readonly FhirResourceRow[],
    options: {
      readonly dateFilters: readonly DateFilter[];
      /**
       * The query's conditions, matched again on each decrypted resource; undefined when every
       * candidate matches (`$everything`, a search naming only its patient): a record kept here then sorts by its index key as it
       * was ordered, without extracting its search values again.
       */
      readonly filter: ((entries: readonly IndexEntry[]) => boolean) | undefined;
      readonly sort: SortSpec;
      readonly cursorSort: string;
      readonly cursor: Cursor | undefined;
      readonly count: number;
      readonly idOf: (row: FhirResourceRow) => string;
      /** Candidates from other custodians (roaming), readable; decrypted when the page shows them. */
      readonly remote?: readonly RemoteItem[];
      /** Past this point a custodian may hold records it did not send (`RemoteFetch.frontier`). */
      readonly remoteFrontier?: Sortable;
      /** How many records the custodians hold in all (`RemoteFetch.total`), for `total`. */
      readonly remoteTotal?: number;
    },
    reach: Reach,
  ): Promise<{
    page: SearchPage;
    patients: Map<string, AccessBasis>;
  }> {
    const { sort, dateFilters } = options;
    const params = [...new Set([sort.param, ...dateFilters.map((f) => f.param)])];
    const dates = this.parts.index.datesOf(
      rows.map((r) => r.recordId),
      params,
    );
    const patients = new Map<string, AccessBasis>();
    const keyCache = new Map<string, Map<string, Uint8Array>>();
    const candidates: (
      | { row: FhirResourceRow; id: string; key: SortKey; keys: Map<string, Uint8Array> }
      | { row: undefined; id: string; key: SortKey; open: () => StoredResource }
    )[] = [];
    for (const row of rows) {
      const decision = reach.decide({
        patient: row.patient,
        resourceType: row.type,
        class: row.class as SensitivityClass,
        action: 'read',
      });
      // The caller narrowed `rows` to its reach already; this is the grant the audit names.
      if (!decision.ok) continue;
      let keys = keyCache.get(row.patient);
      if (keys === undefined) {
        keys = await this.parts.keys.keysOf(row.patient);
        keyCache.set(row.patient, keys);
      }
      if (!keys.has(`${row.class}|${row.epoch}`)) continue; // no key for its class/epoch: omitted
      const own = dates.get(row.recordId) ?? [];
      const datesOk = dateFilters.every((f) =>
        own.some((d) => d.param === f.param && f.anyOf.some((c) => dateConditionHolds(c, d.start, d.end))),
      );
      if (!datesOk) continue;
      const first = own.find((d) => d.param === sort.param);
      candidates.push({ row, id: options.idOf(row), key: [first === undefined ? null : first.start], keys });
      if (!patients.has(row.patient)) patients.set(row.patient, basisOf(decision));
    }
    const localCount = candidates.length;
    for (const r of options.remote ?? []) candidates.push({ row: undefined, ...r });
    candidates.sort((a, b) => compareForSort(a, b, sort));
    const { cursor, count } = options;
    let at = 0;
    if (cursor !== undefined) {
      // First candidate after the cursor (binary search: the order is total).
      let lo = 0;
      let hi = candidates.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (isAfterCursor(candidates[mid]!, cursor, sort)) hi = mid;
        else lo = mid + 1;
      }
      at = lo;
    }
    const items: Item[] = [];
    // The version the index names: the anchored one (a newer vault version may still be waiting
    // for its anchor), found by its key rather than by the latest in the vault.
    const ciphertexts = new PageCiphertexts(
      this.parts.vault,
      candidates.map((c) => c.row),
    );
    const frontier = options.remoteFrontier;
    let misplaced = 0;
    for (let i = at; i < candidates.length && items.length <= count && count > 0; i++) {
      const c = candidates[i]!;
      // Past a custodian's frontier it may hold records it did not send: the page ends there.
      if (frontier !== undefined && compareForSort(c, frontier, sort) > 0) break;
      let resource: StoredResource;
      try {
        if (c.row === undefined) resource = c.open();
        else {
          // The entries the page still needs, plus the one that tells whether a next page exists.
          const ciphertext = ciphertexts.at(i, count + 1 - items.length);
          if (ciphertext === undefined) continue; // erased meanwhile: omitted
          resource = this.parts.decryptCiphertext(ciphertext, c.keys);
        }
      } catch {
        continue; // a key that does not open it: omitted
      }
      if (options.filter === undefined && c.row !== undefined) {
        items.push({ id: c.id, key: c.key, resource });
        continue;
      }
      let key: SortKey;
      if (options.filter === undefined) {
        // Nothing to match again ($everything): only the sort key is extracted, not every entry.
        key = [dateRangeOf(resource, sort.param)?.start ?? null];
      } else {
        const entries = indexEntries(resource);
        if (!options.filter(entries)) continue;
        key = sortKey(entries, sort);
      }
      // A remote record sorts by the key its custodian claimed: it must be the true one.
      if (c.row === undefined && !isClaimedKey(key, c.key)) {
        misplaced++;
        continue;
      }
      items.push({ id: c.id, key, resource });
    }
    const pageItems = items.slice(0, count);
    const lastItem = pageItems[pageItems.length - 1];
    const total = options.remoteTotal === undefined ? candidates.length : localCount + options.remoteTotal;
    const page: SearchPage = {
      resources: pageItems.map((item) => item.resource),
      total,
      ...(misplaced === 0 ? {} : { outcomes: [misplacedOutcome(misplaced)] }),
    };
    // Not full with a frontier: the page stopped at it (or ran out of candidates before it); the
    // next page starts after it, so paging always moves on, whatever a custodian sent.
    const next =
      items.length > count && lastItem !== undefined
        ? { key: lastItem.key, id: lastItem.id }
        : frontier !== undefined && count > 0
          ? frontier
          : undefined;
    return {
      page: next === undefined ? page : { ...page, next: { sort: options.cursorSort, key: next.key, id: next.id } },
      patients,
    };
  }

  /**
   * A type-level search, narrowed to the caller's reach before any filter (see `access.ts`):
   * - Every patient the query names (`patient=`, or a DID identifier of a Patient search) must
   *   be reachable for `type`, else 403 with the grant's code, audited once for that patient: the
   *   answer depends on the grant alone, never on which records exist.
   * - The candidates are the records of the named patients, or — naming none — of the patients
   *   the caller reaches (a patient: their own; a practitioner: those granting the organization
   *   access), of the classes it may read. Records outside that set are never looked at again:
   *   they count for nothing, write no audit entry and change no status.
   * - `total` is the number of those reachable candidates the index selects (and whose key the
   *   node holds).
   */
  async search<T extends SupportedType>(
    type: T,
    query: SearchQuery,
    ctx: FhirRequestContext,
  ): Promise<SearchPage<ResourceByType[T]>> {
    if (query.resourceType !== type) {
      throw new FhirError(badRequest(`Query for ${query.resourceType} run on ${type}`, 'resourceType'));
    }
    const scoping = query.filters.filter(
      (f) => f.kind === 'reference' || f.param === '_id' || f.param === 'identifier',
    );
    if (ctx.principal.kind !== 'patient' && scoping.length === 0) {
      throw new FhirError(
        badRequest(
          'a practitioner search must name a patient (patient, subject, _id or identifier)',
          'patient',
        ),
      );
    }
    // A cursor is checked before access is decided or anything fetched: a forged one is a 400.
    if (query.page !== undefined) checkPageCursorId('search', query.page);
    const reach = this.parts.access.reachOf(ctx.principal, ctx.purpose);
    if (reach.refusal !== undefined) throw deniedError(reach.refusal, `reading ${type} records`);
    // The patients the query names: each must be reachable, whatever their records.
    const named = [
      ...new Set([...this.patientsOfQuery(query), ...didsOfIdentifiers(query, DID_IDENTIFIER_SYSTEM)]),
    ];
    for (const did of named) {
      const refusal = reach.refusalFor(did, [type]);
      if (refusal !== undefined) {
        recordOnce(this.parts.audit, ctx, [auditEvent(ctx, did, 'search', 'denied', { resourceType: type })]);
        throw deniedError(refusal, `reading ${type} records`);
      }
    }
    const reachable = named.length > 0 ? new Set(named) : reach.unnamedPatients();
    const readable = (row: FhirResourceRow): boolean =>
      row.type === type &&
      reachable.has(row.patient) &&
      reach.mayRead(row.patient, type, row.class as SensitivityClass);
    // Candidates: the intersection of every token filter's records. A patient reference selects
    // the records of that patient (DID), whichever of its Patient resources here they reference.
    let candidates: Set<string> | undefined;
    for (const f of query.filters) {
      if (f.kind === 'date') continue;
      const found =
        f.kind === 'reference'
          ? this.recordsOfPatients(type, f.anyOf)
          : this.parts.index.recordsWithToken(
              f.param,
              f.anyOf.map((v) => this.parts.tokens.token(type, f.param, v)),
            );
      candidates = candidates === undefined ? found : new Set([...candidates].filter((id) => found.has(id)));
    }
    const own = reach.ownRecordsOnly;
    const rows = (
      candidates === undefined
        ? own === undefined
          ? []
          : this.parts.index.resourcesOfPatient(own, type)
        : this.parts.index.getResources(candidates)
    ).filter(readable);
    // Reference filters are settled by the index (records of the patient's DID).
    const unreferenced = query.filters.filter((f) => f.kind !== 'reference');
    const count = query.summaryCount ? 0 : query.count;
    const remote = await this.fetchRemoteFor(
      ctx,
      named,
      {
        kind: 'search',
        type,
        params: query.params.filter(([name]) => name !== 'patient' && name !== 'subject'),
        page: remotePageFor(query.sort, query.page, count),
      },
      [type],
    );
    const remoteFound = remoteItems(remote.resources, {
      sort: query.sort,
      idOf: (r) => r.id,
      readable: (r) => r.type === type && reach.mayRead(r.patient, type, r.class),
    });
    const { page, patients } = await this.pageFromIndex(
      rows,
      {
        dateFilters: query.filters.filter((f): f is DateFilter => f.kind === 'date'),
        // Nothing left to match (a patient's records, the commonest search): a record kept here
        // sorts by its index key, as `$everything`'s do, without extracting its values again.
        filter:
          unreferenced.length === 0 ? undefined : (entries) => matches(entries, { filters: unreferenced }),
        sort: query.sort,
        cursorSort: sortName(query.sort),
        cursor: query.page,
        count,
        idOf: (row) => row.recordId,
        remote: remoteFound,
        ...remoteBounds(remote),
      },
      reach,
    );
    for (const did of named) if (!patients.has(did)) patients.set(did, {});
    grantsOfRemoteReads(patients, remote.resources, reach);
    await recordOnceInTurn(
      this.parts.audit,
      ctx,
      [...patients].map(([patient, basis]) =>
        auditEvent(ctx, patient, 'search', 'success', { resourceType: type, ...basis }),
      ),
    );
    return withOutcomes(page, remote.outcomes) as SearchPage<ResourceByType[T]>;
  }

  /** Ids of the `type` records of the patients `references` name (by token when unknown here). */
  private recordsOfPatients(type: string, references: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (const reference of references) {
      const did = this.parts.didOfReference(reference);
      const ids =
        did === undefined
          ? this.parts.index.recordsWithToken('patient', [
              this.parts.tokens.token(type, 'patient', reference),
            ])
          : this.parts.index.resourcesOfPatient(did, type).map((r) => r.recordId);
      for (const id of ids) out.add(id);
    }
    return out;
  }

  /** DIDs of the patients a query's `patient` filter names (kept here or, roaming, elsewhere). */
  private patientsOfQuery(query: SearchQuery): string[] {
    const out = new Set<string>();
    for (const f of query.filters) {
      if (f.kind !== 'reference') continue;
      for (const ref of f.anyOf) {
        const did = this.parts.didOfReference(ref);
        if (did !== undefined) out.add(did);
      }
    }
    return [...out];
  }

  async everything(
    patientId: string,
    options: EverythingOptions,
    ctx: FhirRequestContext,
  ): Promise<SearchPage> {
    // The patient: a Patient kept here, or (roaming) one another custodian anchored on the ledger.
    // An id that names no patient (or an erased one) is not told apart before access is decided:
    // a caller without access gets the refusal it gets for a patient it may not read.
    let patient = this.parts.didOfReference(patientReference(patientId));
    let missing: unknown;
    if (patient === undefined) {
      try {
        patient = storedRow(this.parts, 'Patient', patientId).patient;
      } catch (error) {
        missing = error;
      }
    }
    // A cursor is checked before access is decided or anything fetched: a forged one is a 400.
    if (options.page !== undefined) checkPageCursorId('everything', checkCursor(options.page, EVERYTHING_SORT, 1));
    // The patient is named: reachable for some type and class, or 403 from the grants alone.
    const reach = this.parts.access.reachOf(ctx.principal, ctx.purpose);
    const refusal = reach.refusal ?? reach.refusalFor(patient ?? NO_SUCH_PATIENT, SUPPORTED_TYPES);
    if (refusal !== undefined) {
      if (patient !== undefined) {
        recordOnce(this.parts.audit, ctx, [
          auditEvent(ctx, patient, 'search', 'denied', { resourceType: 'Patient', recordId: patientId }),
        ]);
      }
      throw deniedError(refusal, 'reading this patient’s records');
    }
    if (patient === undefined) throw missing;
    // Every readable record of the patient's DID, whichever of its Patient resources it references.
    const rows = this.parts.index
      .resourcesOfPatient(patient)
      .filter((row) => reach.mayRead(patient, row.type, row.class as SensitivityClass));
    const sort: SortSpec = { param: '_lastUpdated', descending: false };
    // Only what this page needs: the custodians' records after its cursor, at most count + 1.
    const remote = await this.fetchRemoteFor(
      ctx,
      [patient],
      { kind: 'everything', page: remotePageFor(sort, options.page, options.count) },
      SUPPORTED_TYPES,
    );
    const remoteFound = remoteItems(remote.resources, {
      sort,
      idOf: (r) => `${r.type}/${r.id}`,
      readable: (r) => reach.mayRead(r.patient, r.type, r.class),
    });
    const { page, patients } = await this.pageFromIndex(
      rows,
      {
        dateFilters: [],
        filter: undefined,
        sort,
        cursorSort: EVERYTHING_SORT,
        cursor: options.page,
        count: options.count,
        idOf: (row) => `${row.type}/${row.recordId}`,
        remote: remoteFound,
        ...remoteBounds(remote),
      },
      reach,
    );
    if (!patients.has(patient)) patients.set(patient, {});
    grantsOfRemoteReads(patients, remote.resources, reach);
    await recordOnceInTurn(
      this.parts.audit,
      ctx,
      [...patients].map(([patient, basis]) =>
        auditEvent(ctx, patient, 'search', 'success', {
          resourceType: 'Patient',
          recordId: patientId,
          ...basis,
        }),
      ),
    );
    return withOutcomes(page, remote.outcomes);
  }
}

