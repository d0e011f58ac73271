/**
 * The human-readable narrative (`text`, status `generated`) of a patient summary: one XHTML table
 * per section and a patient header for the Composition, readable on their own. Every string that
 * comes from a resource is HTML-escaped: a display is data, never markup.
 */
import type { CodeableConcept, Narrative, Patient, Quantity, Reference, Resource } from '@medplum/fhirtypes';
import type { SectionKey, SummaryLabels } from './labels.js';

const XHTML = 'http://www.w3.org/1999/xhtml';

/** `text` with `& < > " '` replaced by their entities. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function generated(inner: string): Narrative {
  return { status: 'generated', div: `<div xmlns="${XHTML}">${inner}</div>` };
}

/** A concept as a reader sees it: its text, else the first display, else the first code. */
function conceptText(concept: CodeableConcept | undefined): string {
  if (concept === undefined) return '';
  if (concept.text !== undefined) return concept.text;
  const coding = concept.coding?.find((c) => c.display !== undefined) ?? concept.coding?.[0];
  return coding?.display ?? coding?.code ?? '';
}

function quantityText(quantity: Quantity | undefined): string {
  if (quantity?.value === undefined) return '';
  return `${quantity.value} ${quantity.unit ?? quantity.code ?? ''}`.trim();
}

function referenceText(reference: Reference | undefined): string {
  return reference?.display ?? '';
}

/**
 * The three cells of a resource's row: what it is, its status or value, and its date. Exported
 * for the web app's summary page, which builds its tables from the same cells (as React text).
 */
export function rowOf(resource: Resource): readonly [string, string, string] {
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- sections list these types only
  switch (resource.resourceType) {
    case 'Condition':
      return [
        conceptText(resource.code),
        conceptText(resource.clinicalStatus),
        resource.onsetDateTime ?? resource.recordedDate ?? '',
      ];
    case 'AllergyIntolerance':
      return [
        conceptText(resource.code),
        conceptText(resource.clinicalStatus),
        resource.onsetDateTime ?? resource.recordedDate ?? '',
      ];
    case 'MedicationStatement':
      return [
        conceptText(resource.medicationCodeableConcept) || referenceText(resource.medicationReference),
        resource.status,
        resource.effectiveDateTime ?? resource.effectivePeriod?.start ?? resource.dateAsserted ?? '',
      ];
    case 'MedicationRequest':
      return [
        conceptText(resource.medicationCodeableConcept) || referenceText(resource.medicationReference),
        resource.status,
        resource.authoredOn ?? '',
      ];
    case 'Immunization':
      return [
        conceptText(resource.vaccineCode),
        resource.status,
        resource.occurrenceDateTime ?? resource.occurrenceString ?? '',
      ];
    case 'Procedure':
      return [
        conceptText(resource.code),
        resource.status,
        resource.performedDateTime ?? resource.performedPeriod?.start ?? '',
      ];
    case 'DeviceUseStatement':
      return [
        referenceText(resource.device),
        resource.status,
        resource.recordedOn ?? resource.timingDateTime ?? '',
      ];
    case 'Observation':
      return [
        conceptText(resource.code),
        quantityText(resource.valueQuantity) ||
          conceptText(resource.valueCodeableConcept) ||
          resource.valueString ||
          (resource.component ?? [])
            .map((c) => `${conceptText(c.code)}: ${quantityText(c.valueQuantity)}`)
            .join('; '),
        resource.effectiveDateTime ?? resource.effectivePeriod?.start ?? resource.issued ?? '',
      ];
    case 'DiagnosticReport':
      return [
        conceptText(resource.code),
        resource.status,
        resource.effectiveDateTime ?? resource.issued ?? '',
      ];
    default:
      return [resource.resourceType, '', ''];
  }
}

function table(headings: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = headings.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`)
    .join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The narrative of a section listing `resources` (or saying there is no information). */
export function sectionNarrative(
  key: SectionKey,
  resources: readonly Resource[],
  labels: SummaryLabels,
): Narrative {
  const title = `<h2>${escapeHtml(labels.sections[key])}</h2>`;
  if (resources.length === 0) return generated(`${title}<p>${escapeHtml(labels.noInformation)}</p>`);
  const second = key === 'results' || key === 'vitalSigns' ? labels.columns.value : labels.columns.status;
  const headings = [labels.columns.item[key], second, labels.columns.date];
  return generated(title + table(headings, resources.map(rowOf)));
}

/** The patient's name as a reader sees it. */
export function patientName(patient: Patient): string {
  const name = patient.name?.[0];
  if (name === undefined) return '';
  return name.text ?? [...(name.prefix ?? []), ...(name.given ?? []), name.family ?? ''].join(' ').trim();
}

/**
 * The Composition's narrative: the title, a warning when records could not be reached (a reader
 * must not take a missing allergy for no allergy), and who the summary is about.
 */
export function compositionNarrative(
  patient: Patient,
  title: string,
  labels: SummaryLabels,
  incomplete = false,
): Narrative {
  const rows = [
    [labels.patient.name, patientName(patient)],
    [labels.patient.birthDate, patient.birthDate ?? ''],
    [labels.patient.gender, patient.gender ?? ''],
  ];
  const body = rows
    .map(([label = '', value = '']) => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join('');
  const warning = incomplete ? `<p><strong>${escapeHtml(labels.incomplete)}</strong></p>` : '';
  return generated(`<h1>${escapeHtml(title)}</h1>${warning}<table><tbody>${body}</tbody></table>`);
}
