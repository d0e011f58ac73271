/**
 * The International Patient Summary a patient builds of their own whole record, on their own
 * device (CLI or browser): the nodes cannot, since none holds the keys of every custodian's
 * records. The same pure builder as the nodes' `$summary`, with the patient as the document's
 * author (the IPS allows a Patient author) and one Patient entry however many custodians keep a
 * Patient resource of the same person.
 */
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import { buildPatientSummary, URI_IDENTIFIER_SYSTEM } from './builder.js';
import type { SummaryLanguage } from './labels.js';

export interface OwnSummaryOptions {
  /** Every record of the patient the wallet opened (any custodian). */
  readonly resources: readonly Resource[];
  /** The patient's DID (the identifier of a Patient entry made up when no record is a Patient). */
  readonly patientDid: string;
  readonly language: SummaryLanguage;
  readonly now: Date;
  /** A fresh RFC 4122 uuid at each call (`crypto.randomUUID`). */
  readonly newUuid: () => string;
  /** True when some custodian's records are missing (the document says so). */
  readonly incomplete: boolean;
  /** How the author (the patient) is named. Default: "The patient (own wallet)". */
  readonly authorDisplay?: string;
}

/**
 * The IPS document of the patient's own records.
 *
 * @example
 * const document = buildOwnSummary({ resources, patientDid: wallet.did, language: 'de',
 *   now: new Date(), newUuid: () => crypto.randomUUID(), incomplete: gaps.length > 0 });
 */
export function buildOwnSummary(options: OwnSummaryOptions): Bundle {
  const patients = options.resources.filter((r): r is Patient => r.resourceType === 'Patient');
  // Several custodians may keep a Patient resource of the same person (same DID): the first by id.
  const patient: Patient = [...patients].sort((a, b) => (a.id ?? '').localeCompare(b.id ?? ''))[0] ?? {
    resourceType: 'Patient',
    id: options.newUuid(),
    identifier: [{ system: URI_IDENTIFIER_SYSTEM, value: options.patientDid }],
  };
  return buildPatientSummary({
    patient,
    resources: options.resources.filter((r) => r.resourceType !== 'Patient'),
    // Every Patient reference resolves to the summary's Patient: the patient is the author.
    author: {
      reference: `Patient/${patient.id ?? ''}`,
      display: options.authorDisplay ?? 'The patient (own wallet)',
    },
    language: options.language,
    now: options.now,
    newUuid: options.newUuid,
    incomplete: options.incomplete,
  });
}
