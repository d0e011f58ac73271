/**
 * The wire format of the patient-records endpoint `POST /node/v1/records/patient`: a node asks a
 * custodian, on a patient's behalf, for ALL of that patient's records, carrying the patient's
 * proof (`src/wire/patient-proof.ts`) instead of a grant. A route of its own rather than a kind
 * of `/node/v1/records/query`: its authority is another one (the patient's signature, not an
 * organization's grant), and apart from the grant-deciding custodian no query of that endpoint
 * can ever reach the patient path by mistake. The answer is the custodian endpoint's
 * (`RecordQueryAnswer`), so one requester check reads both.
 */
import { z } from 'zod';
import { isSigningDid } from '../../crypto/index.js';
import { MAX_PATIENT_PROOF_LENGTH } from '../../wire/index.js';

/** Path of the patient-records endpoint. */
export const PATIENT_RECORDS_PATH = '/node/v1/records/patient';

/** The body of `POST /node/v1/records/patient` (the replica's patient request extends it). */
export const patientRecordsSchema = z.strictObject({
  /** The patient's DID. */
  patient: z
    .string()
    .max(256)
    .refine((value) => isSigningDid(value), { error: 'expected an Ed25519 did:key' }),
  /** The patient's proof, as the patient's client sent it (the `x-roam-patient-proof` value). */
  proof: z.string().min(1).max(MAX_PATIENT_PROOF_LENGTH),
});

/** The body of `POST /node/v1/records/patient`. */
export interface PatientRecordsRequest {
  readonly patient: string;
  readonly proof: string;
}

/** Checks a request body; returns it typed, or the message naming the bad member. */
export function parsePatientRecordsRequest(
  value: unknown,
): { ok: true; request: PatientRecordsRequest } | { ok: false; message: string } {
  const result = patientRecordsSchema.safeParse(value);
  if (result.success) return { ok: true, request: result.data };
  const issue = result.error.issues[0];
  const path = issue === undefined || issue.path.length === 0 ? 'body' : `body.${issue.path.join('.')}`;
  return { ok: false, message: `"${path}" ${issue?.message ?? 'is invalid'}` };
}
