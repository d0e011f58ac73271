/**
 * `consent.rotate`: the patient moves its record keys to a new epoch without revoking a grant
 * (e.g. after a break-glass, whose requester held the escrowed keys). The epoch is counted on the
 * ledger (`rotations/<patient>`, part of `currentEpoch`); the patient's client then rekeys its
 * active grants and refreshes its emergency escrow, as after a revocation.
 */
import { z } from 'zod';
import { StateKey } from '../ledger/keys.js';
import { parsePayload, requirePatientSigner, type Contract, type Payload } from './common.js';

export const consentRotateSchema = z.strictObject({});
/** `consent.rotate`: the signing patient's epoch moves up by one. */
export type ConsentRotatePayload = Payload<typeof consentRotateSchema>;

export const consentRotate: Contract<ConsentRotatePayload> = {
  parse: (payload) => parsePayload(consentRotateSchema, payload),
  execute(ctx) {
    const patient = requirePatientSigner(ctx);
    const key = StateKey.rotations(patient.did);
    ctx.put(key, (ctx.get<number>(key) ?? 0) + 1);
  },
};
