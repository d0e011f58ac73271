/**
 * The break-glass itself in the patient's trail: when the requesting node's keys for an access
 * become ready (or the released shares turn out not to open the escrow), the node records one
 * `break-glass` entry for the practitioner — purpose `emergency`, the access id — which the
 * AuditEvent view shows as DCM 110127 "Emergency Override Started". Once per access and outcome:
 * a restarted node, which reconstructs the keys again, finds the entry on its ledger (or in what
 * it recorded since it started) and does not record it twice.
 */
import type { AuditRecord, EmergencyAccessRecord, StateReader } from '../../contracts/index.js';
import { StateKey } from '../../ledger/index.js';
import type { AuditEvent } from '../fhir/audit.js';
import { EMERGENCY_PURPOSE } from '../fhir/request.js';

/** How a break-glass ended on the requesting node. */
export type BreakGlassOutcome = AuditEvent['outcome'];

/** The `break-glass` audit event of `access`. */
export function breakGlassEvent(access: EmergencyAccessRecord, outcome: BreakGlassOutcome): AuditEvent {
  return {
    actor: access.requester,
    patient: access.patient,
    action: 'break-glass',
    outcome,
    purpose: EMERGENCY_PURPOSE,
    emergency: access.id,
  };
}

/**
 * Records each access's break-glass entry once per outcome (see the module comment).
 *
 * @example
 * const audit = new BreakGlassAudit(state, (events) => trail.record(events));
 * audit.record(access, 'success');
 */
export class BreakGlassAudit {
  private readonly recorded = new Set<string>();

  constructor(
    private readonly state: StateReader,
    private readonly sink: (events: readonly AuditEvent[]) => void,
  ) {}

  record(access: EmergencyAccessRecord, outcome: BreakGlassOutcome): void {
    const which = `${access.id}|${outcome}`;
    if (this.recorded.has(which)) return;
    this.recorded.add(which);
    if (this.onLedger(access, outcome)) return;
    this.sink([breakGlassEvent(access, outcome)]);
  }

  /** Whether the patient's trail already holds the entry (a break-glass is rare: one range read). */
  private onLedger(access: EmergencyAccessRecord, outcome: BreakGlassOutcome): boolean {
    return this.state
      .range<AuditRecord>(StateKey.auditPrefix(access.patient))
      .some(([, e]) => e.action === 'break-glass' && e.emergency === access.id && e.outcome === outcome);
  }
}
