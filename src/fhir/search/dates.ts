/**
 * FHIR date, dateTime and instant values as half-open millisecond ranges [start, end).
 *
 * FHIR R4 search §3.1.1.4.5 (search "date"): a date value is a range given by its precision —
 * `2020` is the whole year, `2020-06` the month, `2020-06-01` the day, `2020-06-01T10:00:00Z`
 * that second, `...10:00:00.1Z` that tenth of a second. The same rule reads values in resources
 * and values in searches, so both sides are ranges and every prefix is a range comparison.
 *
 * Values without a time (YYYY, YYYY-MM, YYYY-MM-DD) carry no time zone; this server reads them
 * in UTC, in resources and in searches alike, so that a value always matches itself.
 */

/** Earliest instant JavaScript represents (ECMA-262 §21.4.1.22): the open start of a Period. */
export const MIN_TIME = -8.64e15;
/** Latest instant JavaScript represents: the open end of a Period. */
export const MAX_TIME = 8.64e15;

/** A half-open range of epoch milliseconds: start <= t < end. */
export interface TimeRange {
  readonly start: number;
  readonly end: number;
}

// YYYY[-MM[-DD[Thh:mm[:ss[.fff…]](Z|±hh:mm)]]]. FHIR data needs seconds in a dateTime; a search
// value may stop at minutes (FHIR search: "hh:mm" precision), so the parser takes both.
const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

const MS_PER_DAY = 86_400_000;

function utc(year: number, monthIndex: number, day: number): number {
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  return date.getTime();
}

function daysInMonth(year: number, month: number): number {
  return new Date(utc(year, month, 0)).getUTCDate();
}

/**
 * The range a FHIR date/dateTime/instant denotes, or undefined when `text` is not one (a time
 * without a time zone is refused: FHIR requires the zone whenever hours are given).
 *
 * @example parseDateRange('2020') // { start: Date.parse('2020-01-01T00:00:00Z'), end: Date.parse('2021-01-01T00:00:00Z') }
 */
export function parseDateRange(text: string): TimeRange | undefined {
  const m = DATE_TIME.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, hh, mi, ss, frac, tz] = m;
  const year = Number(y);
  if (year < 1) return undefined;
  if (mo === undefined) return { start: utc(year, 0, 1), end: utc(year + 1, 0, 1) };
  const month = Number(mo);
  if (month < 1 || month > 12) return undefined;
  if (d === undefined) return { start: utc(year, month - 1, 1), end: utc(year, month, 1) };
  const day = Number(d);
  if (day < 1 || day > daysInMonth(year, month)) return undefined;
  const midnight = utc(year, month - 1, day);
  if (hh === undefined || mi === undefined || tz === undefined)
    return { start: midnight, end: midnight + MS_PER_DAY };

  const hour = Number(hh);
  const minute = Number(mi);
  // FHIR's regex allows a leap second (60); it is read as the next second, as ISO 8601 readers do.
  const second = ss === undefined ? 0 : Number(ss);
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  let offsetMs = 0;
  if (tz !== 'Z') {
    const tzHours = Number(tz.slice(1, 3));
    const tzMinutes = Number(tz.slice(4, 6));
    if (tzHours > 14 || tzMinutes > 59) return undefined;
    offsetMs = (tz.startsWith('-') ? -1 : 1) * (tzHours * 60 + tzMinutes) * 60_000;
  }
  let start = midnight + ((hour * 60 + minute) * 60 + second) * 1000 - offsetMs;
  let width: number;
  if (ss === undefined) width = 60_000;
  else if (frac === undefined) width = 1000;
  else {
    // Precision of the fraction: .1 → 100 ms, .12 → 10 ms, .123 or finer → 1 ms (our resolution).
    start += Math.floor(Number(`0.${frac}`) * 1000);
    width = frac.length >= 3 ? 1 : 10 ** (3 - frac.length);
  }
  if (start < MIN_TIME || start + width > MAX_TIME) return undefined;
  return { start, end: start + width };
}

/**
 * The range of a FHIR Period (`{ start?, end? }`): from the start of `start` to the end of `end`;
 * a missing bound is open (MIN_TIME / MAX_TIME). Undefined when a bound is malformed or when
 * neither bound is given.
 */
export function periodRange(period: { start?: unknown; end?: unknown }): TimeRange | undefined {
  if (period.start === undefined && period.end === undefined) return undefined;
  let start = MIN_TIME;
  let end = MAX_TIME;
  if (period.start !== undefined) {
    if (typeof period.start !== 'string') return undefined;
    const range = parseDateRange(period.start);
    if (range === undefined) return undefined;
    start = range.start;
  }
  if (period.end !== undefined) {
    if (typeof period.end !== 'string') return undefined;
    const range = parseDateRange(period.end);
    if (range === undefined) return undefined;
    end = range.end;
  }
  return start < end ? { start, end } : undefined;
}
