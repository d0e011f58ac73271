/**
 * `GET /vault/records[?type=T]`: a patient's own encrypted records for the patient's wallet to
 * decrypt in the browser (the web app's "My record") or the CLI. Only a patient's token, only its
 * own records (the node's access policy decides, as for every other read); the node sends
 * ciphertexts and wrapped data keys, never plaintext, and records the read in the audit trail
 * like any other.
 *
 * With a patient proof (`x-roam-patient-proof`, signed by the patient's wallet for this node) the
 * answer is the whole record: this node checks the proof on its own ledger, forwards it to every
 * other custodian of the patient's records (`src/node/roaming/whole-record.ts`), merges their
 * checked ciphertexts with its own and names the custodians that did not answer in full
 * (`incomplete`). A proof this node refuses answers 403 with its PATIENT_PROOF_* code, audited
 * once; without one the answer is this node's records only, as before.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  PATIENT_PROOF_HEADER,
  VAULT_RECORDS_PATH,
  type EncryptedRecordView,
  type VaultRecordsResponse,
} from '../../wire/index.js';
import { toBase64Url } from '../../crypto/index.js';
import { VaultError } from '../../vault/index.js';
import { requireAuth, requirePrincipal, type AuthService } from '../auth/index.js';
import type { SensitivityClass } from '../../ledger/types.js';
import type { Reach } from '../fhir/access.js';
import type { FhirService } from '../fhir/fhir-service.js';
import { DEFAULT_PURPOSE, isRegisteredPatient } from '../fhir/request.js';
import { HttpError } from '../http/errors.js';
import { decodePatientProof } from '../roaming/patient-proof.js';

const querySchema = z
  .object({
    type: z
      .string()
      .regex(/^[A-Z][A-Za-z]{1,63}$/)
      .optional(),
  })
  .strict();

/**
 * Registers `GET /vault/records` on `app`.
 *
 * @example registerVaultRoutes(app, node.fhir, auth);
 */
export function registerVaultRoutes(app: FastifyInstance, service: FhirService, auth: AuthService): void {
  app.get(VAULT_RECORDS_PATH, { preHandler: requireAuth(auth) }, async (request): Promise<VaultRecordsResponse> => {
    const principal = requirePrincipal(request);
    const proof = request.headers[PATIENT_PROOF_HEADER];
    const reach = service.repository.access.reachOf(principal, DEFAULT_PURPOSE);
    const own = reach.ownRecordsOnly;
    if (own === undefined) {
      // Someone else holding a patient's proof: the patient it names sees the attempt.
      if (proof !== undefined && principal.kind !== 'node') deniedProof(service, principal.did, proof);
      throw new HttpError(
        'PATIENT_ONLY',
        `a ${principal.kind} token cannot read a patient's encrypted records here`,
      );
    }
    const query = querySchema.safeParse(request.query ?? {});
    if (!query.success) throw new HttpError('VALIDATION_FAILED', '"type" must be a FHIR resource type name');
    const type = query.data.type;
    let remote: Awaited<ReturnType<typeof service.roaming.wholeRecord.fetch>> | undefined;
    if (proof !== undefined) {
      try {
        await service.roaming.patientProofs.verify(proof, { patient: own, node: service.roaming.nodeDid });
      } catch (error) {
        deniedProof(service, own, proof);
        throw error;
      }
      // Verified, so a single string (a repeated header is an array, refused as malformed).
      remote = await service.roaming.wholeRecord.fetch(own, proof as string);
    }
    const records = localRecords(service, reach, own, type);
    const seen = new Set(records.map((r) => r.recordId));
    for (const record of remote?.records ?? []) {
      if (seen.has(record.recordId) || (type !== undefined && record.resourceType !== type)) continue;
      seen.add(record.recordId);
      records.push(record);
    }
    service.audit.record([
      {
        actor: principal.did,
        patient: principal.did,
        action: 'search',
        outcome: 'success',
        ...(type === undefined ? {} : { resourceType: type }),
      },
    ]);
    return { patient: principal.did, records, ...(remote === undefined ? {} : { incomplete: remote.incomplete }) };
  });
}

/** The patient's records this node keeps, as ciphertexts. */
function localRecords(service: FhirService, reach: Reach, patient: string, type: string | undefined): EncryptedRecordView[] {
  const records: EncryptedRecordView[] = [];
  for (const row of service.index.resourcesOfPatient(patient, type)) {
    if (!reach.mayRead(patient, row.type, row.class as SensitivityClass)) continue;
    try {
      const { info, blob, wrappedDek } = service.vault.readCiphertext(row.recordId, row.version);
      records.push({
        recordId: info.recordId,
        resourceType: info.resourceType,
        version: info.version,
        class: info.class,
        epoch: info.epoch,
        contentHash: info.contentHash,
        custodian: info.custodian,
        author: info.author,
        createdAt: info.createdAt,
        blob: toBase64Url(blob),
        wrappedDek: { iv: wrappedDek.iv, ct: wrappedDek.ct },
      });
    } catch (error) {
      // Erased (crypto-shredded) between the index and the vault read: nothing to send.
      if (!(error instanceof VaultError)) throw error;
    }
  }
  return records;
}

/**
 * Audits one refused use of a patient proof by `actor`: in the trail of the patient the proof
 * names, when it names a registered patient (that patient learns someone held a proof of
 * theirs), else in the caller's own.
 */
function deniedProof(service: FhirService, actor: string, proof: unknown): void {
  const decoded = decodePatientProof(proof);
  const named = decoded.ok ? decoded.proof.patient : undefined;
  const patient = named !== undefined && isRegisteredPatient(service.roaming.state, named) ? named : actor;
  service.audit.record([{ actor, patient, action: 'search', outcome: 'denied', resourceType: 'Patient' }]);
}
