/**
 * The in-memory FhirRepository: plaintext, for tests and as the executable specification of the
 * repository semantics. It stores each version with its index entries and answers every query
 * from the entries alone (`search/match.ts`), as the encrypted store will.
 *
 * Transactions run against a snapshot and commit with an optimistic check: if a concurrent write
 * touched a resource the transaction also writes, the transaction fails with 409 and writes
 * nothing. All writes of one transaction share one `lastUpdated`.
 *
 * @example
 * const repo = createMemoryRepository();
 * const patient = await repo.create({ resourceType: 'Patient' }, ctx);
 * const page = await repo.search('Observation', parseSearch('Observation', `patient=${patient.id}`), ctx);
 */
import { randomUUID } from 'node:crypto';
import type { BundlePlan } from './bundles.js';
import { assembleResults, entryOutcome, executeBatch } from './bundles.js';
import { FhirError, badRequest, conflict, notFound, unknownType } from './outcomes.js';
import type {
  CreateOptions,
  EntryResult,
  FhirContext,
  FhirRepository,
  SearchPage,
  UpdateOptions,
} from './repository.js';
import { FIRST_VERSION_ID, checkIfMatch, nextVersionId, runEntry } from './repository.js';
import type { Cursor, SortKey } from './search/cursor.js';
import type { IndexEntry } from './search/index-entries.js';
import { indexEntries, patientReference } from './search/index-entries.js';
import { compareForSort, isAfterCursor, matches, sortKey } from './search/match.js';
import type { EverythingOptions, SearchQuery, SortSpec } from './search/params.js';
import { EVERYTHING_SORT, checkCursor, sortName } from './search/params.js';
import type { ResourceByType, StoredResource, SupportedType } from './types.js';
import { isFhirId, isSupportedType } from './types.js';

export interface MemoryRepositoryOptions {
  /** Id generator for creates (default: random UUIDs). */
  readonly newId?: () => string;
  /** Clock, epoch ms (default Date.now); lastUpdated never goes backwards even if it does. */
  readonly now?: () => number;
}

/** The in-memory repository: a FhirRepository plus its id generator (for `planBundle`). */
export interface MemoryRepository<Ctx = FhirContext> extends FhirRepository<Ctx> {
  /** The id generator this repository assigns ids with; pass it to `planBundle`. */
  readonly newId: () => string;
  /** How many resources (not versions) are stored. */
  size(): number;
}

interface Version {
  readonly resource: StoredResource;
  readonly entries: readonly IndexEntry[];
}

/** A resource's versions, oldest first. Never mutated: a write replaces the row. */
interface Row {
  readonly type: SupportedType;
  readonly id: string;
  readonly versions: readonly Version[];
}

function keyOf(type: string, id: string): string {
  return `${type}/${id}`;
}

function latest(row: Row): Version {
  return row.versions[row.versions.length - 1]!;
}

function copy<R>(resource: R): R {
  return structuredClone(resource);
}

/** Creates an in-memory repository (see the module comment). */
export function createMemoryRepository<Ctx = FhirContext>(
  options: MemoryRepositoryOptions = {},
): MemoryRepository<Ctx> {
  const newId = options.newId ?? randomUUID;
  const clock = options.now ?? Date.now;
  let last = -Infinity;
  const now = (): number => (last = Math.max(last, clock()));
  return new Memory<Ctx>(new Map(), newId, now, undefined);
}

/** Writes made by a transaction's staged view: the row each written key had before. */
type Touched = Map<string, Row | undefined>;

class Memory<Ctx> implements MemoryRepository<Ctx> {
  constructor(
    private rows: Map<string, Row>,
    readonly newId: () => string,
    private readonly now: () => number,
    /** Set on a transaction's staged view: records the rows it replaces. */
    private readonly touched: Touched | undefined,
  ) {}

  size(): number {
    return this.rows.size;
  }

  private row(type: string, id: string): Row {
    if (!isSupportedType(type)) throw new FhirError(unknownType(type));
    const row = this.rows.get(keyOf(type, id));
    if (row === undefined) throw new FhirError(notFound(type, id));
    return row;
  }

  private write(
    type: SupportedType,
    id: string,
    resource: StoredResource,
    previous: Row | undefined,
  ): StoredResource {
    const versionId =
      previous === undefined
        ? FIRST_VERSION_ID
        : nextVersionId(latest(previous).resource.meta?.versionId ?? '0');
    const stored = copy(resource);
    stored.id = id;
    stored.meta = { ...stored.meta, versionId, lastUpdated: new Date(this.now()).toISOString() };
    const version: Version = { resource: stored, entries: indexEntries(stored) };
    const key = keyOf(type, id);
    if (this.touched !== undefined && !this.touched.has(key)) this.touched.set(key, previous);
    this.rows.set(key, { type, id, versions: [...(previous?.versions ?? []), version] });
    return copy(stored);
  }

  create<T extends SupportedType>(
    resource: ResourceByType[T] & { readonly resourceType: T },
    _ctx: Ctx,
    options: CreateOptions = {},
  ): Promise<ResourceByType[T]> {
    return call(() => {
      checkResource(resource);
      const type = resource.resourceType;
      const id = options.id ?? this.newId();
      if (!isFhirId(id)) throw new FhirError(badRequest(`id "${id}" is not a FHIR id`, 'id'));
      if (this.rows.has(keyOf(type, id))) throw new FhirError(conflict(`${type}/${id} already exists`));
      return this.write(type, id, resource, undefined) as ResourceByType[T];
    });
  }

  read<T extends SupportedType>(type: T, id: string, _ctx: Ctx): Promise<ResourceByType[T]> {
    return call(() => copy(latest(this.row(type, id)).resource) as ResourceByType[T]);
  }

  vread<T extends SupportedType>(type: T, id: string, vid: string, _ctx: Ctx): Promise<ResourceByType[T]> {
    return call(() => {
      const version = this.row(type, id).versions.find((v) => v.resource.meta?.versionId === vid);
      if (version === undefined) throw new FhirError(notFound(type, id, vid));
      return copy(version.resource) as ResourceByType[T];
    });
  }

  update<T extends SupportedType>(
    type: T,
    id: string,
    resource: ResourceByType[T],
    options: UpdateOptions,
    _ctx: Ctx,
  ): Promise<ResourceByType[T]> {
    return call(() => {
      if (!isSupportedType(type)) throw new FhirError(unknownType(type));
      checkResource(resource);
      if (resource.resourceType !== type) {
        throw new FhirError(
          badRequest(
            `resourceType ${resource.resourceType} does not match the URL (${type})`,
            'resourceType',
          ),
        );
      }
      if (!isFhirId(id)) throw new FhirError(badRequest(`id "${id}" is not a FHIR id`, 'id'));
      if (resource.id !== id) {
        throw new FhirError(
          badRequest(`Resource id ${JSON.stringify(resource.id)} must equal the id in the URL (${id})`, 'id'),
        );
      }
      const previous = this.rows.get(keyOf(type, id));
      checkIfMatch(options.ifMatch, previous && latest(previous).resource.meta?.versionId, `${type}/${id}`);
      return this.write(type, id, resource, previous) as ResourceByType[T];
    });
  }

  history<T extends SupportedType>(type: T, id: string, _ctx: Ctx): Promise<ResourceByType[T][]> {
    return call(() =>
      [...this.row(type, id).versions].reverse().map((v) => copy(v.resource) as ResourceByType[T]),
    );
  }

  search<T extends SupportedType>(
    type: T,
    query: SearchQuery,
    _ctx: Ctx,
  ): Promise<SearchPage<ResourceByType[T]>> {
    return call(() => {
      if (query.resourceType !== type) {
        throw new FhirError(badRequest(`Query for ${query.resourceType} run on ${type}`, 'resourceType'));
      }
      const found: Item[] = [];
      for (const row of this.rows.values()) {
        if (row.type !== type) continue;
        const version = latest(row);
        if (matches(version.entries, query))
          found.push({ id: row.id, key: sortKey(version.entries, query.sort), version });
      }
      const count = query.summaryCount ? 0 : query.count;
      const page = pageOf(found, query.sort, sortName(query.sort), query.page, count);
      return page as SearchPage<ResourceByType[T]>;
    });
  }

  everything(patientId: string, options: EverythingOptions, _ctx: Ctx): Promise<SearchPage> {
    return call(() => {
      this.row('Patient', patientId);
      if (options.page !== undefined) checkCursor(options.page, EVERYTHING_SORT, 1);
      const reference = patientReference(patientId);
      const sort: SortSpec = { param: '_lastUpdated', descending: false };
      const found: Item[] = [];
      for (const row of this.rows.values()) {
        const version = latest(row);
        if (
          version.entries.some(
            (e) => e.kind === 'reference' && e.param === 'patient' && e.value === reference,
          )
        ) {
          found.push({ id: keyOf(row.type, row.id), key: sortKey(version.entries, sort), version });
        }
      }
      return pageOf(found, sort, EVERYTHING_SORT, options.page, options.count);
    });
  }

  async execute(plan: BundlePlan, ctx: Ctx): Promise<EntryResult[]> {
    if (plan.type === 'batch') return executeBatch(this, plan, ctx);
    const executed = new Map<number, EntryResult>();

    // Transaction: run on a snapshot with one timestamp, then commit what it wrote, unless a
    // concurrent write touched the same resources.
    const at = this.now();
    const touched: Touched = new Map();
    const staged = new Memory<Ctx>(new Map(this.rows), this.newId, () => at, touched);
    for (const entry of plan.entries) {
      try {
        executed.set(entry.index, await runEntry(staged, entry, ctx));
      } catch (error) {
        if (error instanceof FhirError)
          throw new FhirError(entryOutcome(error.outcome, entry.index), { cause: error });
        throw error;
      }
    }
    for (const [key, before] of touched) {
      if (this.rows.get(key) !== before) {
        throw new FhirError(
          conflict(`${key} was written while the transaction ran; nothing was written, retry`),
        );
      }
    }
    for (const key of touched.keys()) this.rows.set(key, staged.rows.get(key)!);
    return assembleResults(plan, executed);
  }
}

interface Item {
  readonly id: string;
  readonly key: SortKey;
  readonly version: Version;
}

/** Sorts the matches and cuts the page after `cursor`. */
function pageOf(
  found: Item[],
  sort: SortSpec,
  cursorSort: string,
  cursor: Cursor | undefined,
  count: number,
): SearchPage {
  found.sort((a, b) => compareForSort(a, b, sort));
  const after = cursor === undefined ? found : found.filter((item) => isAfterCursor(item, cursor, sort));
  const pageItems = after.slice(0, count);
  const lastItem = pageItems[pageItems.length - 1];
  const page: SearchPage = {
    resources: pageItems.map((item) => copy(item.version.resource)),
    total: found.length,
  };
  if (after.length > count && lastItem !== undefined) {
    return { ...page, next: { sort: cursorSort, key: lastItem.key, id: lastItem.id } };
  }
  return page;
}

function checkResource(resource: unknown): asserts resource is StoredResource {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    throw new FhirError(badRequest('Expected a FHIR resource (a JSON object)', 'resourceType'));
  }
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string') throw new FhirError(badRequest('resourceType is missing', 'resourceType'));
  if (!isSupportedType(type)) throw new FhirError(unknownType(type));
}

/** Runs synchronous work as a settled promise (errors become rejections, never sync throws). */
function call<R>(work: () => R): Promise<R> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
