/**
 * Audit contract: nodes record every access to patient data (who, whose, what, why, under which
 * grant or break-glass, when) in batches. Entries are stored per patient in ledger order, so a
 * patient reads its own trail with one range query.
 */
import { z } from 'zod';
import { ResultCode } from '../ledger/codes.js';
import { TxRejected, type ContractContext } from '../ledger/contract.js';
import { StateKey } from '../ledger/keys.js';
import type { PartyRecord } from '../ledger/types.js';
import {
  didSchema,
  fhirTypeSchema,
  getParty,
  idSchema,
  isMemberOrg,
  parsePayload,
  requireNode,
  requirePatient,
  type Contract,
  type Payload,
} from './common.js';
import { PURPOSES } from './consent.js';

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
  id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/),
  /** Who accessed: a practitioner, patient or node DID. */
  actor: didSchema,
  /** Whose data. */
  patient: didSchema,
  action: z.enum(AUDIT_ACTIONS),
  resourceType: fhirTypeSchema.exactOptional(),
  recordId: idSchema(128).exactOptional(),
  grantId: idSchema().exactOptional(),
  /** A coded purpose of use (no free text on the chain). */
  purpose: z.enum(PURPOSES).exactOptional(),
  outcome: z.enum(AUDIT_OUTCOMES),
  /** When the access happened, ms since epoch (the node's clock: data, not contract time). */
  at: z.number().int().nonnegative(),
  /** The node through which the access came, when it was not the recording node. */
  via: didSchema.exactOptional(),
  /** The emergency access (break-glass) the access was made under; only with `purpose: 'emergency'`. */
  emergency: idSchema().exactOptional(),
}).refine((entry) => entry.emergency === undefined || entry.purpose === 'emergency', {
  error: "expected an emergency access id only with purpose 'emergency'",
  path: ['emergency'],
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
    const node = requireNode(ctx);
    payload.entries.forEach((entry, i) => {
      requirePatient(ctx, entry.patient, `payload.entries[${i}].patient`);
      if (!mayRecord(ctx, node, entry)) {
        throw new TxRejected(
          ResultCode.FOREIGN_ACTOR,
          `"payload.entries[${i}]": node ${ctx.signer} may not record an access by ${entry.actor}${entry.via === undefined ? '' : ` via ${entry.via}`}`,
        );
      }
      const record: AuditRecord = { ...entry, recordedBy: ctx.signer };
      ctx.put(StateKey.audit(entry.patient, ctx.block.height, ctx.txIndex, i), record);
    });
  },
};

/**
 * Whether the recording `node` speaks for the entry's actor: the node itself; a practitioner of
 * its organization (whatever the practitioner's status now: the access happened before); the
 * patient's own access (another patient only in a denied attempt); or, for a roaming request, a
 * practitioner of organization O whose request came through (`via`) an active node of O, or that
 * node itself. A `via` must always be an active node of a member organization. So no node writes
 * accesses into a patient's trail in the name of another organization's people.
 */
function mayRecord(ctx: ContractContext, node: PartyRecord & { org: string }, entry: AuditEntry): boolean {
  const via = entry.via === undefined ? undefined : getParty(ctx, entry.via);
  if (entry.via !== undefined && !isActiveNode(ctx, via)) return false;
  if (entry.actor === node.did) return true;
  const actor = getParty(ctx, entry.actor);
  if (actor?.kind === 'patient') return entry.actor === entry.patient || entry.outcome === 'denied';
  if (actor?.kind === 'practitioner' && actor.org === node.org) return true;
  if (via === undefined) return false;
  if (entry.actor === via.did) return true;
  return actor?.kind === 'practitioner' && actor.org === via.org;
}

function isActiveNode(ctx: ContractContext, party: PartyRecord | undefined): party is PartyRecord & { org: string } {
  return party?.kind === 'node' && party.status === 'active' && isMemberOrg(ctx, party.org);
}
