// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test", "before", "after"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { jsonFilesIn, SYNTHEA_DIR } from '../../test/support/testdata.js';
import { ValidationPool, VALIDATION_BATCH_SIZE } from './validation-pool.js';
import { loadFhirDefinitions, validateFhirResource } from './validation.js';

function observation(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2024-03-01T10:15:00+01:00',
    valueQuantity: { value: 72, unit: '/min' },
    ...overrides,
  };
}

/** Valid and invalid inputs of every kind the validator tells apart. */
const CASES: unknown[] = [
  observation(),
  observation({ status: undefined }),
  observation({ status: 'done' }),
  observation({ valueQuantity: { value: 'seventy' } }),
  observation({ colour: 'red' }),
  observation({ id: 'not an id!' }),
  { resourceType: 'Patient', name: [{ family: 'Doe' }], birthDate: '1970-13-01' },
  { resourceType: 'Bundle', type: 'collection' },
  { resourceType: 42 },
  {},
  [],
  null,
  'a string',
  7,
];

describe('ValidationPool', () => {
  const pool = new ValidationPool();
  before(() => loadFhirDefinitions());
  after(() => pool.close());

  test('answers what validateFhirResource answers in this thread, valid or not', async () => {
    const results = await Promise.all(CASES.map((resource) => pool.validate(resource)));
    assert.deepEqual(
      results,
      CASES.map((resource) => validateFhirResource(resource)),
    );
    assert.equal(results[0]!.ok, true);
    assert.equal(results[1]!.ok, false);
    assert.equal(pool.inThread, false, 'the worker answered, not a fallback in this thread');
  });

  test('many at once (several batches), each answer in its place', async () => {
    const many = Array.from({ length: VALIDATION_BATCH_SIZE * 3 + 5 }, (_, i) =>
      i % 3 === 0 ? observation({ status: `s${i}` }) : observation({ valueQuantity: { value: i } }),
    );
    const results = await Promise.all(many.map((resource) => pool.validate(resource)));
    assert.deepEqual(
      results,
      many.map((resource) => validateFhirResource(resource)),
    );
    assert.equal(results.filter((r) => !r.ok).length, Math.ceil(many.length / 3));
  });

  test('the resources of a Synthea bundle', async () => {
    const file = jsonFilesIn(SYNTHEA_DIR)[0]!;
    const bundle = JSON.parse(readFileSync(file, 'utf8')) as { entry: { resource: unknown }[] };
    const resources = bundle.entry.slice(0, 120).map((e) => e.resource);
    const results = await Promise.all(resources.map((resource) => pool.validate(resource)));
    assert.deepEqual(
      results,
      resources.map((resource) => validateFhirResource(resource)),
    );
    assert.equal(pool.inThread, false);
  });

  test('what cannot be copied to a worker is validated in this thread', async () => {
    const odd = { ...observation(), note: [{ text: 'x', toString: () => 'not JSON' }] };
    assert.deepEqual(await pool.validate(odd), validateFhirResource(odd));
  });

  test('after close, validation goes on in this thread', async () => {
    const closed = new ValidationPool();
    assert.equal((await closed.validate(observation())).ok, true);
    await closed.close();
    assert.equal(closed.inThread, true);
    assert.deepEqual(
      await closed.validate(observation({ status: 'x' })),
      validateFhirResource(observation({ status: 'x' })),
    );
  });

  test('the size is a positive integer', () => {
    assert.throws(() => new ValidationPool(0), /"size" expected a positive integer, got 0/);
  });
});
