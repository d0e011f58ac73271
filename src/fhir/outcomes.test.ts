import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  FhirError,
  OUTCOME_STATUS,
  allOk,
  badRequest,
  conflict,
  forbidden,
  gone,
  notFound,
  notSupported,
  preconditionFailed,
  serverError,
  unavailable,
  statusOf,
  toOutcome,
  tooLarge,
  unauthorized,
  unknownType,
} from './outcomes.js';
import { MAX_CURSOR_LENGTH, decodeCursor, encodeCursor, type Cursor } from './search/cursor.js';
import { checkCursor } from './search/params.js';

describe('outcomes', () => {
  it('one status per kind of outcome', () => {
    const table: [ReturnType<typeof badRequest>, number][] = [
      [allOk, 200],
      [badRequest('bad', 'code'), 400],
      [unauthorized, 401],
      [forbidden('no grant'), 403],
      [notFound('Patient', 'p1'), 404],
      [unknownType('Claim'), 404],
      [conflict('taken'), 409],
      [gone('Patient', 'p1'), 410],
      [preconditionFailed('v2'), 412],
      [tooLarge('big'), 413],
      [notSupported('PATCH'), 422],
      [serverError, 500],
      [unavailable('custodian not reached'), 503],
    ];
    for (const [outcome, status] of table) assert.equal(statusOf(outcome), status, outcome.id);
    assert.deepEqual(new Set(Object.values(OUTCOME_STATUS)).size, Object.keys(OUTCOME_STATUS).length);
  });

  it('outcomes without a known id: exception → 500, else 400', () => {
    assert.equal(
      statusOf({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception' }] }),
      500,
    );
    assert.equal(
      statusOf({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] }),
      400,
    );
  });

  it('badRequest names the bad input in details and expression', () => {
    const o = badRequest('Unknown search parameter "foo"', 'foo');
    assert.deepEqual(o.issue?.[0]?.expression, ['foo']);
    assert.equal(o.issue?.[0]?.details?.text, 'Unknown search parameter "foo"');
    assert.equal(
      notFound('Observation', 'o1', '3').issue?.[0]?.details?.text,
      'Observation/o1/_history/3 not found',
    );
  });

  it('FhirError carries the outcome and its status; unknown errors become a fixed 500', () => {
    const error = new FhirError(preconditionFailed('stale'));
    assert.equal(error.status, 412);
    assert.equal(error.message, 'stale');
    assert.equal(toOutcome(error), error.outcome);
    const internal = toOutcome(new Error('SQLITE_CORRUPT at /var/lib/roam/ledger.sqlite'));
    assert.equal(statusOf(internal), 500);
    assert.doesNotMatch(JSON.stringify(internal), /SQLITE|\/var/);
    assert.ok(Object.isFrozen(serverError) && Object.isFrozen(serverError.issue));
  });
});

describe('_page cursors (fast-check)', () => {
  const cursor: fc.Arbitrary<Cursor> = fc.record({
    sort: fc.constantFrom('date', '-date', '_lastUpdated', '-_lastUpdated', '$everything'),
    key: fc.array(
      fc.oneof(
        fc.constant(null),
        fc.integer({ min: -8.64e15, max: 8.64e15 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
      ),
      {
        minLength: 1,
        maxLength: 3,
      },
    ),
    id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9\-.]{1,64}$/), fc.string({ maxLength: 80 })),
  });

  it('decode(encode(c)) = c and the encoding is base64url', () => {
    fc.assert(
      fc.property(cursor, (c) => {
        const text = encodeCursor(c);
        assert.match(text, /^[A-Za-z0-9_-]+$/);
        const back = decodeCursor(text);
        // -0 has no JSON form: it comes back as 0, the same sort position.
        assert.deepEqual(back, { ...c, key: c.key.map((k) => (Object.is(k, -0) ? 0 : k)) });
        assert.equal(encodeCursor(back), text);
      }),
      { numRuns: 500 },
    );
  });

  it('anything that is not exactly an encoded cursor is a 400 naming _page', () => {
    const valid = encodeCursor({ sort: 'date', key: [1], id: 'a' });
    const bad = [
      '',
      'x'.repeat(MAX_CURSOR_LENGTH + 1),
      '!!!',
      Buffer.from('{"id":"a","k":[1],"s":"date","x":1}').toString('base64url'),
      Buffer.from('{"s":"date","k":[1],"id":"a"}').toString('base64url'), // not canonical order
      Buffer.from('{"id":"a","k":["1"],"s":"date"}').toString('base64url'),
      Buffer.from('[1]').toString('base64url'),
      `${valid}=`,
    ];
    for (const text of bad) {
      assert.throws(
        () => decodeCursor(text),
        (e: unknown) =>
          e instanceof FhirError && e.status === 400 && e.outcome.issue?.[0]?.expression?.[0] === '_page',
        text,
      );
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (text) => {
        try {
          const c = decodeCursor(text);
          assert.equal(encodeCursor(c), text);
        } catch (e) {
          assert.ok(e instanceof FhirError && e.status === 400);
        }
      }),
    );
  });

  it('a cursor of another sort is refused', () => {
    const c = decodeCursor(encodeCursor({ sort: 'date', key: [1], id: 'a' }));
    assert.throws(() => checkCursor(c, '-date', 1), /made for _sort=date/);
    assert.throws(() => checkCursor(c, 'date', 2), /wrong length/);
  });
});
