/**
 * "Who saw my record", grouped: the audit entries of one visit (opening a chart writes one search
 * entry per kind of record) become one row that says in plain words what was seen. A visit is the
 * entries of one actor recorded by one node, each within {@link VISIT_GAP_MS} of the one before;
 * break-glass entries (purpose `emergency`, or naming an emergency access) are their own visits,
 * listed first. Each visit keeps its entries, each with its own proof check.
 */
import type { AuditRow } from '../../../src/client/audit.js';
import { listWords } from './words.js';

/** Entries further apart than this are two visits. */
export const VISIT_GAP_MS = 2 * 60_000;

/** An audit row (its `emergency` names the break-glass access an entry was made under). */
export type TrailRow = AuditRow;

export interface Visit {
  /** The first entry's id: stable while entries are added to the visit. */
  readonly id: string;
  readonly actor: string;
  readonly actorKind: string | null;
  readonly actorOrg: string | null;
  readonly actorOrgName: string | null;
  readonly recordedBy: string;
  readonly start: number;
  readonly end: number;
  /** Oldest first. */
  readonly entries: readonly TrailRow[];
  /** The emergency access id when this visit was under break-glass. */
  readonly emergency: string | null;
  readonly breakGlass: boolean;
  readonly allVerified: boolean;
}

export function isBreakGlass(row: TrailRow): boolean {
  return row.purpose === 'emergency' || row.emergency !== null || row.action === 'break-glass';
}

/**
 * The visits of `rows` (any order): break-glass visits first, then the others, newest first
 * within each.
 */
export function groupVisits(rows: readonly TrailRow[], gapMs = VISIT_GAP_MS): Visit[] {
  const sorted = [...rows].sort((a, b) => a.at - b.at);
  const open = new Map<string, TrailRow[]>();
  const groups: TrailRow[][] = [];
  for (const row of sorted) {
    const key = [row.actor, row.recordedBy, isBreakGlass(row) ? `emergency:${row.emergency ?? ''}` : ''].join(
      '|',
    );
    const current = open.get(key);
    const last = current?.[current.length - 1];
    if (current !== undefined && last !== undefined && row.at - last.at <= gapMs) {
      current.push(row);
    } else {
      const group = [row];
      open.set(key, group);
      groups.push(group);
    }
  }
  const visits = groups.map((entries): Visit => {
    const first = entries[0]!;
    return {
      id: first.id,
      actor: first.actor,
      actorKind: first.actorKind,
      actorOrg: first.actorOrg,
      actorOrgName: first.actorOrgName,
      recordedBy: first.recordedBy,
      start: first.at,
      end: entries[entries.length - 1]!.at,
      entries,
      emergency: entries.find((e) => e.emergency !== null)?.emergency ?? null,
      breakGlass: entries.some(isBreakGlass),
      allVerified: entries.every((e) => e.proofValid),
    };
  });
  return visits.sort((a, b) => Number(b.breakGlass) - Number(a.breakGlass) || b.end - a.end);
}

/** Plain words for the kinds of records, singular and plural. */
const TYPE_NAMES: Readonly<Record<string, readonly [string, string]>> = {
  Patient: ['personal details', 'personal details'],
  Condition: ['condition', 'conditions'],
  Observation: ['observation', 'observations'],
  MedicationRequest: ['prescription', 'prescriptions'],
  MedicationStatement: ['medication', 'medications'],
  Medication: ['medication', 'medications'],
  AllergyIntolerance: ['allergy', 'allergies'],
  Immunization: ['immunization', 'immunizations'],
  Encounter: ['visit', 'visits'],
  Procedure: ['procedure', 'procedures'],
  DiagnosticReport: ['report', 'reports'],
  DocumentReference: ['document', 'documents'],
  CarePlan: ['care plan', 'care plans'],
  Device: ['device', 'devices'],
  DeviceUseStatement: ['device', 'devices'],
  Consent: ['sharing decision', 'sharing decisions'],
  AuditEvent: ['access log', 'access logs'],
};

function typeName(type: string | null, count: number): string {
  const names = type === null ? undefined : TYPE_NAMES[type];
  const [one, many] = names ?? [type ?? 'record', type === null ? 'records' : `${type} records`];
  return count === 1 ? one : many;
}

/** `{ Condition: 3, Observation: 12 }` → "3 conditions and 12 observations" ("your personal details"). */
function countedWords(counts: ReadonlyMap<string | null, number>): string {
  return listWords(
    [...counts].map(([type, n]) =>
      type === 'Patient' ? 'your personal details' : `${n} ${typeName(type, n)}`,
    ),
  );
}

function countBy(rows: readonly TrailRow[]): Map<string | null, number> {
  const counts = new Map<string | null, number>();
  for (const row of rows) counts.set(row.resourceType, (counts.get(row.resourceType) ?? 0) + 1);
  return counts;
}

/** Opening a chart searches several kinds of records at once: from this many, it is "your chart". */
const CHART_KINDS = 3;

/**
 * What the visit did, in words: "opened your chart (conditions, observations and allergies);
 * read 2 observations; added 1 observation; was refused once".
 */
export function visitWords(visit: Visit): string {
  const ok = visit.entries.filter((e) => e.outcome !== 'denied');
  const denied = visit.entries.length - ok.length;
  const parts: string[] = [];
  if (ok.some((e) => e.action === 'break-glass')) parts.push('broke the glass (emergency access)');
  // The node that serves a SMART Health Link records each opening of it (src/node/shl).
  const linkOpenings = ok.filter((e) => e.action === 'share-link').length;
  if (linkOpenings > 0) {
    parts.push(`served your shared summary link (SMART Health Link) ${linkOpenings === 1 ? 'once' : `${linkOpenings} times`}`);
  }
  const searched = [...new Set(ok.filter((e) => e.action === 'search').map((e) => e.resourceType))];
  if (searched.length > 0) {
    const kinds = listWords(searched.map((t) => typeName(t, 2)));
    parts.push(
      searched.length >= CHART_KINDS ? `opened your chart (${kinds})` : `looked through your ${kinds}`,
    );
  }
  const verbs: ReadonlyArray<readonly [string, string]> = [
    ['read', 'read'],
    ['create', 'added'],
    ['update', 'changed'],
    ['erase', 'erased'],
    ['consent', 'recorded'],
  ];
  for (const [action, verb] of verbs) {
    const rows = ok.filter((e) => e.action === action);
    if (rows.length > 0) parts.push(`${verb} ${countedWords(countBy(rows))}`);
  }
  if (denied > 0) parts.push(`was refused ${denied === 1 ? 'once' : `${denied} times`}`);
  return parts.join('; ') || 'accessed your record';
}

/**
 * Who, in words: "You", or "practitioner did:key:z6Mk…abc at Clinic (eu)" (names of people are
 * not on the ledger; their organization is).
 */
export function actorWords(
  visit: Visit,
  options: { readonly self: string; readonly shortDid: (did: string) => string; readonly region?: string },
): string {
  if (visit.actor === options.self) return 'You';
  const who = `${visit.actorKind ?? 'party'} ${options.shortDid(visit.actor)}`;
  if (visit.actorOrgName === null && visit.actorOrg === null) return who;
  const org = visit.actorOrgName ?? options.shortDid(visit.actorOrg ?? '');
  return `${who} at ${org}${options.region === undefined ? '' : ` (${options.region})`}`;
}
