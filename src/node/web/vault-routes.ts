/**
 * `GET /vault/records[?type=T]`: a patient's own encrypted records for the patient's wallet to
 * decrypt in the browser (the web app's "My record"). Only a patient's token, only its own
 * records (the node's access policy decides, as for every other read); the node sends ciphertexts
 * and wrapped data keys, never plaintext, and records the read in the audit trail like any other.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { VAULT_RECORDS_PATH, type EncryptedRecordView, type VaultRecordsResponse } from '../../wire/index.js';
import { toBase64Url } from '../../crypto/index.js';
import { VaultError } from '../../vault/index.js';
import { requireAuth, requirePrincipal, type AuthService } from '../auth/index.js';
import type { SensitivityClass } from '../../ledger/types.js';
import type { FhirService } from '../fhir/fhir-service.js';
import { DEFAULT_PURPOSE } from '../fhir/request.js';
import { HttpError } from '../http/errors.js';

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
  app.get(VAULT_RECORDS_PATH, { preHandler: requireAuth(auth) }, (request): VaultRecordsResponse => {
    const principal = requirePrincipal(request);
    const reach = service.repository.access.reachOf(principal, DEFAULT_PURPOSE);
    const own = reach.ownRecordsOnly;
    if (own === undefined) {
      throw new HttpError(
        'PATIENT_ONLY',
        `a ${principal.kind} token cannot read a patient's encrypted records here`,
      );
    }
    const query = querySchema.safeParse(request.query ?? {});
    if (!query.success) throw new HttpError('VALIDATION_FAILED', '"type" must be a FHIR resource type name');
    const records: EncryptedRecordView[] = [];
    for (const row of service.index.resourcesOfPatient(own, query.data.type)) {
      if (!reach.mayRead(own, row.type, row.class as SensitivityClass)) continue;
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
    service.audit.record([
      {
        actor: principal.did,
        patient: principal.did,
        action: 'search',
        outcome: 'success',
        ...(query.data.type === undefined ? {} : { resourceType: query.data.type }),
      },
    ]);
    return { patient: principal.did, records };
  });
}
