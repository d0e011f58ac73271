/**
 * A resource reduced to index entries: everything search, sort and `$everything` need, and
 * nothing else. Queries are answered from entries only (`match.ts`), never by reading the
 * resource, so a repository that keeps resources encrypted can store entries as keyed tokens
 * (HMAC of the token key) and numeric date ranges, and answer the same queries.
 *
 * What each type contributes is one table, INDEX_TABLE; SEARCH_PARAMETERS (and through it the
 * CapabilityStatement and the search parser) is derived from it, so they cannot drift.
 */
import type { SupportedType, StoredResource } from '../types.js';
import { FHIR_ID, SUPPORTED_TYPES } from '../types.js';
import { type TimeRange, parseDateRange, periodRange } from './dates.js';
import { codingKeys } from './tokens.js';

/** Token parameters: equality on token keys (see tokens.ts). */
export type TokenParam = '_id' | 'code' | 'category' | 'identifier';
/** Date parameters: a [start, end) range per resource. */
export type DateParam = 'date' | '_lastUpdated';

/** One fact a resource contributes to the index. */
export type IndexEntry =
  /** A token key: `_id` (the id), `code`/`category`/`identifier` (`system|code`, `system|`, `code`, `|code`). */
  | { readonly kind: 'token'; readonly param: TokenParam; readonly value: string }
  /** The patient the resource belongs to, as `Patient/<id>` (a Patient points to itself). */
  | { readonly kind: 'reference'; readonly param: 'patient'; readonly value: string }
  /** A date as epoch milliseconds, start <= t < end. */
  | { readonly kind: 'date'; readonly param: DateParam; readonly start: number; readonly end: number };

/** An element holding codes; `system` is the implicit code system of a `code`-typed element. */
export type TokenSource = string | { readonly path: string; readonly system: string };

/** What one resource type contributes (paths are dotted element paths; arrays are walked). */
export interface TypeIndexSpec {
  /** Elements whose Reference points to the patient; `self` for Patient (its own reference). */
  readonly patient: 'self' | readonly string[];
  /** Elements whose codings are the `code` tokens (CodeableConcept, Coding, code, or arrays of them). */
  readonly code: readonly TokenSource[];
  /** Elements whose codings are the `category` tokens. */
  readonly category: readonly TokenSource[];
  /** Elements read for the clinical `date`, in order: the first that holds a date/dateTime/instant/Period wins. */
  readonly date: readonly string[];
  /** Elements holding Identifiers (`system|value` tokens). */
  readonly identifier: readonly string[];
}

/**
 * The index-entry table. Every type also contributes `_id` and `_lastUpdated` (meta.lastUpdated).
 *
 * | type                | patient        | code                       | category         | date (first present)                                 |
 * |---------------------|----------------|----------------------------|------------------|------------------------------------------------------|
 * | Patient             | itself         | —                          | —                | —                                                    |
 * | Observation         | subject        | code                       | category         | effectiveDateTime, effectivePeriod, effectiveInstant, issued |
 * | Condition           | subject        | code                       | category         | onsetDateTime, onsetPeriod, recordedDate             |
 * | AllergyIntolerance  | patient        | code                       | category (code)  | recordedDate, onsetDateTime, onsetPeriod             |
 * | MedicationRequest   | subject        | medicationCodeableConcept  | category         | authoredOn                                           |
 * | MedicationStatement | subject        | medicationCodeableConcept  | category         | effectiveDateTime, effectivePeriod, dateAsserted     |
 * | Immunization        | patient        | vaccineCode                | —                | occurrenceDateTime, recorded                         |
 * | Procedure           | subject        | code                       | category         | performedDateTime, performedPeriod                   |
 * | DiagnosticReport    | subject        | code                       | category         | effectiveDateTime, effectivePeriod, issued           |
 * | DocumentReference   | subject        | type                       | category         | date, context.period                                 |
 * | Encounter           | subject        | type                       | class            | period                                               |
 * | CarePlan            | subject        | —                          | category         | period, created                                      |
 *
 * Identifiers: `identifier` everywhere, plus `masterIdentifier` for DocumentReference (for
 * Patient, system `urn:ietf:rfc:3986` holds the patient's DID).
 * Not indexed: a medication given as a Reference (medicationReference), dates given as Age,
 * Range, string or Timing, and references that are not relative `Patient/<id>` (absolute URLs,
 * `urn:uuid:` left dangling by an import, Group or Device subjects).
 */
export const INDEX_TABLE = {
  Patient: { patient: 'self', code: [], category: [], date: [], identifier: ['identifier'] },
  Observation: {
    patient: ['subject'],
    code: ['code'],
    category: ['category'],
    date: ['effectiveDateTime', 'effectivePeriod', 'effectiveInstant', 'issued'],
    identifier: ['identifier'],
  },
  Condition: {
    patient: ['subject'],
    code: ['code'],
    category: ['category'],
    date: ['onsetDateTime', 'onsetPeriod', 'recordedDate'],
    identifier: ['identifier'],
  },
  AllergyIntolerance: {
    patient: ['patient'],
    code: ['code'],
    category: [{ path: 'category', system: 'http://hl7.org/fhir/allergy-intolerance-category' }],
    date: ['recordedDate', 'onsetDateTime', 'onsetPeriod'],
    identifier: ['identifier'],
  },
  MedicationRequest: {
    patient: ['subject'],
    code: ['medicationCodeableConcept'],
    category: ['category'],
    date: ['authoredOn'],
    identifier: ['identifier'],
  },
  MedicationStatement: {
    patient: ['subject'],
    code: ['medicationCodeableConcept'],
    category: ['category'],
    date: ['effectiveDateTime', 'effectivePeriod', 'dateAsserted'],
    identifier: ['identifier'],
  },
  Immunization: {
    patient: ['patient'],
    code: ['vaccineCode'],
    category: [],
    date: ['occurrenceDateTime', 'recorded'],
    identifier: ['identifier'],
  },
  Procedure: {
    patient: ['subject'],
    code: ['code'],
    category: ['category'],
    date: ['performedDateTime', 'performedPeriod'],
    identifier: ['identifier'],
  },
  DiagnosticReport: {
    patient: ['subject'],
    code: ['code'],
    category: ['category'],
    date: ['effectiveDateTime', 'effectivePeriod', 'issued'],
    identifier: ['identifier'],
  },
  DocumentReference: {
    patient: ['subject'],
    code: ['type'],
    category: ['category'],
    date: ['date', 'context.period'],
    identifier: ['masterIdentifier', 'identifier'],
  },
  Encounter: {
    patient: ['subject'],
    code: ['type'],
    category: ['class'],
    date: ['period'],
    identifier: ['identifier'],
  },
  CarePlan: {
    patient: ['subject'],
    code: [],
    category: ['category'],
    date: ['period', 'created'],
    identifier: ['identifier'],
  },
} as const satisfies Record<SupportedType, TypeIndexSpec>;

const TABLE: Readonly<Record<SupportedType, TypeIndexSpec>> = INDEX_TABLE;

const PATIENT_REFERENCE = new RegExp(`^Patient/(${FHIR_ID.source.slice(1, -1)})(?:/_history/[^/]+)?$`);

/** `Patient/<id>`: the reference value of the patient compartment (index entries and queries). */
export function patientReference(id: string): string {
  return `Patient/${id}`;
}

/** `Patient/<id>` when `reference` is a relative Patient reference (a version suffix is dropped), else undefined. */
export function normalizePatientReference(reference: string): string | undefined {
  const m = PATIENT_REFERENCE.exec(reference);
  return m?.[1] === undefined ? undefined : patientReference(m[1]);
}

/** The values at a dotted path, arrays flattened at every step. */
function valuesAt(value: unknown, path: string): unknown[] {
  let current: unknown[] = [value];
  for (const name of path.split('.')) {
    const next: unknown[] = [];
    for (const item of current) {
      if (typeof item !== 'object' || item === null) continue;
      const member = (item as Record<string, unknown>)[name];
      if (Array.isArray(member)) next.push(...(member as unknown[]));
      else if (member !== undefined) next.push(member);
    }
    current = next;
  }
  return current;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Token keys of a CodeableConcept, Coding, or code (with its implicit system). */
function tokenKeysOf(value: unknown, implicitSystem: string | undefined): string[] {
  if (typeof value === 'string') return codingKeys(implicitSystem, value);
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, unknown>;
  if (Array.isArray(record['coding'])) {
    return (record['coding'] as unknown[]).flatMap((coding) => tokenKeysOf(coding, undefined));
  }
  return codingKeys(str(record['system']), str(record['code']));
}

/** The [start, end) range of a date, dateTime, instant or Period value; undefined for anything else. */
export function dateValueRange(value: unknown): TimeRange | undefined {
  if (typeof value === 'string') return parseDateRange(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return periodRange(value);
  }
  return undefined;
}

/**
 * The index entries of a resource of a supported type (see INDEX_TABLE). Token entries are
 * deduplicated per parameter. The resource should carry its id and meta.lastUpdated (the
 * repository indexes what it stores); without them there is no `_id`, patient (for a Patient)
 * or `_lastUpdated` entry.
 */
export function indexEntries(resource: StoredResource): IndexEntry[] {
  const spec = TABLE[resource.resourceType];
  const entries: IndexEntry[] = [];
  const id = resource.id;

  if (id !== undefined) entries.push({ kind: 'token', param: '_id', value: id });

  const patients = new Set<string>();
  if (spec.patient === 'self') {
    if (id !== undefined) patients.add(patientReference(id));
  } else {
    for (const path of spec.patient) {
      for (const ref of valuesAt(resource, path)) {
        const reference = str((ref as { reference?: unknown } | null)?.reference);
        const normalized = reference === undefined ? undefined : normalizePatientReference(reference);
        if (normalized !== undefined) patients.add(normalized);
      }
    }
  }
  for (const value of patients) entries.push({ kind: 'reference', param: 'patient', value });

  const tokens = (param: TokenParam, sources: readonly TokenSource[]): void => {
    const keys = new Set<string>();
    for (const source of sources) {
      const [path, system] = typeof source === 'string' ? [source, undefined] : [source.path, source.system];
      for (const value of valuesAt(resource, path))
        for (const key of tokenKeysOf(value, system)) keys.add(key);
    }
    for (const value of keys) entries.push({ kind: 'token', param, value });
  };
  tokens('code', spec.code);
  tokens('category', spec.category);

  const identifiers = new Set<string>();
  for (const path of spec.identifier) {
    for (const value of valuesAt(resource, path)) {
      if (typeof value !== 'object' || value === null) continue;
      const { system, value: v } = value as { system?: unknown; value?: unknown };
      for (const key of codingKeys(str(system), str(v))) identifiers.add(key);
    }
  }
  for (const value of identifiers) entries.push({ kind: 'token', param: 'identifier', value });

  const date = dateRangeOf(resource, 'date');
  if (date !== undefined) entries.push({ kind: 'date', param: 'date', start: date.start, end: date.end });
  const updated = dateRangeOf(resource, '_lastUpdated');
  if (updated !== undefined)
    entries.push({ kind: 'date', param: '_lastUpdated', start: updated.start, end: updated.end });

  return entries;
}

/**
 * The range of a resource's `date` (its first clinical date value, by the table's paths) or
 * `_lastUpdated` (meta.lastUpdated) entry: what {@link indexEntries} gives for `param`, without
 * extracting every other entry (a page checks a remote record's claimed sort key with it).
 */
export function dateRangeOf(resource: StoredResource, param: DateParam): TimeRange | undefined {
  if (param === '_lastUpdated') {
    const lastUpdated = resource.meta?.lastUpdated;
    return lastUpdated === undefined ? undefined : parseDateRange(lastUpdated);
  }
  for (const path of TABLE[resource.resourceType].date) {
    const range = valuesAt(resource, path)
      .map(dateValueRange)
      .find((r) => r !== undefined);
    if (range !== undefined) return range;
  }
  return undefined;
}

/** The names of the search parameters this server understands. */
export type SearchParamName =
  '_id' | '_lastUpdated' | 'identifier' | 'patient' | 'subject' | 'code' | 'category' | 'date';

/** One search parameter of one type, for the parser and the CapabilityStatement. */
export interface SearchParameterInfo {
  readonly name: SearchParamName;
  readonly type: 'token' | 'reference' | 'date';
  /** The index parameter it is answered from. */
  readonly index: TokenParam | DateParam | 'patient';
  /** Which elements it searches (shown in the CapabilityStatement). */
  readonly documentation: string;
}

function describe(type: string, sources: readonly TokenSource[]): string {
  return sources.map((s) => `${type}.${typeof s === 'string' ? s : s.path}`).join(' | ');
}

function parametersOf(type: SupportedType): SearchParameterInfo[] {
  const spec = TABLE[type];
  const params: SearchParameterInfo[] = [
    { name: '_id', type: 'token', index: '_id', documentation: `${type}.id; a comma separates alternatives` },
    {
      name: '_lastUpdated',
      type: 'date',
      index: '_lastUpdated',
      documentation: `${type}.meta.lastUpdated; prefixes eq ne lt gt le ge sa eb ap`,
    },
    {
      name: 'identifier',
      type: 'token',
      index: 'identifier',
      documentation:
        `${describe(type, spec.identifier)} as system|value` +
        (type === 'Patient' ? '; system urn:ietf:rfc:3986 holds the patient DID' : ''),
    },
  ];
  if (spec.patient !== 'self') {
    const elements = describe(type, spec.patient);
    params.push({
      name: 'patient',
      type: 'reference',
      index: 'patient',
      documentation: `${elements}: Patient/<id> or <id>`,
    });
    if (spec.patient.includes('subject')) {
      params.push({
        name: 'subject',
        type: 'reference',
        index: 'patient',
        documentation: `${type}.subject: Patient references only (Patient/<id> or <id>)`,
      });
    }
  }
  if (spec.code.length > 0) {
    params.push({
      name: 'code',
      type: 'token',
      index: 'code',
      documentation: `${describe(type, spec.code)}, every coding: system|code, |code, system| or code`,
    });
  }
  if (spec.category.length > 0) {
    params.push({
      name: 'category',
      type: 'token',
      index: 'category',
      documentation: `${describe(type, spec.category)}`,
    });
  }
  if (spec.date.length > 0) {
    params.push({
      name: 'date',
      type: 'date',
      index: 'date',
      documentation: `first present of ${describe(type, spec.date)}; prefixes eq ne lt gt le ge sa eb ap`,
    });
  }
  return params;
}

/** The search parameters of each supported type, derived from INDEX_TABLE. */
export const SEARCH_PARAMETERS: Readonly<Record<SupportedType, readonly SearchParameterInfo[]>> =
  Object.freeze(
    Object.fromEntries(SUPPORTED_TYPES.map((type) => [type, Object.freeze(parametersOf(type))])) as Record<
      SupportedType,
      readonly SearchParameterInfo[]
    >,
  );

/** The sort orders of each type: `_lastUpdated`, and `date` where the type has a clinical date. */
export function sortParametersOf(type: SupportedType): readonly ('date' | '_lastUpdated')[] {
  return TABLE[type].date.length > 0 ? ['date', '_lastUpdated'] : ['_lastUpdated'];
}
