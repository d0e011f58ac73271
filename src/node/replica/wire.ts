/**
 * The wire format of the replica endpoints, both signed node requests (`roam-node-request-v2`):
 * - `POST /node/v1/replica/versions`: a holder of a record ships record versions it anchored to
 *   the record's other holder (the custodian to the patient's replica, or back);
 * - `POST /node/v1/replica/patient`: the patient-records request (`/node/v1/records/patient`, with
 *   the patient's proof) for the records of `custodian`, sent to the replica likewise;
 * - `POST /node/v1/replica/query`: a roaming query (the body of `/node/v1/records/query`) for the
 *   records of `custodian`, sent to the patient's replica when that custodian does not answer.
 */
import { z } from 'zod';
import { SENSITIVITY_CLASSES, type SensitivityClass } from '../../ledger/types.js';
import { FHIR_ID } from '../../fhir/index.js';
import { patientRecordsSchema, type PatientRecordsRequest } from '../roaming/patient-records-wire.js';
import { fhirWireType, nodeWireDid, recordQuerySchema, type RecordQueryRequest } from '../roaming/wire.js';

export const REPLICA_VERSIONS_PATH = '/node/v1/replica/versions';
export const REPLICA_QUERY_PATH = '/node/v1/replica/query';
export const REPLICA_PATIENT_PATH = '/node/v1/replica/patient';
/** Most versions in one shipment. */
export const MAX_VERSIONS_PER_SHIPMENT = 50;
/** Largest shipment body (50 versions of record envelopes of up to ~100 KiB each, base64url). */
export const MAX_SHIPMENT_BODY_BYTES = 8 * 1024 * 1024;
/** Longest base64url ciphertext of one version. */
const MAX_CIPHERTEXT_CHARS = 1024 * 1024;

const base64Url = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9_-]*$/, 'expected base64url');

export const shippedVersionSchema = z.strictObject({
  id: z.string().regex(FHIR_ID, 'expected a FHIR id'),
  type: fhirWireType,
  version: z.number().int().min(1),
  patient: nodeWireDid,
  /** The record's custodian (the ledger anchor's). */
  custodian: nodeWireDid,
  class: z.enum(SENSITIVITY_CLASSES as readonly [SensitivityClass, ...SensitivityClass[]]),
  epoch: z.number().int().nonnegative(),
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  ciphertext: base64Url(MAX_CIPHERTEXT_CHARS),
  wrappedDek: z.strictObject({ iv: base64Url(64), ct: base64Url(256) }),
  /** Sort keys of the writer's index (ms); a requester checks them against the plaintext. */
  lastUpdated: z.number().int().nonnegative(),
  date: z.number().int().nullable(),
  /**
   * The id of the `records.anchor` transaction that anchored this version: how the receiver finds,
   * on its own ledger, the anchor of a version older than the record's latest (whose anchor is
   * in an older block, not in state). Absent from senders of earlier builds (latest version only).
   */
  anchorTx: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
/** One shipped record version: ciphertext and wrapped data key, never plaintext. */
export type ShippedVersion = z.output<typeof shippedVersionSchema>;

export const shipmentSchema = z.strictObject({
  versions: z.array(shippedVersionSchema).min(1).max(MAX_VERSIONS_PER_SHIPMENT),
});
/** The body of `POST /node/v1/replica/versions`. */
export type Shipment = z.output<typeof shipmentSchema>;

/**
 * What the receiver did with one version: `stored` (now held), `exists` (held already),
 * `superseded` (a later version is anchored and this one came without its anchoring transaction,
 * so it cannot be checked: only from senders of earlier builds), `behind` (the
 * receiver's ledger does not hold the anchor yet: the sender retries), `refused` (never
 * acceptable, with a code, e.g. REPLICA_HASH_MISMATCH).
 */
export type ShipmentStatus = 'stored' | 'exists' | 'superseded' | 'behind' | 'refused';

export interface ShipmentResult {
  readonly id: string;
  readonly version: number;
  readonly status: ShipmentStatus;
  readonly code?: string;
}

/** The answer of `POST /node/v1/replica/versions` (200): one result per version, in order. */
export interface ShipmentAnswer {
  readonly results: readonly ShipmentResult[];
}

export const replicaQuerySchema = recordQuerySchema.extend({
  /** The custodian whose records the replica is asked for. */
  custodian: nodeWireDid,
});
/** The body of `POST /node/v1/replica/query`. */
export interface ReplicaQueryRequest extends RecordQueryRequest {
  readonly custodian: string;
}

export const replicaPatientSchema = patientRecordsSchema.extend({
  /** The custodian whose records the replica is asked for. */
  custodian: nodeWireDid,
});
/** The body of `POST /node/v1/replica/patient`. */
export interface ReplicaPatientRequest extends PatientRecordsRequest {
  readonly custodian: string;
}
