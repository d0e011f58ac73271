/**
 * A patient summary (an IPS `document` Bundle) as something to show: the patient header and the
 * Composition's sections as rows of plain cells, taken from the entries' structured data. The
 * narrative XHTML of the document is never used: the same view shows documents from other
 * sources (a link a patient brings), and their markup is not trusted. Also: the reader's language,
 * the patient's own summary built in the browser, and the downloadable FHIR document.
 */
import type { Bundle, CodeableConcept, Composition, Patient, Resource } from '@medplum/fhirtypes';
import {
  buildPatientSummary,
  escapeHtml,
  IPS_SECTIONS,
  labelsFor,
  rowOf,
  SUMMARY_LANGUAGES,
  URI_IDENTIFIER_SYSTEM,
  type SectionKey,
  type SummaryLabels,
  type SummaryLanguage,
} from '../../../src/fhir/ips/index.js';

export type { SummaryLanguage };
export { SUMMARY_LANGUAGES, labelsFor };

/** One row of a section's table: what, its status or value, and when. */
export interface SummaryRow {
  readonly key: string;
  readonly item: string;
  readonly second: string;
  readonly date: string;
}

export interface SummarySection {
  readonly code: string | undefined;
  /** In the reader's language for the sections this app knows; the document's title otherwise. */
  readonly title: string;
  readonly headings: readonly [string, string, string];
  readonly rows: readonly SummaryRow[];
  /** Why the section is empty (its text, or "no information"), when it lists nothing. */
  readonly empty: string | undefined;
}

export interface SummaryView {
  readonly title: string;
  readonly patient: { readonly name: string; readonly birthDate: string; readonly gender: string };
  readonly author: string;
  readonly date: string;
  readonly incomplete: boolean;
  readonly sections: readonly SummarySection[];
}

const LANGUAGE_NAMES: Readonly<Record<SummaryLanguage, string>> = {
  en: 'English',
  de: 'Deutsch',
  fr: 'Français',
  es: 'Español',
};

export function languageName(language: SummaryLanguage): string {
  return LANGUAGE_NAMES[language];
}

/** The first of the browser's preferred languages (`navigator.languages`) a summary can be in. */
export function preferredLanguage(
  languages: readonly string[] = globalThis.navigator?.languages ?? [],
): SummaryLanguage {
  for (const tag of languages) {
    const primary = tag.toLowerCase().split('-')[0] ?? '';
    const found = SUMMARY_LANGUAGES.find((l) => l === primary);
    if (found !== undefined) return found;
  }
  return 'en';
}

function conceptText(concept: CodeableConcept | undefined): string {
  if (concept === undefined) return '';
  if (concept.text !== undefined) return concept.text;
  const coding = concept.coding?.find((c) => c.display !== undefined) ?? concept.coding?.[0];
  return coding?.display ?? coding?.code ?? '';
}

/**
 * The cells of one entry, as the document's own narrative has them ([what, status or value,
 * date]); a medication or device named only by a reference inside the Bundle gets its name there.
 */
function cellsOf(
  resource: Resource,
  byUrl: ReadonlyMap<string, Resource>,
): readonly [string, string, string] {
  const [item, second, date] = rowOf(resource);
  if (item !== '') return [item, second, date];
  const reference =
    resource.resourceType === 'MedicationStatement' || resource.resourceType === 'MedicationRequest'
      ? resource.medicationReference?.reference
      : resource.resourceType === 'DeviceUseStatement'
        ? resource.device.reference
        : undefined;
  const target = reference === undefined ? undefined : byUrl.get(reference);
  const name =
    target?.resourceType === 'Medication'
      ? conceptText(target.code)
      : target?.resourceType === 'Device'
        ? (target.deviceName?.[0]?.name ?? conceptText(target.type))
        : '';
  return [name, second, date];
}

function patientName(patient: Patient | undefined): string {
  const name = patient?.name?.[0];
  if (name === undefined) return '';
  return name.text ?? [...(name.prefix ?? []), ...(name.given ?? []), name.family ?? ''].join(' ').trim();
}

const SECTION_KEYS: ReadonlyMap<string, SectionKey> = new Map(IPS_SECTIONS.map((s) => [s.code, s.key]));

/**
 * Whether the document says records are missing: our builder writes the `incomplete` sentence
 * (in its language) into the Composition's narrative; it is compared as escaped text, not parsed.
 */
function saysIncomplete(composition: Composition): boolean {
  const div = composition.text?.div ?? '';
  return SUMMARY_LANGUAGES.some((l) => div.includes(escapeHtml(labelsFor(l).incomplete)));
}

function headingsOf(key: SectionKey | undefined, labels: SummaryLabels): [string, string, string] {
  const { columns } = labels;
  const second = key === 'results' || key === 'vitalSigns' ? columns.value : columns.status;
  return [key === undefined ? '' : columns.item[key], second, columns.date];
}

/** Thrown when a Bundle is not a patient summary document (no Composition first). */
export class NotASummaryError extends Error {
  readonly code = 'NOT_A_SUMMARY';
}

/**
 * The view of `bundle` with its frame (titles, headings) in `language`. Entries are looked up by
 * `fullUrl`; a section entry that does not resolve inside the Bundle is left out.
 */
export function summaryView(bundle: Bundle, language: SummaryLanguage): SummaryView {
  const labels = labelsFor(language);
  const entries = bundle.entry ?? [];
  const composition = entries[0]?.resource;
  if (bundle.type !== 'document' || composition?.resourceType !== 'Composition') {
    throw new NotASummaryError('This is not a patient summary document (no Composition first).');
  }
  const byUrl = new Map<string, Resource>();
  for (const entry of entries) {
    if (entry.fullUrl !== undefined && entry.resource !== undefined) byUrl.set(entry.fullUrl, entry.resource);
  }
  const subject =
    composition.subject?.reference === undefined ? undefined : byUrl.get(composition.subject.reference);
  const patient = subject?.resourceType === 'Patient' ? subject : undefined;
  const sections = (composition.section ?? []).map((section, index): SummarySection => {
    const code = section.code?.coding?.find((c) => c.code !== undefined)?.code;
    const key = code === undefined ? undefined : SECTION_KEYS.get(code);
    const rows = (section.entry ?? []).flatMap((reference, row): SummaryRow[] => {
      const resource = reference.reference === undefined ? undefined : byUrl.get(reference.reference);
      if (resource === undefined) return [];
      const [item, second, date] = cellsOf(resource, byUrl);
      return [{ key: `${index}-${row}`, item, second, date }];
    });
    return {
      code,
      title: key === undefined ? (section.title ?? conceptText(section.code)) : labels.sections[key],
      headings: headingsOf(key, labels),
      rows,
      // A known section says "no information" in the reader's language; another keeps its own words.
      empty:
        rows.length > 0
          ? undefined
          : key === undefined
            ? (section.emptyReason?.text ?? labels.noInformation)
            : labels.noInformation,
    };
  });
  return {
    title: labels.documentTitle,
    patient: {
      name: patientName(patient),
      birthDate: patient?.birthDate ?? '',
      gender: patient?.gender ?? '',
    },
    author:
      composition.author
        ?.map((a) => a.display ?? '')
        .filter((a) => a !== '')
        .join(', ') ?? '',
    date: composition.date ?? bundle.timestamp ?? '',
    incomplete: saysIncomplete(composition),
    sections,
  };
}

/**
 * The patient's own summary, built in this browser from their decrypted records (the node cannot
 * open records other custodians keep; the wallet can). Authored by the patient, named by DID.
 */
export function buildMySummary(options: {
  readonly did: string;
  readonly resources: readonly Resource[];
  readonly language: SummaryLanguage;
  readonly incomplete?: boolean;
}): Bundle {
  const patients = options.resources.filter((r): r is Patient => r.resourceType === 'Patient');
  const patient: Patient = patients[0] ?? {
    resourceType: 'Patient',
    id: 'me',
    identifier: [{ system: URI_IDENTIFIER_SYSTEM, value: options.did }],
  };
  return buildPatientSummary({
    patient,
    resources: options.resources.filter((r) => r.resourceType !== 'Patient'),
    author: {
      display: 'The patient (Roam wallet)',
      identifier: { system: URI_IDENTIFIER_SYSTEM, value: options.did },
    },
    language: options.language,
    now: new Date(),
    newUuid: () => globalThis.crypto.randomUUID(),
    incomplete: options.incomplete ?? false,
  });
}

/** `patient-summary-2026-12-05.fhir.json`: the document's date, so several downloads sort. */
export function summaryFileName(bundle: Bundle): string {
  const day = (bundle.timestamp ?? new Date().toISOString()).slice(0, 10);
  return `patient-summary-${/^\d{4}-\d{2}-\d{2}$/.test(day) ? day : 'undated'}.fhir.json`;
}
