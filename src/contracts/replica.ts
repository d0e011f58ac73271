/**
 * Replica contract: a patient names a second organization, its **replica**, that keeps a copy of
 * the ciphertexts of the records other custodians keep of it (`records.replica`), or ends it
 * (`{ replica: null }`). The replica must be an active member holding an active, unexpired write
 * grant of the patient when named; and because an organization can be suspended and a grant
 * revoked or expire afterwards, {@link replicaInEffect} checks both again at every use (anchoring,
 * shipping, serving), so naming alone never gives access.
 *
 * The variant in which the custodian names the replica by a policy the patient accepted is not
 * built: only the patient signs `records.replica`.
 */
import { z } from 'zod';
import { ResultCode } from '../ledger/codes.js';
import { TxRejected } from '../ledger/contract.js';
import { StateKey } from '../ledger/keys.js';
import type { GrantRecord } from '../ledger/types.js';
import {
  didSchema,
  isMemberOrg,
  parsePayload,
  requirePatientSigner,
  type Contract,
  type Payload,
  type StateReader,
} from './common.js';

export const recordReplicaSchema = z.strictObject({
  /** The replica organization's DID, or null to end the replica. */
  replica: didSchema.nullable(),
});
/** `records.replica`: the patient names (or, with null, ends) its replica organization. */
export type RecordReplicaPayload = Payload<typeof recordReplicaSchema>;

/** `replica/<patient>`: the patient's replica organization, while one is named. */
export interface ReplicaDesignation {
  readonly org: string;
  /** Block time it was named at (ms). */
  readonly since: number;
  readonly txId: string;
}

/** Whether `org` holds an active grant of `patient` that allows writing and has not expired at `now`. */
export function holdsWriteGrant(reader: StateReader, patient: string, org: string, now: number): boolean {
  const prefix = StateKey.orgPatientGrantsPrefix(org, patient);
  for (const [key] of reader.range<unknown>(prefix)) {
    const grant = reader.get<GrantRecord>(StateKey.grant(key.slice(prefix.length)));
    if (
      grant !== undefined &&
      grant.patient === patient &&
      grant.grantee === org &&
      grant.status === 'active' &&
      grant.access === 'write' &&
      (grant.expiresAt === null || grant.expiresAt > now)
    ) {
      return true;
    }
  }
  return false;
}

/** The replica the patient named (whether or not it is in effect), or undefined. */
export function namedReplica(reader: Pick<StateReader, 'get'>, patient: string): ReplicaDesignation | undefined {
  return reader.get<ReplicaDesignation>(StateKey.replica(patient));
}

/**
 * The patient's replica organization at `now` when it is in effect: named, still an active
 * member, and still holding an active, unexpired write grant of the patient. Undefined otherwise.
 *
 * @example replicaInEffect(state, patientDid, Date.now()) // 'did:key:…' or undefined
 */
export function replicaInEffect(reader: StateReader, patient: string, now: number): string | undefined {
  const named = namedReplica(reader, patient);
  if (named === undefined || !isMemberOrg(reader, named.org)) return undefined;
  return holdsWriteGrant(reader, patient, named.org, now) ? named.org : undefined;
}

export const recordReplica: Contract<RecordReplicaPayload> = {
  parse: (payload) => parsePayload(recordReplicaSchema, payload),
  execute(ctx, payload) {
    requirePatientSigner(ctx);
    const patient = ctx.signer;
    const key = StateKey.replica(patient);
    const current = namedReplica(ctx, patient);
    if (payload.replica === null) {
      if (current === undefined) throw new TxRejected(ResultCode.REPLICA_NOT_SET, `patient ${patient} has no replica`);
      ctx.del(key);
      return;
    }
    const org = payload.replica;
    if (current?.org === org)
      throw new TxRejected(ResultCode.REPLICA_UNCHANGED, `"payload.replica" ${org} is the replica already`);
    if (!isMemberOrg(ctx, org))
      throw new TxRejected(ResultCode.REPLICA_NOT_MEMBER, `"payload.replica" ${org} is not an active member organization`);
    if (!holdsWriteGrant(ctx, patient, org, ctx.block.time)) {
      throw new TxRejected(
        ResultCode.REPLICA_NO_WRITE_GRANT,
        `"payload.replica" ${org} holds no active write grant of the patient`,
      );
    }
    const designation: ReplicaDesignation = { org, since: ctx.block.time, txId: ctx.txId };
    ctx.put(key, designation);
  },
};
