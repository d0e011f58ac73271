/**
 * A structural checker of International Patient Summary documents, for the rules of the HL7 IPS
 * IG (R4) that a generic FHIR validator does not see (it does not apply the IG's slicing):
 * document Bundle, identifier, timestamp, the Composition first and only one, exactly one
 * Patient, fullUrls, the Composition's type and subject, the required sections, section
 * narratives, and that every reference resolves inside the Bundle. Each issue has a stable code.
 */
import type { Bundle, BundleEntry, Composition } from '@medplum/fhirtypes';
import { referenceKey } from './references.js';
import { IPS_DOCUMENT_CODE, REQUIRED_SECTION_CODES } from './sections.js';

/** The stable codes of the checker's issues. */
export type IpsIssueCode =
  | 'IPS_NOT_DOCUMENT'
  | 'IPS_NO_IDENTIFIER'
  | 'IPS_NO_TIMESTAMP'
  | 'IPS_COMPOSITION_NOT_FIRST'
  | 'IPS_COMPOSITION_COUNT'
  | 'IPS_PATIENT_COUNT'
  | 'IPS_BAD_FULL_URL'
  | 'IPS_DUPLICATE_FULL_URL'
  | 'IPS_WRONG_TYPE'
  | 'IPS_SUBJECT_NOT_PATIENT'
  | 'IPS_REQUIRED_SECTION_MISSING'
  | 'IPS_SECTION_EMPTY'
  | 'IPS_NO_NARRATIVE'
  | 'IPS_DANGLING_ENTRY'
  | 'IPS_DANGLING_REFERENCE';

export interface IpsIssue {
  readonly code: IpsIssueCode;
  /** Where: a FHIRPath-like path into the Bundle (`Bundle.entry[2].resource.subject`). */
  readonly path: string;
  readonly message: string;
}

export interface IpsCheckResult {
  readonly ok: boolean;
  readonly issues: readonly IpsIssue[];
}

const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/i;
const URN_UUID = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Resolves references the way FHIR Bundles do (R4 §2.36.4): a `urn:uuid:` or absolute reference
 * matches a fullUrl; a relative `Type/id` is taken against the referring entry's base (its
 * fullUrl without `Type/id`), and for a `urn:uuid:` referrer matches an entry of that type and id.
 */
class BundleIndex {
  private readonly fullUrls = new Set<string>();
  private readonly typeIds = new Set<string>();

  constructor(entries: readonly BundleEntry[]) {
    for (const entry of entries) {
      if (entry.fullUrl !== undefined) this.fullUrls.add(entry.fullUrl);
      const resource = entry.resource;
      if (resource?.id !== undefined) this.typeIds.add(`${resource.resourceType}/${resource.id}`);
    }
  }

  resolves(reference: string, referrerFullUrl: string | undefined): boolean {
    if (this.fullUrls.has(reference)) return true;
    if (reference.startsWith('urn:') || ABSOLUTE_URL.test(reference)) return false;
    const key = referenceKey(reference);
    if (key === undefined) return false;
    const relative = `${key.type}/${key.id}`;
    const base =
      referrerFullUrl === undefined ? undefined : /^(.*\/)[A-Z][A-Za-z]+\/[^/]+$/.exec(referrerFullUrl)?.[1];
    if (base !== undefined) return this.fullUrls.has(`${base}${relative}`);
    return this.typeIds.has(relative);
  }
}

/** Every Reference (an object with a string `reference`) inside `value`, with its path. */
function referencesIn(value: unknown, path: string, out: Array<{ path: string; reference: string }>): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => referencesIn(item, `${path}[${i}]`, out));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const record = value as Record<string, unknown>;
  if (typeof record['reference'] === 'string') {
    if (!record['reference'].startsWith('#')) out.push({ path, reference: record['reference'] });
    return;
  }
  for (const [key, member] of Object.entries(record)) {
    if (key === 'contained') continue; // contained resources resolve inside their container
    referencesIn(member, `${path}.${key}`, out);
  }
}

function checkEntries(entries: readonly BundleEntry[], issues: IpsIssue[]): void {
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    const path = `Bundle.entry[${i}].fullUrl`;
    const url = entry.fullUrl;
    if (url === undefined || !(URN_UUID.test(url) || ABSOLUTE_URL.test(url))) {
      issues.push({
        code: 'IPS_BAD_FULL_URL',
        path,
        message: 'every entry needs a urn:uuid: or absolute fullUrl',
      });
    } else if (seen.has(url)) {
      issues.push({ code: 'IPS_DUPLICATE_FULL_URL', path, message: `fullUrl ${url} appears more than once` });
    }
    if (url !== undefined) seen.add(url);
  });
  const compositions = entries.filter((e) => e.resource?.resourceType === 'Composition').length;
  if (entries[0]?.resource?.resourceType !== 'Composition')
    issues.push({
      code: 'IPS_COMPOSITION_NOT_FIRST',
      path: 'Bundle.entry[0]',
      message: 'the first entry must be the Composition',
    });
  if (compositions !== 1)
    issues.push({
      code: 'IPS_COMPOSITION_COUNT',
      path: 'Bundle.entry',
      message: `expected one Composition, found ${compositions}`,
    });
  const patients = entries.filter((e) => e.resource?.resourceType === 'Patient').length;
  if (patients !== 1)
    issues.push({
      code: 'IPS_PATIENT_COUNT',
      path: 'Bundle.entry',
      message: `expected one Patient, found ${patients}`,
    });
}

function checkComposition(
  composition: Composition,
  entries: readonly BundleEntry[],
  index: BundleIndex,
  issues: IpsIssue[],
): void {
  const at = entries.findIndex((e) => e.resource === composition);
  const path = `Bundle.entry[${at}].resource`;
  const fullUrl = entries[at]?.fullUrl;
  if (
    !(composition.type.coding ?? []).some(
      (c) => c.system === 'http://loinc.org' && c.code === IPS_DOCUMENT_CODE,
    )
  )
    issues.push({
      code: 'IPS_WRONG_TYPE',
      path: `${path}.type`,
      message: `the type must be LOINC ${IPS_DOCUMENT_CODE}`,
    });
  const subject = composition.subject?.reference;
  const patientEntry = entries.find((e) => e.resource?.resourceType === 'Patient');
  const subjectIsPatient =
    subject !== undefined &&
    patientEntry !== undefined &&
    new BundleIndex([patientEntry]).resolves(subject, fullUrl);
  if (!subjectIsPatient)
    issues.push({
      code: 'IPS_SUBJECT_NOT_PATIENT',
      path: `${path}.subject`,
      message: 'the subject must be the Patient entry',
    });
  const sections = composition.section ?? [];
  for (const code of REQUIRED_SECTION_CODES) {
    if (!sections.some((s) => (s.code?.coding ?? []).some((c) => c.code === code)))
      issues.push({
        code: 'IPS_REQUIRED_SECTION_MISSING',
        path: `${path}.section`,
        message: `required section ${code} is missing`,
      });
  }
  sections.forEach((section, i) => {
    const sectionPath = `${path}.section[${i}]`;
    if (section.text?.div === undefined || section.text.div.trim() === '')
      issues.push({
        code: 'IPS_NO_NARRATIVE',
        path: `${sectionPath}.text`,
        message: 'every section needs a narrative',
      });
    if (
      (section.entry ?? []).length === 0 &&
      section.emptyReason === undefined &&
      (section.section ?? []).length === 0
    )
      issues.push({
        code: 'IPS_SECTION_EMPTY',
        path: sectionPath,
        message: 'a section needs entries or an emptyReason',
      });
    (section.entry ?? []).forEach((entry, j) => {
      if (entry.reference === undefined || !index.resolves(entry.reference, fullUrl))
        issues.push({
          code: 'IPS_DANGLING_ENTRY',
          path: `${sectionPath}.entry[${j}]`,
          message: `section entry ${entry.reference ?? '(none)'} is not in the Bundle`,
        });
    });
  });
}

/**
 * The problems of `bundle` as an International Patient Summary document (see the module comment).
 *
 * @example
 * const { ok, issues } = checkIpsDocument(bundle);
 * if (!ok) console.log(issues.map((i) => `${i.code} at ${i.path}`));
 */
export function checkIpsDocument(bundle: Bundle): IpsCheckResult {
  const issues: IpsIssue[] = [];
  if (bundle.resourceType !== 'Bundle' || bundle.type !== 'document')
    issues.push({
      code: 'IPS_NOT_DOCUMENT',
      path: 'Bundle.type',
      message: 'the Bundle must be of type document',
    });
  if (bundle.identifier?.system === undefined || bundle.identifier.value === undefined)
    issues.push({
      code: 'IPS_NO_IDENTIFIER',
      path: 'Bundle.identifier',
      message: 'a document needs an identifier (system and value)',
    });
  if (bundle.timestamp === undefined)
    issues.push({
      code: 'IPS_NO_TIMESTAMP',
      path: 'Bundle.timestamp',
      message: 'a document needs a timestamp',
    });
  const entries = bundle.entry ?? [];
  checkEntries(entries, issues);
  const index = new BundleIndex(entries);
  const composition = entries.find((e) => e.resource?.resourceType === 'Composition')?.resource as
    Composition | undefined;
  if (composition !== undefined) checkComposition(composition, entries, index, issues);
  entries.forEach((entry, i) => {
    const found: Array<{ path: string; reference: string }> = [];
    referencesIn(entry.resource, `Bundle.entry[${i}].resource`, found);
    for (const { path, reference } of found) {
      if (path.includes('.section[') && path.includes('.entry[')) continue; // reported as IPS_DANGLING_ENTRY
      if (!index.resolves(reference, entry.fullUrl))
        issues.push({
          code: 'IPS_DANGLING_REFERENCE',
          path,
          message: `reference ${reference} is not in the Bundle`,
        });
    }
  });
  return { ok: issues.length === 0, issues };
}
