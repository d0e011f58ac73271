/**
 * The clinical filters of a patient summary, like a careful IPS generator applies them: what is
 * current goes in (active or unknown medications; conditions and allergies not inactive, resolved
 * or refuted; procedures and immunizations that happened), what was withdrawn or never happened
 * stays out (entered-in-error, not-done, stopped, completed), and of repeated measurements only
 * the latest per code. Pure functions over FHIR R4 resources.
 */
import type {
  AllergyIntolerance,
  CodeableConcept,
  Condition,
  DiagnosticReport,
  Immunization,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Procedure,
  Resource,
} from '@medplum/fhirtypes';

/** MedicationStatement statuses that are current (or may be: `unknown`). */
const CURRENT_STATEMENT = new Set(['active', 'intended', 'on-hold', 'unknown']);
/** MedicationRequest statuses that are current (or may be). */
const CURRENT_REQUEST = new Set(['active', 'on-hold', 'unknown']);
/** Clinical statuses of conditions and allergies that are over. */
const ENDED_CLINICAL = new Set(['inactive', 'resolved', 'remission']);
/** Verification statuses that mean "not so". */
const WITHDRAWN_VERIFICATION = new Set(['entered-in-error', 'refuted']);
/** Statuses of events that did not happen (or were recorded by mistake). */
const NOT_HAPPENED = new Set(['entered-in-error', 'not-done']);
/** Observation / DiagnosticReport statuses whose values do not stand. */
const VOID_RESULT = new Set(['entered-in-error', 'cancelled']);

/** The first code of `concept`, as `system|code` (or its text), to group by. */
export function conceptKey(concept: CodeableConcept | undefined): string | undefined {
  const coding = concept?.coding?.find((c) => c.code !== undefined);
  if (coding !== undefined) return `${coding.system ?? ''}|${coding.code ?? ''}`;
  return concept?.text;
}

function codesOf(concept: CodeableConcept | undefined): string[] {
  return (concept?.coding ?? []).flatMap((c) => (c.code === undefined ? [] : [c.code]));
}

function hasCategory(categories: readonly CodeableConcept[] | undefined, codes: readonly string[]): boolean {
  return (categories ?? []).some((c) => codesOf(c).some((code) => codes.includes(code)));
}

/** True for a medication the patient takes or may take. */
export function isCurrentMedication(resource: MedicationStatement | MedicationRequest): boolean {
  const status = resource.status ?? 'unknown';
  return resource.resourceType === 'MedicationStatement'
    ? CURRENT_STATEMENT.has(status)
    : CURRENT_REQUEST.has(status);
}

/** True for a condition or allergy that is not over and not withdrawn (an absent status counts). */
export function isCurrentFinding(resource: Condition | AllergyIntolerance): boolean {
  const clinical = codesOf(resource.clinicalStatus);
  const verification = codesOf(resource.verificationStatus);
  if (clinical.some((code) => ENDED_CLINICAL.has(code))) return false;
  return !verification.some((code) => WITHDRAWN_VERIFICATION.has(code));
}

/** True for a procedure or immunization that took place. */
export function happened(resource: Procedure | Immunization): boolean {
  return !NOT_HAPPENED.has(resource.status ?? '');
}

/** True for a vital-sign Observation whose value stands. */
export function isVitalSign(resource: Observation): boolean {
  return hasCategory(resource.category, ['vital-signs']) && !VOID_RESULT.has(resource.status);
}

/** True for a laboratory Observation or DiagnosticReport whose value stands. */
export function isLaboratoryResult(resource: Observation | DiagnosticReport): boolean {
  return hasCategory(resource.category, ['laboratory', 'LAB']) && !VOID_RESULT.has(resource.status);
}

/** When a result or measurement was taken (for "latest"); the empty string when unknown. */
export function effectiveTime(resource: Observation | DiagnosticReport): string {
  return (
    resource.effectiveDateTime ??
    resource.effectivePeriod?.end ??
    resource.effectivePeriod?.start ??
    resource.issued ??
    ''
  );
}

/**
 * The latest resource per code: one per `conceptKey(code)` (resources without one are kept
 * each), the one with the latest `effectiveTime` (compared as instants). Keeps input order.
 */
export function latestPerCode<T extends Observation | DiagnosticReport>(resources: readonly T[]): T[] {
  const latest = new Map<string, T>();
  const uncoded: T[] = [];
  const timeOf = (r: T): number => {
    const ms = Date.parse(effectiveTime(r));
    return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
  };
  for (const resource of resources) {
    const key = conceptKey(resource.code);
    if (key === undefined) {
      uncoded.push(resource);
      continue;
    }
    const held = latest.get(key);
    if (held === undefined || timeOf(resource) > timeOf(held)) latest.set(key, resource);
  }
  const kept = new Set<Resource>([...latest.values(), ...uncoded]);
  return resources.filter((r) => kept.has(r));
}
