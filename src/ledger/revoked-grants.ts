import { StateKey } from './keys.js';
import type { StateSource } from './state-view.js';

/**
 * A patient's revoked grants, derived from the world state and kept outside it (node-local, never
 * hashed, rebuilt from the state on demand): what `currentEpoch` counts on every record anchor a
 * patient writes and every emergency access. Counting them by scanning the patient's grant folder
 * and reading each grant made each such transaction O(grants of the patient), so a ledger of busy
 * patients replayed ever slower (264 grants per patient on the 568k-transaction bench ledger: ~530
 * state reads and JSON parses per anchor, most of them past the state cache).
 *
 * The set answers exactly what the scan answers — `{ id : idx/patient-grant/<patient>/<id> exists
 * and grant/<id> has status 'revoked' }` — given the invariant every contract keeps: a grant
 * record and its index row are written together by `createGrant`, under the grant's own
 * `patient`, and no later write changes a grant's `patient` or deletes it. A deleted grant record
 * (not written by any contract today) makes the layers below answer `undefined`, and readers
 * fall back to the scan.
 */
export interface RevokedGrantsLookup {
  /** Ids of the patient's revoked grants; undefined when this layer cannot tell (scan instead). */
  revokedGrantsOf(patient: string): ReadonlySet<string> | undefined;
}

export const GRANT_PREFIX = 'grant/';
const PATIENT_GRANT_FOLDER = 'idx/patient-grant/';

/** Patients whose revoked grants are kept by default (a set is a few ids, often none). */
export const REVOKED_GRANTS_MAX_PATIENTS = 100_000;

/** The patient and grant id of an `idx/patient-grant/<patient>/<id>` key, if it is one. */
export function patientGrantKeyParts(key: string): { patient: string; grantId: string } | undefined {
  if (!key.startsWith(PATIENT_GRANT_FOLDER)) return undefined;
  const slash = key.indexOf('/', PATIENT_GRANT_FOLDER.length);
  if (slash === -1) return undefined;
  return { patient: key.slice(PATIENT_GRANT_FOLDER.length, slash), grantId: key.slice(slash + 1) };
}

/** The `patient` of a grant record's canonical JSON, or undefined when it has none. */
export function patientOfGrant(value: string): string | undefined {
  try {
    const patient = (JSON.parse(value) as { patient?: unknown }).patient;
    return typeof patient === 'string' ? patient : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `grantId` counts as a revoked grant of `patient` in the state `get` reads. */
export function isRevokedGrantOf(get: (key: string) => string | undefined, patient: string, grantId: string): boolean {
  if (get(StateKey.patientGrant(patient, grantId)) === undefined) return false;
  const grant = get(StateKey.grant(grantId));
  if (grant === undefined) return false;
  return (JSON.parse(grant) as { status?: unknown }).status === 'revoked';
}

/** `base` with the grants in `touched` re-decided against the state `get` reads (a copy if any changed). */
export function withTouchedGrants(
  base: ReadonlySet<string>,
  touched: Iterable<string>,
  patient: string,
  get: (key: string) => string | undefined,
): ReadonlySet<string> {
  let result: Set<string> | undefined;
  for (const grantId of touched) {
    const revoked = isRevokedGrantOf(get, patient, grantId);
    if (revoked === (result ?? base).has(grantId)) continue;
    result ??= new Set(base);
    if (revoked) result.add(grantId);
    else result.delete(grantId);
  }
  return result ?? base;
}

/**
 * The grant ids a set of writes touches, by patient: rows of `idx/patient-grant/<patient>/` and
 * grant records (under their `patient`). `unknown` turns true on a write it cannot place (a deleted
 * or patient-less grant record): then no overlay can be trusted.
 */
export class GrantTouches {
  private readonly byPatient = new Map<string, Set<string>>();
  private unplaced = false;

  /** Notes one write (null = deleted). */
  note(key: string, value: string | null): void {
    const row = patientGrantKeyParts(key);
    if (row !== undefined) return this.add(row.patient, row.grantId);
    if (!key.startsWith(GRANT_PREFIX)) return;
    const patient = value === null ? undefined : patientOfGrant(value);
    if (patient === undefined) this.unplaced = true;
    else this.add(patient, key.slice(GRANT_PREFIX.length));
  }

  /** Notes every write of `other`. */
  merge(other: GrantTouches): void {
    for (const [patient, ids] of other.byPatient) for (const id of ids) this.add(patient, id);
    this.unplaced ||= other.unplaced;
  }

  get unknown(): boolean {
    return this.unplaced;
  }

  /** The patients with a touched grant. */
  patients(): Iterable<string> {
    return this.byPatient.keys();
  }

  idsOf(patient: string): ReadonlySet<string> {
    return this.byPatient.get(patient) ?? EMPTY;
  }

  private add(patient: string, grantId: string): void {
    let ids = this.byPatient.get(patient);
    if (ids === undefined) this.byPatient.set(patient, (ids = new Set()));
    ids.add(grantId);
  }
}

const EMPTY: ReadonlySet<string> = new Set();

/** The touches of a committed block's writes, computed once per block (the writes map is its identity). */
const touchesOfWrites = new WeakMap<ReadonlyMap<string, string | null>, GrantTouches>();

export function grantTouchesOf(writes: ReadonlyMap<string, string | null>): GrantTouches {
  let touches = touchesOfWrites.get(writes);
  if (touches === undefined) {
    touches = new GrantTouches();
    for (const [key, value] of writes) touches.note(key, value);
    touchesOfWrites.set(writes, touches);
  }
  return touches;
}

/**
 * The committed layer: each patient's revoked grants, computed by one scan of its grant folder the
 * first time it is asked (and after eviction), then kept up to date from each committed block's
 * writes (`apply`, called after the block is durable, like `CachedStateSource.apply`). Bounded by
 * patients, least recently used first.
 */
export class RevokedGrantIndex implements RevokedGrantsLookup {
  private readonly byPatient = new Map<string, Set<string>>();

  constructor(
    private readonly source: StateSource,
    private readonly maxPatients = REVOKED_GRANTS_MAX_PATIENTS,
  ) {}

  revokedGrantsOf(patient: string): ReadonlySet<string> {
    const cached = this.byPatient.get(patient);
    if (cached !== undefined) {
      this.byPatient.delete(patient);
      this.byPatient.set(patient, cached);
      return cached;
    }
    const revoked = new Set<string>();
    const prefix = StateKey.patientGrantsPrefix(patient);
    const get = (key: string): string | undefined => this.source.get(key);
    for (const [key] of this.source.range(prefix)) {
      const grantId = key.slice(prefix.length);
      if (isRevokedGrantOf(get, patient, grantId)) revoked.add(grantId);
    }
    this.byPatient.set(patient, revoked);
    if (this.byPatient.size > this.maxPatients) {
      // Down to 90 % in one pass: a Map iterator steps over every slot freed before it (see state-cache.ts).
      for (const oldest of this.byPatient.keys()) {
        if (this.byPatient.size <= this.maxPatients * 0.9) break;
        this.byPatient.delete(oldest);
      }
    }
    return revoked;
  }

  /** Brings the kept sets to the state after a committed block's writes (the source holds them already). */
  apply(writes: ReadonlyMap<string, string | null>): void {
    const touches = grantTouchesOf(writes);
    if (touches.unknown) {
      // A grant record deleted or without a patient: no contract writes one; start over.
      this.byPatient.clear();
      return;
    }
    for (const patient of touches.patients()) {
      const kept = this.byPatient.get(patient);
      if (kept === undefined) continue;
      for (const grantId of touches.idsOf(patient)) {
        if (isRevokedGrantOf((key) => this.source.get(key), patient, grantId)) kept.add(grantId);
        else kept.delete(grantId);
      }
    }
  }
}

/**
 * The patient's revoked grants through blocks executed on top of `committed` but not yet durable
 * (the ledger's in-flight blocks): the committed answer with the grants those blocks touched
 * re-decided against `get`, which reads the newest of them first.
 */
export function revokedGrantsThrough(options: {
  readonly committed: RevokedGrantsLookup;
  readonly pending: ReadonlyArray<{ readonly writes: ReadonlyMap<string, string | null> }>;
  readonly patient: string;
  readonly get: (key: string) => string | undefined;
}): ReadonlySet<string> | undefined {
  const base = options.committed.revokedGrantsOf(options.patient);
  if (base === undefined || options.pending.length === 0) return base;
  const touched: string[] = [];
  for (const block of options.pending) {
    const touches = grantTouchesOf(block.writes);
    if (touches.unknown) return undefined;
    touched.push(...touches.idsOf(options.patient));
  }
  return withTouchedGrants(base, touched, options.patient, options.get);
}
