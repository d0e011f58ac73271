/**
 * The bound on what one request writes to the audit trail: at most one entry per (patient,
 * action, outcome) per request, whatever the request repeats. A batch Bundle runs all its GETs
 * with one request context, so its 200 reads of the same record write one entry, not 200.
 */
import type { AuditEvent, AuditTrail } from './audit.js';

/** The (patient, action, outcome) triples each request already recorded, by request context. */
const recorded = new WeakMap<object, Set<string>>();

/** The events of `events` whose (patient, action, outcome) the request did not record yet; marks them recorded. */
function freshEvents(request: object, events: readonly AuditEvent[]): AuditEvent[] {
  let seen = recorded.get(request);
  if (seen === undefined) {
    seen = new Set();
    recorded.set(request, seen);
  }
  const fresh: AuditEvent[] = [];
  for (const event of events) {
    const which = `${event.patient}|${event.action}|${event.outcome}`;
    if (seen.has(which)) continue;
    seen.add(which);
    fresh.push(event);
  }
  return fresh;
}

/**
 * Appends `events` to `trail`, leaving out those whose (patient, action, outcome) the request
 * `request` (its context object, alive as long as the request) already recorded.
 */
export function recordOnce(trail: AuditTrail, request: object, events: readonly AuditEvent[]): void {
  const fresh = freshEvents(request, events);
  if (fresh.length > 0) trail.record(fresh);
}

/**
 * As `recordOnce`, sharing the outbox transaction with the other requests of this event-loop
 * turn (`AuditTrail.recordInTurn`); the request answers once this resolves.
 */
export function recordOnceInTurn(trail: AuditTrail, request: object, events: readonly AuditEvent[]): Promise<void> {
  return trail.recordInTurn(freshEvents(request, events));
}
