/**
 * Durations and dates as the CLI accepts them: `30d`, `12h`, `90m`, `2w`, or an ISO 8601 date
 * (`2026-12-31`, read as the END of that day in UTC) or date-time (`2026-12-31T08:00:00Z`).
 */
import { CliError, CliErrorCode } from './output.js';

export const MS_PER_UNIT = {
  s: 1000,
  m: 60 * 1000,
  h: 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  w: 7 * 24 * 60 * 60 * 1000,
} as const;
type DurationUnit = keyof typeof MS_PER_UNIT;

const DURATION_PATTERN = /^(\d{1,7})\s*([smhdw])$/;
const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses a duration such as `30d`, `12h`, `90m`, `45s` or `2w` into milliseconds.
 *
 * @throws CliError USAGE when `text` is not a positive duration
 * @example parseDuration('12h') === 43_200_000
 */
export function parseDuration(text: string, option = 'duration'): number {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) throw usage(option, text, 'a duration like 30d, 12h, 90m, 45s or 2w');
  const amount = Number(match[1]);
  if (amount <= 0) throw usage(option, text, 'a positive duration');
  return amount * MS_PER_UNIT[match[2] as DurationUnit];
}

/**
 * Parses an expiry: a duration from `now` (`30d`, `12h`) or an absolute date. A bare date
 * (`2026-12-31`) means the end of that day, UTC, so that "until 31 December" includes it.
 * Returns ms since the Unix epoch, strictly after `now`.
 *
 * @throws CliError USAGE when `text` is neither, names an impossible date, or lies in the past
 * @example parseExpiry('30d', Date.UTC(2026, 0, 1)) === Date.UTC(2026, 0, 31)
 */
export function parseExpiry(text: string, now: number, option = '--expires'): number {
  const trimmed = text.trim();
  let at: number;
  if (DURATION_PATTERN.test(trimmed)) {
    at = now + parseDuration(trimmed, option);
  } else if (DATE_PATTERN.test(trimmed)) {
    const [, y, m, d] = DATE_PATTERN.exec(trimmed)!.map(Number) as [number, number, number, number];
    const start = Date.UTC(y, m - 1, d);
    const check = new Date(start);
    if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) {
      throw usage(option, text, 'a real calendar date');
    }
    at = start + MS_PER_UNIT.d - 1;
  } else if (DATE_TIME_PATTERN.test(trimmed)) {
    at = Date.parse(trimmed);
    if (Number.isNaN(at)) throw usage(option, text, 'a valid ISO 8601 date-time');
  } else {
    throw usage(option, text, 'a duration (30d, 12h) or a date (2026-12-31 or 2026-12-31T08:00:00Z)');
  }
  if (at <= now) throw new CliError(CliErrorCode.USAGE, `${option} ${JSON.stringify(text)} is in the past`);
  return at;
}

/** A short human form of a time span: `29d 23h`, `5h 12m`, `40s`. */
export function formatRemaining(ms: number): string {
  if (ms <= 0) return '0s';
  const units: Array<[DurationUnit, string]> = [
    ['d', 'd'],
    ['h', 'h'],
    ['m', 'm'],
    ['s', 's'],
  ];
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, label] of units) {
    const n = Math.floor(rest / MS_PER_UNIT[unit]);
    if (n > 0 || parts.length > 0 || unit === 's') parts.push(`${n}${label}`);
    rest -= n * MS_PER_UNIT[unit];
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

function usage(option: string, text: string, expected: string): CliError {
  return new CliError(CliErrorCode.USAGE, `${option} expected ${expected}, got ${JSON.stringify(text)}`);
}
