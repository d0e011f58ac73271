/**
 * Builds an International Patient Summary (HL7 IPS IG, R4): a FHIR `document` Bundle whose first
 * entry is the Composition, then the Patient, then every resource a section lists (and the
 * Medications those medications reference). Pure: the time and the uuids come from the caller.
 */
import type {
  Bundle,
  BundleEntry,
  Composition,
  CompositionSection,
  MedicationRequest,
  MedicationStatement,
  Organization,
  Patient,
  Resource,
} from '@medplum/fhirtypes';
import { labelsFor, type SummaryLanguage } from './labels.js';
import { compositionNarrative, sectionNarrative } from './narrative.js';
import { referenceKey, rewriteReferences } from './references.js';
import { IPS_DOCUMENT_CODE, IPS_SECTIONS, LIST_EMPTY_REASON, LOINC } from './sections.js';

/** RFC 3986 URIs: the identifier system of a document identified by a `urn:uuid:`. */
export const URI_IDENTIFIER_SYSTEM = 'urn:ietf:rfc:3986';

export interface PatientSummaryOptions {
  /** The patient the summary is about. */
  readonly patient: Patient;
  /** The patient's resources the reader may see (any order; other patients' must not be here). */
  readonly resources: readonly Resource[];
  /** Who generated it: a reference outside the Bundle is kept as its display only. */
  /**
   * Who generated it. A `reference` to an entry of the summary is used as it is; otherwise the
   * summary carries an Organization entry named `display` (with `identifier`, e.g. the
   * organization's DID), since the IG wants the author resolvable inside the document.
   */
  readonly author: {
    readonly reference?: string;
    readonly display: string;
    readonly identifier?: { readonly system: string; readonly value: string };
  };
  readonly language: SummaryLanguage;
  readonly now: Date;
  /** A fresh RFC 4122 uuid at each call (e.g. `crypto.randomUUID`). */
  readonly newUuid: () => string;
  /** True when some of the patient's records could not be fetched (a custodian not reached). */
  readonly incomplete?: boolean;
}

const keyOf = (resource: Resource): string => `${resource.resourceType}/${resource.id ?? ''}`;

/** The Medication resources `medications` reference, among `resources`. */
function referencedMedications(medications: readonly Resource[], resources: readonly Resource[]): Resource[] {
  const wanted = new Set<string>();
  for (const m of medications) {
    const reference = (m as MedicationStatement | MedicationRequest).medicationReference?.reference;
    const key = reference === undefined ? undefined : referenceKey(reference);
    if (key?.type === 'Medication') wanted.add(`Medication/${key.id}`);
  }
  return resources.filter((r) => r.resourceType === 'Medication' && wanted.has(keyOf(r)));
}

/**
 * The IPS document of `options.patient` (see the module comment).
 *
 * @example
 * const bundle = buildPatientSummary({ patient, resources, author: { display: 'Clinic' },
 *   language: 'de', now: new Date(), newUuid: () => crypto.randomUUID() });
 */
export function buildPatientSummary(options: PatientSummaryOptions): Bundle {
  const { patient, resources, language } = options;
  const labels = labelsFor(language);
  const timestamp = options.now.toISOString();
  const urn = (): string => `urn:uuid:${options.newUuid()}`;

  const chosen = IPS_SECTIONS.map((section) => ({ section, resources: section.select(resources) }));
  const medications = chosen.find((c) => c.section.key === 'medications')?.resources ?? [];
  const included = [
    ...new Set([...chosen.flatMap((c) => c.resources), ...referencedMedications(medications, resources)]),
  ];

  const patientUrl = urn();
  const fullUrls = new Map<string, string>(included.map((r) => [keyOf(r), urn()]));
  const resolve = (reference: string): string | undefined => {
    const key = referenceKey(reference);
    if (key === undefined) return undefined;
    // Every record given is this patient's (gathered by the patient's DID, whichever custodian's
    // Patient resource it names): a patient reference is a reference to the summary's Patient.
    if (key.type === 'Patient') return patientUrl;
    return fullUrls.get(`${key.type}/${key.id}`);
  };
  const rewrite = <T extends Resource>(resource: T): T =>
    rewriteReferences(resource, {
      resolve,
      requiredDisplays: { medicationReference: labels.unknownMedication },
    });

  const sections: CompositionSection[] = chosen
    .filter((c) => c.section.requirement === 'required' || c.resources.length > 0)
    .map(({ section, resources: listed }) => ({
      title: labels.sections[section.key],
      code: { coding: [{ system: LOINC, code: section.code, display: section.display }] },
      text: sectionNarrative(section.key, listed, labels),
      ...(listed.length > 0
        ? { entry: listed.map((r) => ({ reference: fullUrls.get(keyOf(r)) ?? '' })) }
        : {
            emptyReason: {
              coding: [{ system: LIST_EMPTY_REASON, code: 'unavailable', display: 'Unavailable' }],
              text: labels.noInformation,
            },
          }),
    }));

  const title = labels.documentTitle;
  const compositionId = options.newUuid();
  const { author } = options;
  const resolvedAuthor = author.reference === undefined ? undefined : resolve(author.reference);
  const authorOrganization: Organization | undefined =
    resolvedAuthor === undefined
      ? {
          resourceType: 'Organization',
          id: options.newUuid(),
          name: author.display,
          ...(author.identifier === undefined ? {} : { identifier: [{ ...author.identifier }] }),
        }
      : undefined;
  const authorUrl = resolvedAuthor ?? `urn:uuid:${authorOrganization?.id ?? ''}`;
  const composition: Composition = {
    resourceType: 'Composition',
    id: compositionId,
    language,
    text: compositionNarrative(patient, title, labels, options.incomplete ?? false),
    status: 'final',
    type: { coding: [{ system: LOINC, code: IPS_DOCUMENT_CODE, display: 'Patient summary Document' }] },
    subject: { reference: patientUrl },
    date: timestamp,
    author: [{ reference: authorUrl, display: author.display }],
    title,
    confidentiality: 'N',
    section: sections,
  };

  const entries: BundleEntry[] = [
    { fullUrl: `urn:uuid:${compositionId}`, resource: composition },
    { fullUrl: patientUrl, resource: rewrite(patient) },
    ...included.map((r) => ({ fullUrl: fullUrls.get(keyOf(r)) ?? '', resource: rewrite(r) })),
    ...(authorOrganization === undefined ? [] : [{ fullUrl: authorUrl, resource: authorOrganization }]),
  ];
  return {
    resourceType: 'Bundle',
    identifier: { system: URI_IDENTIFIER_SYSTEM, value: urn() },
    type: 'document',
    timestamp,
    entry: entries,
  };
}
