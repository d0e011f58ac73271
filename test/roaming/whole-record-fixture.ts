/**
 * Helpers of the whole-record tests: `GET /vault/records` with or without a patient proof, the
 * signed node request a node sends a custodian on a patient's behalf, the wallet opening what it
 * got, and the audit entries a refusal leaves.
 */
import assert from 'node:assert/strict';
import type { AuditRecord } from '../../src/contracts/index.js';
import { signPatientProof, type PatientProofOptions } from '../../src/client/patient-proof.js';
import {
  PATIENT_RECORDS_PATH,
  signNodeRequest,
  type RecordQueryAnswer,
} from '../../src/node/roaming/index.js';
import { openOwnRecordsAsync } from '../../src/vault/index.js';
import { deriveRecordKeySeed, type Wallet } from '../../src/wallet/index.js';
import { PATIENT_PROOF_HEADER, VAULT_RECORDS_PATH, type VaultRecordsResponse } from '../../src/wire/index.js';
import { waitForAudit, type FhirTestNode } from '../fhir-api/fixture.js';
import type { RegionNode } from './fixture.js';

type ErrorAnswer = { error?: { code: string; message: string } };

/** `GET /vault/records` at `at` with `token`, and `proof` in its header when given. */
export async function vaultRecords(
  at: FhirTestNode,
  token: string,
  proof?: string,
): Promise<{
  status: number;
  body: Partial<VaultRecordsResponse> & ErrorAnswer;
  headers: Record<string, unknown>;
}> {
  const res = await at.app.inject({
    method: 'GET',
    url: VAULT_RECORDS_PATH,
    headers: {
      authorization: `Bearer ${token}`,
      ...(proof === undefined ? {} : { [PATIENT_PROOF_HEADER]: proof }),
    },
  });
  return { status: res.statusCode, body: res.json(), headers: res.headers };
}

/** A proof of `patient` for the node of `at` (now, a fresh nonce, unless `options` say otherwise). */
export function proofFor(
  patient: Wallet,
  at: RegionNode,
  options: Omit<PatientProofOptions, 'node'> = {},
): string {
  return signPatientProof(patient, { node: at.node.did, ...options });
}

/** A signed node request of `from` to `custodian`'s patient-records endpoint (what `from` would forward). */
export async function askCustodian(
  from: RegionNode,
  custodian: RegionNode,
  body: { patient: string; proof: string },
): Promise<{ status: number; body: Partial<RecordQueryAnswer> & ErrorAnswer }> {
  const payload = JSON.stringify(body);
  const headers = signNodeRequest({
    method: 'POST',
    path: PATIENT_RECORDS_PATH,
    body: payload,
    node: from.node.did,
    secretKey: from.node.config.keys.node.secretKey,
    audience: custodian.node.did,
  });
  const res = await custodian.app.inject({
    method: 'POST',
    url: PATIENT_RECORDS_PATH,
    headers: { ...headers, 'content-type': 'application/json' },
    payload,
  });
  return { status: res.statusCode, body: res.json() };
}

/** The resources the patient's wallet opens from an answer (every record must open). */
export async function openWithWallet(
  patient: Wallet,
  records: VaultRecordsResponse['records'],
): Promise<Array<Record<string, unknown>>> {
  const seed = deriveRecordKeySeed(patient);
  try {
    const { opened, failed } = await openOwnRecordsAsync({
      recordKeySeed: seed,
      patient: patient.did,
      records,
    });
    assert.deepEqual(failed, [], 'every record opens with the wallet');
    return opened.map((o) => o.resource);
  } finally {
    seed.fill(0);
  }
}

/** `Type/id` of each resource, sorted. */
export function keysOf(resources: ReadonlyArray<Record<string, unknown>>): string[] {
  return resources.map((r) => `${String(r['resourceType'])}/${String(r['id'])}`).sort();
}

/**
 * The denied entries of `patient`'s trail by `actor`, once the node that recorded them shipped
 * its outbox: waits for the first, then checks no other arrives with the rest of the outbox.
 */
export async function deniedEntriesOf(
  recorder: RegionNode,
  patient: string,
  actor: string,
): Promise<AuditRecord[]> {
  const denied = (entries: AuditRecord[]) =>
    entries.filter((e) => e.actor === actor && e.outcome === 'denied');
  await waitForAudit(recorder, patient, (entries) => denied(entries).length > 0);
  await recorder.node.fhir.audit.flush();
  return denied(await waitForAudit(recorder, patient, () => true));
}
