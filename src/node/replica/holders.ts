/**
 * Who holds a record's ciphertext: its custodian C and, while the patient's replica R ≠ C is in
 * effect on THIS node's ledger (named, an active member, with a live write grant), R too.
 */
import { replicaInEffect, type RecordEntry, type StateReader } from '../../contracts/index.js';

/** The holders of `record` at `now`: its custodian first, then the replica in effect (if any). */
export function holdersOf(state: StateReader, record: Pick<RecordEntry, 'patient' | 'custodian'>, now: number): string[] {
  const replica = replicaInEffect(state, record.patient, now);
  return replica === undefined || replica === record.custodian ? [record.custodian] : [record.custodian, replica];
}

/** The holder other than `org` when `org` is one of two holders of `record`; else undefined. */
export function otherHolder(
  state: StateReader,
  record: Pick<RecordEntry, 'patient' | 'custodian'>,
  org: string,
  now: number,
): string | undefined {
  const holders = holdersOf(state, record, now);
  if (holders.length < 2 || !holders.includes(org)) return undefined;
  return holders.find((holder) => holder !== org);
}
