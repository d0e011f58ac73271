// node:test's describe/it return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatRemaining, MS_PER_UNIT, parseDuration, parseExpiry } from './durations.js';
import { CliError } from './output.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

function usageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(
    fn,
    (error: unknown) => error instanceof CliError && error.code === 'USAGE' && pattern.test(error.message),
  );
}

describe('parseDuration', () => {
  it('reads every unit', () => {
    assert.equal(parseDuration('45s'), 45_000);
    assert.equal(parseDuration('90m'), 90 * 60_000);
    assert.equal(parseDuration('12h'), 12 * 3_600_000);
    assert.equal(parseDuration('30d'), 30 * 86_400_000);
    assert.equal(parseDuration('2w'), 14 * 86_400_000);
    assert.equal(parseDuration(' 7d '), 7 * MS_PER_UNIT.d);
  });

  it('refuses zero, negatives, fractions, unknown units and empty text', () => {
    for (const bad of ['0d', '-1d', '1.5h', '3y', 'd', '', '12', '1dd', '12 hours']) {
      usageError(() => parseDuration(bad, '--ttl'), /--ttl/);
    }
  });
});

describe('parseExpiry', () => {
  it('adds a duration to now', () => {
    assert.equal(parseExpiry('30d', NOW), NOW + 30 * MS_PER_UNIT.d);
    assert.equal(parseExpiry('12h', NOW), NOW + 12 * MS_PER_UNIT.h);
  });

  it('reads a bare date as the end of that day, UTC', () => {
    assert.equal(parseExpiry('2026-12-31', NOW), Date.UTC(2026, 11, 31, 23, 59, 59, 999));
  });

  it('reads an ISO date-time with a zone', () => {
    assert.equal(parseExpiry('2026-03-01T08:30:00Z', NOW), Date.UTC(2026, 2, 1, 8, 30));
    assert.equal(parseExpiry('2026-03-01T08:30+02:00', NOW), Date.UTC(2026, 2, 1, 6, 30));
  });

  it('refuses impossible dates, dates without zone, and the past', () => {
    usageError(() => parseExpiry('2026-02-30', NOW), /real calendar date/);
    usageError(() => parseExpiry('2026-13-01', NOW), /real calendar date/);
    usageError(() => parseExpiry('2026-03-01T08:30:00', NOW), /--expires/);
    usageError(() => parseExpiry('2025-12-31', NOW), /in the past/);
    usageError(() => parseExpiry('tomorrow', NOW), /expected a duration/);
  });
});

describe('formatRemaining', () => {
  it('shows the two largest units', () => {
    assert.equal(formatRemaining(30 * MS_PER_UNIT.d - MS_PER_UNIT.h), '29d 23h');
    assert.equal(formatRemaining(5 * MS_PER_UNIT.h + 12 * MS_PER_UNIT.m + 5000), '5h 12m');
    assert.equal(formatRemaining(40_000), '40s');
    assert.equal(formatRemaining(-5), '0s');
  });
});
