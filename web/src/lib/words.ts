/** Grants and requests in plain words. */
import type { OrgSummary } from '../../../src/wire/index.js';

const TYPE_WORDS: Readonly<Record<string, string>> = {
  Observation: 'results and vital signs',
  Condition: 'problems',
  MedicationRequest: 'medications',
  MedicationStatement: 'medications',
  AllergyIntolerance: 'allergies',
  Immunization: 'immunizations',
  Encounter: 'visits',
  Procedure: 'procedures',
  DiagnosticReport: 'reports',
  DocumentReference: 'documents',
  CarePlan: 'care plans',
  Patient: 'personal details',
};

export function listWords(items: readonly string[]): string {
  const unique = [...new Set(items)];
  if (unique.length <= 1) return unique[0] ?? '';
  return `${unique.slice(0, -1).join(', ')} and ${unique[unique.length - 1]}`;
}

export function typesWords(types: readonly string[]): string {
  if (types.includes('*')) return 'whole record';
  return listWords(types.map((t) => TYPE_WORDS[t] ?? t));
}

export function dayWords(ms: number): string {
  return new Date(ms).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' });
}

/** "Clinic X in us can read your medications and allergies until 12 March 2027". */
export function grantWords(
  grant: {
    grantee: string;
    access: string;
    expiresAt: number | null;
    scope: { resourceTypes: readonly string[]; classes: readonly string[] };
  },
  orgs: readonly OrgSummary[],
): string {
  const org = orgs.find((o) => o.did === grant.grantee);
  const who = org ? `${org.name} in ${org.region}` : grant.grantee;
  const verb = grant.access === 'write' ? 'read and add to' : 'read';
  const sensitive = grant.scope.classes.includes('sensitive') ? ' (including sensitive records)' : '';
  const until = grant.expiresAt === null ? ' with no end date' : ` until ${dayWords(grant.expiresAt)}`;
  return `${who} can ${verb} your ${typesWords(grant.scope.resourceTypes)}${sensitive}${until}`;
}
