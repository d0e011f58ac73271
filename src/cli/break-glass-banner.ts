/**
 * The break-glass banner of `roam audit`: one loud line per emergency access to the patient's
 * record — who, which organization, where, when, why, and whether it was flagged for review —
 * above the trail, so a patient cannot miss that someone opened their record without a grant.
 */
import type { EmergencyAccessSummary } from '../wire/index.js';
import { isoTime } from './output.js';

/** How a DID is shortened in the banner. */
function shortDid(did: string): string {
  return did.length > 24 ? `${did.slice(0, 14)}…${did.slice(-6)}` : did;
}

/** The banner lines of `accesses` (none without any), oldest first; `now` tells active from ended ones. */
export function breakGlassBanner(accesses: readonly EmergencyAccessSummary[], now: number): string[] {
  return accesses.map((a) => {
    const where = `${a.orgName ?? shortDid(a.org)}${a.region === undefined ? '' : ` (region ${a.region})`}`;
    const state = now < a.end ? `active until ${isoTime(a.end)}` : `ended ${isoTime(a.end)}`;
    const flagged =
      a.flagged === undefined
        ? ''
        : `; flagged for review by ${shortDid(a.flagged.by)} at ${isoTime(a.flagged.at)}`;
    return `!! BREAK-GLASS ${a.id}: ${shortDid(a.requester)} of ${where} opened your emergency record at ${isoTime(a.start)}, reason ${a.reason}, ${state}${flagged}`;
  });
}
