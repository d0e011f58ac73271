/**
 * Audit contract: nodes record every access to patient data (who, whose, what, why, under which
 * grant or break-glass, when) in batches. Entries are stored per patient in ledger order, so a
 * patient reads its own trail with one range query.
 */
import { z } from 'zod';
import { StateKey } from '../ledger/keys.js';
import {
  didSchema,
  fhirTypeSchema,
  idSchema,
  parsePayload,
  requireNode,
  requirePatient,
  type Contract,
  type Payload,
} from './common.js';

export const AUDIT_ACTIONS = [
  'read',
  'search',
  'create',
  'update',
  'erase',
  'break-glass',
  'consent',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export const AUDIT_OUTCOMES = ['success', 'denied'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
/** Most entries in one `audit.batch`. */
export const MAX_AUDIT_BATCH = 1000;

export const auditEntrySchema = z.strictObject({
  /** Id given by the recording node (e.g. a UUID), for de-duplication by readers. */
  id: z.string().min(1).max(64),
  /** Who accessed: a practitioner, patient or node DID. */
  actor: didSchema,
  /** Whose data. */
  patient: didSchema,
  action: z.enum(AUDIT_ACTIONS),
  resourceType: fhirTypeSchema.exactOptional(),
  recordId: idSchema(128).exactOptional(),
  grantId: idSchema().exactOptional(),
  purpose: z.string().min(1).max(64).exactOptional(),
  outcome: z.enum(AUDIT_OUTCOMES),
  /** When the access happened, ms since epoch (the node's clock: data, not contract time). */
  at: z.number().int().nonnegative(),
  /** The node through which the access came, when it was not the recording node. */
  via: didSchema.exactOptional(),
});
export type AuditEntry = Payload<typeof auditEntrySchema>;

export const auditBatchSchema = z.strictObject({
  entries: z.array(auditEntrySchema).min(1).max(MAX_AUDIT_BATCH),
});
/** `audit.batch`: a node records access entries. */
export type AuditBatchPayload = Payload<typeof auditBatchSchema>;

/** `audit/<patient>/<height>/<txIndex>/<entry>`: an entry with the DID of the node that recorded it. */
export type AuditRecord = AuditEntry & { readonly recordedBy: string };

export const auditBatch: Contract<AuditBatchPayload> = {
  parse: (payload) => parsePayload(auditBatchSchema, payload),
  execute(ctx, payload) {
    requireNode(ctx);
    payload.entries.forEach((entry, i) => {
      requirePatient(ctx, entry.patient, `payload.entries[${i}].patient`);
      const record: AuditRecord = { ...entry, recordedBy: ctx.signer };
      ctx.put(StateKey.audit(entry.patient, ctx.block.height, ctx.txIndex, i), record);
    });
  },
};
