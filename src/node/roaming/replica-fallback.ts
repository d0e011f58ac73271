/**
 * The requester's fallback to a patient's replica: when a custodian does not answer (down,
 * timeout, 5xx), the same request goes to the patient's replica in effect on THIS node's ledger
 * (`records.replica`), at the replica endpoint of that kind, naming the custodian; the replica
 * answers in the custodian's name and the requester checks its records against the custodian's
 * anchors exactly as the custodian's own answer.
 */
import { replicaInEffect, type StateReader } from '../../contracts/index.js';
import type { CustodianAnswer, RoamingClient } from './client.js';
import type { RecordQueryAnswer } from './wire.js';

/** Who served a custodian's records in its place, and why the custodian did not. */
export interface ServedByReplica {
  readonly replica: string;
  readonly reason: string;
}

/**
 * `answer` (the custodian's) when it answered; else the replica's answer to `body` plus
 * `custodian` at `replicaPath`, when there is a replica in effect (not the custodian, not this
 * node's organization) and it answered in the custodian's name; else `answer` unchanged.
 */
export async function orReplica(
  parts: { readonly state: StateReader; readonly orgDid: string; readonly client: Pick<RoamingClient, 'send'> },
  answer: CustodianAnswer,
  request: { readonly patient: string; readonly replicaPath: string; readonly body: object },
): Promise<{ answer: CustodianAnswer; servedBy?: ServedByReplica }> {
  if (answer.kind !== 'unreachable') return { answer };
  const { custodian } = answer;
  const replica = replicaInEffect(parts.state, request.patient, Date.now());
  if (replica === undefined || replica === custodian || replica === parts.orgDid) return { answer };
  const fallback = await parts.client.send<RecordQueryAnswer>(replica, request.replicaPath, { ...request.body, custodian });
  // The replica answers in the custodian's name; anything else is not taken as the custodian's.
  if (fallback.kind !== 'ok' || fallback.answer.custodian !== custodian) return { answer };
  return { answer: { kind: 'ok', custodian, answer: fallback.answer }, servedBy: { replica, reason: answer.message } };
}
