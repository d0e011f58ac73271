/**
 * The FHIR R4 resource types this node stores, and the TypeScript shapes of each
 * (`@medplum/fhirtypes`, types only: nothing of Medplum runs here).
 *
 * Every table of this layer (index entries, search parameters, CapabilityStatement) is keyed by
 * `SupportedType`, so adding a type here makes the compiler list every table that must learn it.
 */
import type {
  AllergyIntolerance,
  CarePlan,
  Condition,
  DiagnosticReport,
  DocumentReference,
  Encounter,
  Immunization,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Patient,
  Procedure,
} from '@medplum/fhirtypes';

/** The resource types stored (and searchable) on this node, in CapabilityStatement order. */
export const SUPPORTED_TYPES = [
  'Patient',
  'Observation',
  'Condition',
  'AllergyIntolerance',
  'MedicationRequest',
  'MedicationStatement',
  'Immunization',
  'Procedure',
  'DiagnosticReport',
  'DocumentReference',
  'Encounter',
  'CarePlan',
] as const;

export type SupportedType = (typeof SUPPORTED_TYPES)[number];

/** The TypeScript shape of each supported resource type. */
export interface ResourceByType {
  Patient: Patient;
  Observation: Observation;
  Condition: Condition;
  AllergyIntolerance: AllergyIntolerance;
  MedicationRequest: MedicationRequest;
  MedicationStatement: MedicationStatement;
  Immunization: Immunization;
  Procedure: Procedure;
  DiagnosticReport: DiagnosticReport;
  DocumentReference: DocumentReference;
  Encounter: Encounter;
  CarePlan: CarePlan;
}

/** Any resource this node stores. */
export type StoredResource = ResourceByType[SupportedType];

const SUPPORTED = new Set<string>(SUPPORTED_TYPES);

/** True when `type` is a resource type this node stores. */
export function isSupportedType(type: unknown): type is SupportedType {
  return typeof type === 'string' && SUPPORTED.has(type);
}

/** FHIR R4 `id` datatype: 1 to 64 of `[A-Za-z0-9\-.]`. */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** True when `id` is a valid FHIR logical id (a string). */
export function isFhirId(id: unknown): boolean {
  return typeof id === 'string' && FHIR_ID.test(id);
}
