/**
 * The wire format of the refill request (`POST /node/v1/replica/refill`, a signed node request,
 * `roam-node-request-v2`, audience-bound): a custodian's node restored from a backup asks the
 * patient's replica for the versions of its own records whose ciphertexts its vault lost (any
 * version, not only the latest; a version older than the latest comes with `anchorTx`).
 * The replica answers every version asked, in order: `found` with the version as it holds it
 * (ciphertext and wrapped data key, never plaintext), or `absent` — the same answer for a version
 * it does not hold and for one the requester may not have (see refill-server.ts).
 */
import { z } from 'zod';
import { FHIR_ID } from '../../fhir/index.js';
import { MAX_VERSIONS_PER_SHIPMENT, shippedVersionSchema, type ShippedVersion } from './wire.js';

export const REPLICA_REFILL_PATH = '/node/v1/replica/refill';
/** Most versions asked in one refill request (as many as one shipment carries). */
export const MAX_VERSIONS_PER_REFILL = MAX_VERSIONS_PER_SHIPMENT;

const askedVersionSchema = z.strictObject({
  id: z.string().regex(FHIR_ID, 'expected a FHIR id'),
  version: z.number().int().min(1),
});
/** One version asked back: a record id and its version. */
export type AskedVersion = z.output<typeof askedVersionSchema>;

export const refillRequestSchema = z.strictObject({
  versions: z.array(askedVersionSchema).min(1).max(MAX_VERSIONS_PER_REFILL),
});
/** The body of `POST /node/v1/replica/refill`. */
export type RefillRequest = z.output<typeof refillRequestSchema>;

/** What the replica answers for one version asked. */
export type RefillResult =
  | { readonly id: string; readonly version: number; readonly status: 'found'; readonly record: ShippedVersion }
  | { readonly id: string; readonly version: number; readonly status: 'absent' };

/** The answer of `POST /node/v1/replica/refill` (200): one result per version asked, in order. */
export interface RefillAnswer {
  readonly results: readonly RefillResult[];
}

/** How the restored node reads an answer: nothing it does not expect is taken (it checks every version again). */
export const refillAnswerSchema = z.object({
  results: z
    .array(
      z.discriminatedUnion('status', [
        z.object({ id: z.string(), version: z.number().int(), status: z.literal('found'), record: shippedVersionSchema }),
        z.object({ id: z.string(), version: z.number().int(), status: z.literal('absent') }),
      ]),
    )
    .max(MAX_VERSIONS_PER_REFILL),
});
