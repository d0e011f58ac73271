/**
 * A patient's whole record in the CLI: with a patient wallet reading its own records, `roam record
 * list | everything | summary` ask `GET /vault/records` with a patient proof (the node fetches
 * the ciphertexts every other custodian keeps) and decrypt everything here with the wallet's
 * record keys: the node asked may hold no key of records other organizations keep. The summary
 * is built here too, by the same pure IPS builder the nodes use, authored by the patient.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { signPatientProof } from '../client/patient-proof.js';
import { RoamClient } from '../client/index.js';
import type { Bundle, FhirResource } from '../client/fhir.js';
import { fetchMyEncryptedRecords } from '../client/vault.js';
import { buildOwnSummary, type SummaryLanguage } from '../fhir/ips/index.js';
import { openOwnRecordsAsync } from '../vault/index.js';
import { recordsDigest } from '../client/share-link-keys.js';
import { deriveRecordKeySeed } from '../wallet/index.js';
import type { RecordsGap } from '../wire/index.js';
import type { FhirSession } from './record.js';

/** What the wallet opened of the patient's whole record. */
export interface OwnRecord {
  readonly resources: FhirResource[];
  /** Custodians whose records are missing or incomplete, as warnings (`<custodian>: <code>`). */
  readonly warnings: string[];
  /** The ledger state of what was fetched (`recordsDigest`): long-term share links compare it. */
  readonly digest: string;
}

/** Whether the session is a patient wallet reading its own records (the whole-record path). */
export function readsOwnRecord(session: FhirSession): boolean {
  return session.wallet.role === 'patient' && session.patientDid === session.wallet.did;
}

/**
 * The patient's records from every custodian, decrypted with the wallet (of `type` only, when given).
 *
 * @throws RoamApiError PATIENT_PROOF_* (403) when the node refuses the proof, TOKEN_* (401)
 */
export async function fetchOwnRecord(session: FhirSession, type?: string): Promise<OwnRecord> {
  const { nodeDid } = await new RoamClient(session.node).status();
  const patientProof = signPatientProof(session.wallet, { node: nodeDid });
  const answer = await fetchMyEncryptedRecords(session.node, session.accessToken, {
    patientProof,
    ...(type === undefined ? {} : { type }),
  });
  const seed = deriveRecordKeySeed(session.wallet);
  try {
    const { opened, failed } = await openOwnRecordsAsync({
      recordKeySeed: seed,
      patient: session.wallet.did,
      records: answer.records,
    });
    return {
      digest: recordsDigest(answer.records, answer.incomplete ?? []),
      resources: opened.map((o) => o.resource as FhirResource),
      warnings: [
        ...gapWarnings(answer.incomplete ?? []),
        ...failed.map(
          (r) =>
            `${r.resourceType}/${r.recordId} (kept by ${r.custodian}) does not open with this wallet's keys`,
        ),
      ],
    };
  } finally {
    seed.fill(0);
  }
}

function gapWarnings(gaps: readonly RecordsGap[]): string[] {
  return gaps.map((g) => `custodian ${g.custodian}: ${g.code}; its records are missing or incomplete`);
}

/**
 * The International Patient Summary of the patient's whole record, built here (the patient's
 * device is the author); `incomplete` when some custodian's records are missing.
 */
export function ownSummary(record: OwnRecord, language: SummaryLanguage, patientDid: string): Bundle {
  return buildOwnSummary({
    resources: record.resources as unknown as Resource[],
    patientDid,
    language,
    now: new Date(),
    newUuid: randomUUID,
    incomplete: record.warnings.length > 0,
  }) as unknown as Bundle;
}
