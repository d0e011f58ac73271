/**
 * The replica giving a restored custodian back its own ciphertexts (`POST /node/v1/replica/refill`).
 * A custodian C restored from a backup lacks the versions written after the backup; the
 * patient's replica R holds every version of each record C shipped there since the patient named
 * R (with the transaction that anchored it, which C checks on its own ledger). R gives a version back only to a node of the organization that R's OWN ledger names as that
 * record's custodian, and only the version it holds of a live record kept by that custodian.
 *
 * Who may ask was decided narrowly: the custodian only — not every holder of the patient's write
 * grant. A ciphertext is useless without the record key, but the organization that keeps a record
 * is the only one meant to hold its ciphertext at rest (and the replica, by the patient's choice);
 * any other organization reads records through the roaming query, where the access decision, the
 * practitioner check and the audit apply. The custodian gets its copy back whether or not the
 * replica is still in effect: it is the custodian's own ciphertext.
 *
 * A version the requester may not have answers exactly as a version R does not hold (`absent`):
 * the requester learns nothing of which records exist. Every version given back, and every
 * refusal of a record R knows, is audited under the record's patient (the patient sees who asked).
 */
import type { RecordEntry, StateReader } from '../../contracts/index.js';
import { StateKey } from '../../ledger/index.js';
import type { ReplicaStore } from '../../store/index.js';
import type { AuditEvent, AuditTrail } from '../fhir/audit.js';
import type { VerifiedNode } from '../roaming/verify.js';
import { shippedOf } from './receiver.js';
import type { AskedVersion, RefillAnswer, RefillRequest, RefillResult } from './refill-wire.js';

export interface RefillServerPort {
  readonly state: StateReader;
  readonly replicas: ReplicaStore;
  readonly audit: Pick<AuditTrail, 'record'>;
}

/** Answers refill requests (see the module comment). */
export class RefillServer {
  constructor(private readonly port: RefillServerPort) {}

  answer(requester: VerifiedNode, request: RefillRequest): RefillAnswer {
    const given: AuditEvent[] = [];
    const denied: AuditEvent[] = [];
    const results = request.versions.map((asked) => this.answerOne(requester, asked, { given, denied }));
    // A ciphertext leaves this node only once its audit entry is durable.
    if (given.length > 0) this.port.audit.record(given);
    // A refusal is written after the answer: its durable write must not make the answer about a
    // record that exists slower than the one about a record that does not.
    if (denied.length > 0) setImmediate(() => this.port.audit.record(denied));
    return { results };
  }

  private answerOne(
    requester: VerifiedNode,
    asked: AskedVersion,
    audited: { readonly given: AuditEvent[]; readonly denied: AuditEvent[] },
  ): RefillResult {
    const absent: RefillResult = { id: asked.id, version: asked.version, status: 'absent' };
    const anchor = this.port.state.get<RecordEntry>(StateKey.record(asked.id));
    if (anchor?.status !== 'active') return absent;
    const event = (outcome: AuditEvent['outcome']): AuditEvent => ({
      actor: requester.did,
      patient: anchor.patient,
      action: 'read',
      outcome,
      resourceType: anchor.resourceType,
      recordId: anchor.id,
      via: requester.did,
    });
    if (anchor.custodian !== requester.org) {
      audited.denied.push(event('denied'));
      return absent;
    }
    const held = this.port.replicas.get(asked.id, asked.version);
    if (held === undefined || held.custodian !== anchor.custodian || held.patient !== anchor.patient)
      return absent;
    audited.given.push(event('success'));
    return { id: asked.id, version: asked.version, status: 'found', record: shippedOf(held) };
  }
}
