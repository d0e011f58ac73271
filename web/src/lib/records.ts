/**
 * Health records for display: the patient's own records decrypted in the browser with the
 * wallet's record keys, and plain-language views of FHIR resources (timeline rows, summaries,
 * numeric series for charts), whatever way they were obtained.
 */
import type { Bundle, Resource as FhirResource } from '@medplum/fhirtypes';
import { signPatientProofAsync } from '../../../src/client/patient-proof.js';
import { recordsDigest } from '../../../src/client/share-link-keys.js';
import { fetchMyEncryptedRecords } from '../../../src/client/vault.js';
import { buildOwnSummary, type SummaryLanguage } from '../../../src/fhir/ips/index.js';
import type { RecordsGap } from '../../../src/wire/index.js';
import { openOwnRecordsAsync } from '../../../src/vault/own-records.js';
import { deriveRecordKeySeed, type Wallet } from '../../../src/wallet/wallet.js';
import { browserFetch, ledger, NODE_URL } from './node.js';

/** A FHIR resource, loosely typed. */
export type Resource = Record<string, unknown> & { resourceType: string; id?: string };

export interface DecryptedRecord {
  readonly resource: Resource;
  readonly custodian: string;
  readonly author: string;
  readonly createdAt: number;
}

/** The patient's whole record as the wallet opened it. */
export interface MyRecords {
  readonly records: DecryptedRecord[];
  /** Records the wallet could not open (wrong key, altered bytes). */
  readonly failed: number;
  /** Custodians whose records are missing or incomplete (not reached, refused, truncated). */
  readonly incomplete: readonly RecordsGap[];
  /** The ledger state of what was fetched (`recordsDigest`): long-term share links compare it. */
  readonly digest: string;
}

/**
 * Fetches the patient's whole record and decrypts it here: the browser signs a patient proof for
 * this node (WebCrypto), so the node fetches the ciphertexts every other custodian keeps too;
 * record keys derive from the wallet's seed, and each ciphertext's hash is checked against the
 * one its custodian anchored.
 */
export async function loadMyRecords(wallet: Wallet, token: string): Promise<MyRecords> {
  const { nodeDid } = await ledger.status();
  const patientProof = await signPatientProofAsync(wallet, { node: nodeDid });
  const { records, incomplete = [] } = await fetchMyEncryptedRecords(NODE_URL, token, {
    fetch: browserFetch,
    patientProof,
  });
  const seed = deriveRecordKeySeed(wallet);
  try {
    const { opened, failed } = await openOwnRecordsAsync({ recordKeySeed: seed, patient: wallet.did, records });
    return {
      records: opened.map(({ record, resource }) => ({
        resource: resource as Resource,
        custodian: record.custodian,
        author: record.author,
        createdAt: record.createdAt,
      })),
      failed: failed.length,
      incomplete,
      digest: recordsDigest(records, incomplete),
    };
  } finally {
    seed.fill(0);
  }
}

/**
 * The International Patient Summary of the patient's whole record, built here from what the
 * wallet opened (no node can: none holds every custodian's keys); the patient is its author, and
 * it says so when some custodian's records are missing.
 */
export function myRecordSummary(mine: MyRecords, patientDid: string, language: SummaryLanguage): Bundle {
  return buildOwnSummary({
    resources: mine.records.map((r) => r.resource as unknown as FhirResource),
    patientDid,
    language,
    now: new Date(),
    newUuid: () => globalThis.crypto.randomUUID(),
    incomplete: mine.incomplete.length > 0 || mine.failed > 0,
  });
}

type Coding = { system?: string; code?: string; display?: string };
type Concept = { text?: string; coding?: Coding[] };

function conceptText(value: unknown): string | undefined {
  const concept = value as Concept | undefined;
  if (concept === undefined || concept === null) return undefined;
  return concept.text ?? concept.coding?.find((c) => c.display)?.display ?? concept.coding?.[0]?.code;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The clinical date of a resource (ISO text), falling back to when it was stored. */
export function dateOf(resource: Resource): string | undefined {
  const r = resource as Record<string, unknown>;
  const period = (r['effectivePeriod'] ?? r['period'] ?? r['onsetPeriod'] ?? r['performedPeriod']) as
    { start?: string } | undefined;
  return (
    str(r['effectiveDateTime']) ??
    str(r['effectiveInstant']) ??
    period?.start ??
    str(r['onsetDateTime']) ??
    str(r['recordedDate']) ??
    str(r['authoredOn']) ??
    str(r['occurrenceDateTime']) ??
    str(r['performedDateTime']) ??
    str(r['issued']) ??
    str(r['date']) ??
    str((r['meta'] as { lastUpdated?: string } | undefined)?.lastUpdated)
  );
}

function quantityText(q: unknown): string | undefined {
  const quantity = q as { value?: number; unit?: string; code?: string } | undefined;
  if (quantity?.value === undefined) return undefined;
  return `${quantity.value} ${quantity.unit ?? quantity.code ?? ''}`.trim();
}

/** One line of text for a resource: what it is, in words. */
export function titleOf(resource: Resource): string {
  const r = resource as Record<string, unknown>;
  switch (resource.resourceType) {
    case 'Observation': {
      const name = conceptText(r['code']) ?? 'Observation';
      const components =
        (r['component'] as Array<{ code?: Concept; valueQuantity?: unknown }> | undefined) ?? [];
      if (isBloodPressure(resource)) {
        const sys = componentValue(resource, SYSTOLIC);
        const dia = componentValue(resource, DIASTOLIC);
        return `${name}: ${sys ?? '?'}/${dia ?? '?'} mmHg`;
      }
      const value =
        quantityText(r['valueQuantity']) ??
        conceptText(r['valueCodeableConcept']) ??
        str(r['valueString']) ??
        components
          .map((c) => `${conceptText(c.code) ?? ''} ${quantityText(c.valueQuantity) ?? ''}`.trim())
          .join(', ');
      return value ? `${name}: ${value}` : name;
    }
    case 'Condition':
      return conceptText(r['code']) ?? 'Condition';
    case 'MedicationRequest':
    case 'MedicationStatement':
      return conceptText(r['medicationCodeableConcept']) ?? 'Medication';
    case 'AllergyIntolerance':
      return `Allergy: ${conceptText(r['code']) ?? 'unknown substance'}`;
    case 'Immunization':
      return `Immunization: ${conceptText(r['vaccineCode']) ?? ''}`.trim();
    case 'Encounter':
      return `Visit: ${conceptText((r['type'] as unknown[] | undefined)?.[0]) ?? (r['class'] as Coding | undefined)?.display ?? (r['class'] as Coding | undefined)?.code ?? 'encounter'}`;
    case 'Procedure':
    case 'DiagnosticReport':
      return conceptText(r['code']) ?? resource.resourceType;
    case 'Patient': {
      const name = (
        r['name'] as Array<{ given?: string[]; family?: string; text?: string }> | undefined
      )?.[0];
      return `Patient: ${name?.text ?? ([...(name?.given ?? []), name?.family ?? ''].join(' ').trim() || 'details')}`;
    }
    default:
      return resource.resourceType;
  }
}

/** Plain-language kinds of the timeline's filter. */
export const KIND_OF: Readonly<Record<string, string>> = {
  Encounter: 'Encounters',
  Condition: 'Problems',
  MedicationRequest: 'Medications',
  MedicationStatement: 'Medications',
  AllergyIntolerance: 'Allergies',
  Immunization: 'Immunizations',
  Observation: 'Results',
  DiagnosticReport: 'Results',
  Procedure: 'Procedures',
  Patient: 'Personal details',
};

const LOINC = 'http://loinc.org';
export const BLOOD_PRESSURE = '85354-9';
export const SYSTOLIC = '8480-6';
export const DIASTOLIC = '8462-4';

function codes(concept: unknown): string[] {
  return ((concept as Concept | undefined)?.coding ?? []).map((c) => c.code ?? '');
}

export function isBloodPressure(resource: Resource): boolean {
  return resource.resourceType === 'Observation' && codes(resource['code']).includes(BLOOD_PRESSURE);
}

function componentValue(resource: Resource, code: string): number | undefined {
  const components =
    (resource['component'] as Array<{ code?: Concept; valueQuantity?: { value?: number } }> | undefined) ??
    [];
  return components.find((c) => codes(c.code).includes(code))?.valueQuantity?.value;
}

/** A numeric series over time, for a chart. */
export interface Series {
  readonly name: string;
  readonly unit: string;
  readonly points: ReadonlyArray<{ readonly t: number; readonly v: number }>;
}

/** Known charts: HbA1c, blood pressure (two lines), weight; then any other numeric Observation code. */
export function seriesOf(resources: readonly Resource[]): Array<{ title: string; series: Series[] }> {
  const byCode = new Map<string, { title: string; unit: string; points: Array<{ t: number; v: number }> }>();
  const systolic: Array<{ t: number; v: number }> = [];
  const diastolic: Array<{ t: number; v: number }> = [];
  for (const r of resources) {
    if (r.resourceType !== 'Observation') continue;
    const t = Date.parse(dateOf(r) ?? '');
    if (Number.isNaN(t)) continue;
    if (isBloodPressure(r)) {
      const s = componentValue(r, SYSTOLIC);
      const d = componentValue(r, DIASTOLIC);
      if (s !== undefined) systolic.push({ t, v: s });
      if (d !== undefined) diastolic.push({ t, v: d });
      continue;
    }
    const q = r['valueQuantity'] as { value?: number; unit?: string } | undefined;
    if (typeof q?.value !== 'number') continue;
    const coding =
      (r['code'] as Concept | undefined)?.coding?.find((c) => c.system === LOINC) ??
      (r['code'] as Concept | undefined)?.coding?.[0];
    const key = coding?.code ?? conceptText(r['code']) ?? 'value';
    let entry = byCode.get(key);
    if (entry === undefined)
      byCode.set(key, (entry = { title: conceptText(r['code']) ?? key, unit: q.unit ?? '', points: [] }));
    entry.points.push({ t, v: q.value });
  }
  const charts: Array<{ title: string; series: Series[] }> = [];
  if (systolic.length > 0 || diastolic.length > 0) {
    charts.push({
      title: 'Blood pressure',
      series: [
        { name: 'Systolic', unit: 'mmHg', points: systolic.sort((a, b) => a.t - b.t) },
        { name: 'Diastolic', unit: 'mmHg', points: diastolic.sort((a, b) => a.t - b.t) },
      ],
    });
  }
  // HbA1c (4548-4) and body weight (29463-7) first, then the others with the most points.
  const order = ['4548-4', '29463-7'];
  const keys = [...byCode.keys()].sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    if (ia !== ib) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return byCode.get(b)!.points.length - byCode.get(a)!.points.length;
  });
  for (const key of keys.slice(0, 6)) {
    const entry = byCode.get(key)!;
    if (entry.points.length < 1) continue;
    charts.push({
      title: entry.title,
      series: [{ name: entry.title, unit: entry.unit, points: entry.points.sort((a, b) => a.t - b.t) }],
    });
  }
  return charts;
}

/** The records as a FHIR `collection` Bundle (what "Export my record" saves). */
export function exportBundle(resources: readonly Resource[]): Record<string, unknown> {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: new Date().toISOString(),
    entry: resources.map((resource) => ({
      fullUrl: resource.id === undefined ? undefined : `${resource.resourceType}/${resource.id}`,
      resource,
    })),
  };
}

/** Sorted newest first, by clinical date. */
export function byDateDesc(resources: readonly Resource[]): Resource[] {
  return [...resources].sort(
    (a, b) => (Date.parse(dateOf(b) ?? '') || 0) - (Date.parse(dateOf(a) ?? '') || 0),
  );
}
