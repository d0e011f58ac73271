/**
 * Helpers of the encrypted repository's reads of records kept by other custodians (roaming):
 * which patient a Patient id names (a Patient kept here, or one anchored on the ledger by another
 * custodian), the remote fetch for a set of patients, and remote resources as page candidates.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { RecordEntry, StateReader } from '../../contracts/index.js';
import { isSigningDid } from '../../crypto/index.js';
import {
  FhirError,
  compareKeys,
  forbidden,
  gone,
  notFound,
  unavailable,
  type SearchQuery,
  type SortKey,
  incompletePage,
  type SearchPage,
  type SortSpec,
  type Sortable,
  type StoredResource,
} from '../../fhir/index.js';
import { StateKey } from '../../ledger/index.js';
import type { FhirIndexStore } from '../../store/index.js';
import { basisOf, type AccessBasis, type Reach } from './access.js';
import { EMERGENCY_PURPOSE } from './request.js';
import type { RemoteFailure, RemoteQuery, RemoteRecordSource, RemoteResource } from './remote.js';
import { earlierFrontier, sortSpecOf } from './remote-page.js';

/** A remote resource among a page's candidates: its id, its sort key, and how to decrypt it. */
export interface RemoteItem {
  readonly id: string;
  readonly key: SortKey;
  /** @throws VaultError when the ciphertext does not open to the anchored record */
  open(): StoredResource;
}

/** The anchor of a live record kept by another organization than `org`, if `id` is one. */
export function remoteAnchor(state: StateReader, id: string, org: string): RecordEntry | undefined {
  const anchor = state.get<RecordEntry>(StateKey.record(id));
  return anchor === undefined || anchor.custodian === org ? undefined : anchor;
}

/**
 * The DID of the patient a Patient id names: a Patient kept here, else (when `org` roams) a live
 * Patient anchored on the ledger by another custodian.
 */
export function patientDidOf(
  index: FhirIndexStore,
  state: StateReader | undefined,
  org: string,
  patientId: string,
): string | undefined {
  const row = index.getResource(patientId);
  if (row !== undefined) return row.type === 'Patient' ? row.patient : undefined;
  if (state === undefined) return undefined;
  const anchor = remoteAnchor(state, patientId, org);
  return anchor?.status === 'active' && anchor.resourceType === 'Patient' ? anchor.patient : undefined;
}

/**
 * DIDs a Patient search names by identifier (`<system>|did:…`, `system` being the DID identifier
 * system), e.g. `Patient?identifier=urn:ietf:rfc:3986|did:key:…`: how a node finds the Patient
 * resources other custodians keep of a patient.
 */
export function didsOfIdentifiers(query: SearchQuery, system: string): string[] {
  if (query.resourceType !== 'Patient') return [];
  const prefix = `${system}|`;
  const out: string[] = [];
  for (const f of query.filters) {
    if (f.kind !== 'token' || f.param !== 'identifier') continue;
    for (const value of f.anyOf) {
      const did = value.slice(prefix.length);
      if (value.startsWith(prefix) && isSigningDid(did)) out.push(did);
    }
  }
  return out;
}

/** What the other custodians of some patients answered, merged. */
export interface RemoteFetch {
  readonly resources: readonly RemoteResource[];
  readonly failures: readonly RemoteFailure[];
  readonly outcomes: readonly OperationOutcome[];
  /** Of a paged query: the earliest frontier of the answers (see `RemoteResult.frontier`). */
  readonly frontier?: Sortable;
  /** Of a paged query: the matching records the custodians hold in all (see `RemoteResult.total`). */
  readonly total?: number;
}

export const NO_REMOTE: RemoteFetch = { resources: [], failures: [], outcomes: [] };

/**
 * Fetches `query` for each patient from the patient's other custodians (all in parallel), with
 * the record keys `keysOf` gives for the patient; a patient kept by other custodians is asked
 * for only when `mayAsk` allows it.
 */
export async function fetchRemote(
  source: RemoteRecordSource,
  patients: readonly string[],
  request: {
    readonly onBehalfOf: string;
    readonly purpose: string;
    readonly query: RemoteQuery;
    /** The break-glass access a patient is asked for under (none: under the grants). */
    readonly emergencyOf?: (patient: string) => string | undefined;
  },
  keysOf: (patient: string) => Promise<ReadonlyMap<string, Uint8Array>>,
  mayAsk: (patient: string) => boolean,
): Promise<RemoteFetch> {
  const { emergencyOf, ...common } = request;
  const results = await Promise.all(
    patients.map(async (patient) => {
      const custodians = source.custodiansOf(patient);
      if (custodians.length === 0 || !mayAsk(patient)) return NO_REMOTE;
      return source.fetch(
        { patient, ...common, ...emergencyRequest(emergencyOf?.(patient)), custodians },
        await keysOf(patient),
      );
    }),
  );
  if (results.length === 1) return results[0]!;
  const { query } = request;
  const page = query.kind === 'read' ? undefined : query.page;
  const merged: RemoteFetch = {
    resources: results.flatMap((r) => r.resources),
    failures: results.flatMap((r) => r.failures),
    outcomes: results.flatMap((r) => r.outcomes),
  };
  if (page === undefined) return merged;
  const sort = sortSpecOf(page.sort);
  const frontier = results.reduce<Sortable | undefined>((earliest, r) => earlierFrontier(earliest, r.frontier, sort), undefined);
  return {
    ...merged,
    total: results.reduce((sum, r) => sum + (r.total ?? r.resources.length), 0),
    ...(frontier === undefined ? {} : { frontier }),
  };
}

/** The fields of a remote request made under break-glass `emergency` (none without one). */
export function emergencyRequest(emergency: string | undefined): { readonly emergency?: string; readonly purpose?: string } {
  return emergency === undefined ? {} : { emergency, purpose: EMERGENCY_PURPOSE };
}

/**
 * Remote resources the caller may read (`readable`), as page candidates: id by `idOf`, key by
 * `sort` from the custodian's metadata. They are decrypted (and checked against the page's
 * filters and their claimed key) only when a page shows them.
 */
export function remoteItems(
  resources: readonly RemoteResource[],
  options: {
    readonly sort: Pick<SortSpec, 'param'>;
    readonly idOf: (resource: RemoteResource) => string;
    readonly readable: (resource: RemoteResource) => boolean;
  },
): RemoteItem[] {
  return resources.filter(options.readable).map((remote) => ({
    id: options.idOf(remote),
    key: [options.sort.param === '_lastUpdated' ? remote.lastUpdated : remote.date],
    open: () => remote.open(),
  }));
}

/** The error of a read by id of a remote record that got no resource. */
export function remoteReadFailure(type: string, id: string, failures: readonly RemoteFailure[]): FhirError {
  const failure = failures[0];
  if (failure === undefined) return new FhirError(forbidden(`no record key granted for ${type}/${id}`));
  if (failure.kind === 'unreachable')
    return new FhirError(unavailable(`the custodian of ${type}/${id} ${failure.message}`));
  if (failure.code === 'RECORD_NOT_FOUND') return new FhirError(notFound(type, id));
  if (failure.code === 'RECORD_ERASED') return new FhirError(gone(type, id));
  return new FhirError(
    forbidden(`${failure.code ?? 'REFUSED'}: the custodian of ${type}/${id} ${failure.message}`),
  );
}

/** The error of a read by id whose remote record does not open (its custodian altered it). */
export function unopenable(type: string, id: string, cause: unknown): FhirError {
  return new FhirError(unavailable(`the custodian's copy of ${type}/${id} does not open`), { cause });
}

/** Whether a remote record's true sort key (from its plaintext) is the one its custodian claimed. */
export function isClaimedKey(key: SortKey, claimed: SortKey): boolean {
  return compareKeys(key, claimed, false) === 0;
}

/** The frontier and total of a paged remote fetch, as `pageFromIndex` options. */
export function remoteBounds(remote: RemoteFetch): { remoteFrontier?: Sortable; remoteTotal?: number } {
  return {
    ...(remote.frontier === undefined ? {} : { remoteFrontier: remote.frontier }),
    ...(remote.total === undefined ? {} : { remoteTotal: remote.total }),
  };
}

/**
 * The Bundle's warning for remote records whose custodian claimed another sort key than the
 * record has: left out (a page is never ordered by a key nobody checked), and said so.
 */
export function misplacedOutcome(records: number): OperationOutcome {
  return incompletePage(
    `${records} record(s) from another custodian were not where its answer placed them in the sort order; they are left out`,
  );
}

/** `page` with the remote fetch's `outcomes` added to its own. */
export function withOutcomes(page: SearchPage, outcomes: readonly OperationOutcome[]): SearchPage {
  const all = [...(page.outcomes ?? []), ...outcomes];
  return all.length === 0 ? page : { ...page, outcomes: all };
}

/**
 * Names the grant for patients whose only matches were records fetched from other custodians
 * (no local record decided one), so the audit entry says under which grant they were read.
 */
export function grantsOfRemoteReads(
  patients: Map<string, AccessBasis>,
  remote: readonly RemoteResource[],
  reach: Reach,
): void {
  for (const r of remote) {
    const known = patients.get(r.patient);
    if (known?.grantId !== undefined || known?.emergency !== undefined) continue;
    const decision = reach.decide({
      patient: r.patient,
      resourceType: r.type,
      class: r.class,
      action: 'read',
    });
    if (decision.ok && (decision.grantId !== undefined || decision.emergency !== undefined))
      patients.set(r.patient, basisOf(decision));
  }
}
