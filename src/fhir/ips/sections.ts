/**
 * The sections of an International Patient Summary (HL7 IPS IG, R4): their LOINC codes, whether
 * the guide requires them, and which of the patient's resources each one lists (after the
 * clinical filters of filters.ts). Order is the order of the Composition's sections.
 */
import type {
  AllergyIntolerance,
  Condition,
  DiagnosticReport,
  Immunization,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Procedure,
  Resource,
} from '@medplum/fhirtypes';
import {
  happened,
  isCurrentFinding,
  isCurrentMedication,
  isLaboratoryResult,
  isVitalSign,
  latestPerCode,
} from './filters.js';
import type { SectionKey } from './labels.js';

export const LOINC = 'http://loinc.org';
/** LOINC "Patient summary Document", the Composition type of every IPS. */
export const IPS_DOCUMENT_CODE = '60591-5';
/** The code system of `Composition.section.emptyReason`. */
export const LIST_EMPTY_REASON = 'http://terminology.hl7.org/CodeSystem/list-empty-reason';

/** Required: always present (entries or an emptyReason); recommended/optional: when there is data. */
export type SectionRequirement = 'required' | 'recommended' | 'optional';

export interface SectionDefinition {
  readonly key: SectionKey;
  /** LOINC code of the section. */
  readonly code: string;
  /** LOINC display of the code (codes keep their own displays, whatever the language). */
  readonly display: string;
  readonly requirement: SectionRequirement;
  /** The resources of the patient this section lists, in their input order. */
  readonly select: (resources: readonly Resource[]) => Resource[];
}

function ofType<K extends Resource['resourceType']>(
  resources: readonly Resource[],
  ...types: K[]
): Extract<Resource, { resourceType: K }>[] {
  return resources.filter((r): r is Extract<Resource, { resourceType: K }> =>
    (types as string[]).includes(r.resourceType),
  );
}

/** Every section of an IPS, in document order. */
export const IPS_SECTIONS: readonly SectionDefinition[] = [
  {
    key: 'problems',
    code: '11450-4',
    display: 'Problem list - Reported',
    requirement: 'required',
    select: (all) => ofType(all, 'Condition').filter((c: Condition) => isCurrentFinding(c)),
  },
  {
    key: 'allergies',
    code: '48765-2',
    display: 'Allergies and adverse reactions Document',
    requirement: 'required',
    select: (all) => ofType(all, 'AllergyIntolerance').filter((a: AllergyIntolerance) => isCurrentFinding(a)),
  },
  {
    key: 'medications',
    code: '10160-0',
    display: 'History of Medication use Narrative',
    requirement: 'required',
    select: (all) =>
      ofType(all, 'MedicationStatement', 'MedicationRequest').filter(
        (m: MedicationStatement | MedicationRequest) => isCurrentMedication(m),
      ),
  },
  {
    key: 'immunizations',
    code: '11369-6',
    display: 'History of Immunization Narrative',
    requirement: 'recommended',
    select: (all) => ofType(all, 'Immunization').filter((i: Immunization) => happened(i)),
  },
  {
    key: 'procedures',
    code: '47519-4',
    display: 'History of Procedures Document',
    requirement: 'recommended',
    select: (all) => ofType(all, 'Procedure').filter((p: Procedure) => happened(p)),
  },
  {
    key: 'devices',
    code: '46264-8',
    display: 'History of medical device use',
    requirement: 'recommended',
    select: (all) => ofType(all, 'DeviceUseStatement').filter((d) => d.status !== 'entered-in-error'),
  },
  {
    key: 'results',
    code: '30954-2',
    display: 'Relevant diagnostic tests/laboratory data Narrative',
    requirement: 'recommended',
    select: (all) => [
      ...latestPerCode(ofType(all, 'Observation').filter((o: Observation) => isLaboratoryResult(o))),
      ...latestPerCode(
        ofType(all, 'DiagnosticReport').filter((d: DiagnosticReport) => isLaboratoryResult(d)),
      ),
    ],
  },
  {
    key: 'vitalSigns',
    code: '8716-3',
    display: 'Vital signs',
    requirement: 'optional',
    select: (all) => latestPerCode(ofType(all, 'Observation').filter((o: Observation) => isVitalSign(o))),
  },
];

/** The LOINC codes of the sections the IPS guide requires. */
export const REQUIRED_SECTION_CODES: readonly string[] = IPS_SECTIONS.filter(
  (s) => s.requirement === 'required',
).map((s) => s.code);
