// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test", "before"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { before, describe, test } from 'node:test';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { IPS_DIR, jsonFilesIn, SYNTHEA_DIR } from '../../test/support/testdata.js';
import {
  loadFhirDefinitions,
  MAX_RESOURCE_BYTES,
  SUPPORTED_RESOURCE_TYPES,
  validateFhirResource,
} from './validation.js';

/** A typical vital-signs Observation, as a FHIR client would send it. */
function observation(): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    id: 'heart-rate-1',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
        ],
      },
    ],
    code: {
      coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }],
      text: 'Heart rate',
    },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2024-03-01T10:15:00+01:00',
    issued: '2024-03-01T10:16:02.120+01:00',
    valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

function issuesOf(resource: unknown): NonNullable<OperationOutcome['issue']> {
  const result = validateFhirResource(resource);
  assert.equal(result.ok, false, `expected ${String(JSON.stringify(resource)).slice(0, 200)} to be invalid`);
  if (result.ok) return [];
  assert.equal(result.outcome.resourceType, 'OperationOutcome');
  return result.outcome.issue ?? [];
}

function describeFailure(
  resource: { resourceType?: unknown; id?: unknown },
  outcome: OperationOutcome,
): string {
  const issues = (outcome.issue ?? []).filter((i) => i.severity === 'error').map((i) => i.details?.text);
  return `${String(resource.resourceType)}/${String(resource.id)}: ${issues.join('; ')}`;
}

/** Every resource of `file`: the entries of a Bundle, or the file's own resource. */
function resourcesOf(file: string): Array<Record<string, unknown>> {
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (json['resourceType'] !== 'Bundle') return [json];
  const entries = (json['entry'] ?? []) as Array<{ resource?: Record<string, unknown> }>;
  return entries.flatMap((entry) => (entry.resource ? [entry.resource] : []));
}

let loadMs = 0;

before(() => {
  const started = performance.now();
  loadFhirDefinitions();
  loadMs = performance.now() - started;
});

describe('validateFhirResource: valid resources', () => {
  test('the supported resource types', () => {
    assert.deepEqual(
      [...SUPPORTED_RESOURCE_TYPES],
      [
        'Patient',
        'Observation',
        'Condition',
        'AllergyIntolerance',
        'MedicationRequest',
        'MedicationStatement',
        'Immunization',
        'Procedure',
        'DiagnosticReport',
        'DocumentReference',
        'Encounter',
        'CarePlan',
      ],
    );
  });

  test('a typical Observation', () => {
    assert.deepEqual(validateFhirResource(observation()), { ok: true });
  });

  test('every supported resource of a Synthea bundle', (t) => {
    const path = jsonFilesIn(SYNTHEA_DIR)[0];
    assert.ok(path !== undefined, `no .json bundle in ${SYNTHEA_DIR}`);
    const file = basename(path);
    const failures: string[] = [];
    const counted = new Map<string, number>();
    for (const resource of resourcesOf(path)) {
      const type = String(resource['resourceType']);
      if (!(SUPPORTED_RESOURCE_TYPES as readonly string[]).includes(type)) continue;
      counted.set(type, (counted.get(type) ?? 0) + 1);
      const result = validateFhirResource(resource);
      if (!result.ok) failures.push(describeFailure(resource, result.outcome));
    }
    t.diagnostic(`${file}: ${[...counted].map(([type, n]) => `${n} ${type}`).join(', ')}`);
    assert.ok(
      counted.get('Patient') === 1 && counted.size > 3,
      `supported resources in ${file}: ${JSON.stringify([...counted])}`,
    );
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} invalid resources in ${file}`);
  });

  test('the supported resources of the IPS examples', (t) => {
    const failures: string[] = [];
    let validated = 0;
    for (const path of jsonFilesIn(IPS_DIR)) {
      const file = basename(path);
      for (const resource of resourcesOf(path)) {
        if (!(SUPPORTED_RESOURCE_TYPES as readonly string[]).includes(String(resource['resourceType'])))
          continue;
        validated++;
        const result = validateFhirResource(resource);
        if (!result.ok) failures.push(`${file}: ${describeFailure(resource, result.outcome)}`);
      }
    }
    t.diagnostic(`${validated} supported resources in the IPS examples`);
    assert.ok(validated >= 5, `only ${validated} supported resources found`);
    assert.deepEqual(failures, []);
  });
});

describe('validateFhirResource: invalid resources name the bad element', () => {
  const obs = observation;
  const cases: Array<{ what: string; resource: Record<string, unknown>; element: string; code?: string }> = [
    {
      what: 'missing required status',
      resource: { ...obs(), status: undefined },
      element: 'Observation.status',
    },
    {
      what: 'a string for valueQuantity.value',
      resource: { ...obs(), valueQuantity: { value: '72', unit: '/min' } },
      element: 'Observation.valueQuantity.value',
    },
    {
      what: 'a bad dateTime format',
      resource: { ...obs(), effectiveDateTime: '2024-13-45T10:00' },
      element: 'Observation.effectiveDateTime',
    },
    {
      what: 'a bad date format',
      resource: { resourceType: 'Patient', birthDate: '01/02/1980' },
      element: 'Patient.birthDate',
    },
    { what: 'an unknown element', resource: { ...obs(), colour: 'red' }, element: 'Observation.colour' },
    {
      what: 'a status code outside its required value set',
      resource: { ...obs(), status: 'done' },
      element: 'Observation.status',
      code: 'code-invalid',
    },
    {
      what: 'a gender code outside its required value set',
      resource: { resourceType: 'Patient', gender: 'M' },
      element: 'Patient.gender',
      code: 'code-invalid',
    },
    {
      what: 'a bad code in an element of an array of datatypes',
      resource: { resourceType: 'Patient', name: [{ family: 'Lovelace', use: 'nick' }] },
      element: 'Patient.name[0].use',
      code: 'code-invalid',
    },
    {
      what: 'a bad code inside a backbone element and a choice type',
      resource: {
        ...obs(),
        valueQuantity: undefined,
        component: [
          { code: { text: 'systolic' }, valueQuantity: { value: 120 } },
          { code: { text: 'diastolic' }, valueQuantity: { value: 80, comparator: 'about' } },
        ],
      },
      element: 'Observation.component[1].valueQuantity.comparator',
      code: 'code-invalid',
    },
    {
      what: 'a bad intent code',
      resource: {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'wish',
        medicationCodeableConcept: { text: 'aspirin' },
        subject: { reference: 'Patient/p1' },
      },
      element: 'MedicationRequest.intent',
      code: 'code-invalid',
    },
    {
      what: 'missing required subject',
      resource: { resourceType: 'Condition', code: { text: 'asthma' } },
      element: 'Condition.subject',
    },
    {
      what: 'a string for a boolean',
      resource: { resourceType: 'Patient', active: 'yes' },
      element: 'Patient.active',
    },
    {
      what: 'an array for a single element',
      resource: { ...obs(), status: ['final'] },
      element: 'Observation.status',
    },
    {
      what: 'missing required content',
      resource: { resourceType: 'DocumentReference', status: 'current' },
      element: 'DocumentReference.content',
    },
    {
      what: 'a malformed id',
      resource: { resourceType: 'Patient', id: 'no spaces/allowed' },
      element: 'Patient.id',
    },
  ];

  for (const { what, resource, element, code } of cases) {
    test(`${what} → ${element}`, () => {
      const issues = issuesOf(JSON.parse(JSON.stringify(resource)));
      const naming = issues.find((i) => i.expression?.includes(element));
      assert.ok(naming, `no issue names ${element}: ${JSON.stringify(issues)}`);
      assert.equal(naming.severity, 'error');
      assert.ok(
        naming.details?.text?.includes(element),
        `details.text names the element: ${naming.details?.text}`,
      );
      if (code !== undefined) assert.equal(naming.code, code);
    });
  }

  test('several problems give several issues', () => {
    const issues = issuesOf({
      ...observation(),
      status: 'bogus',
      colour: 'red',
      effectiveDateTime: 'yesterday',
    });
    const named = issues.flatMap((i) => i.expression ?? []).sort();
    assert.deepEqual(named, ['Observation.colour', 'Observation.effectiveDateTime', 'Observation.status']);
  });
});

describe('validateFhirResource: what is not a supported resource', () => {
  test('non-objects', () => {
    for (const [value, got] of [
      [null, 'null'],
      [42, 'a number'],
      ['Patient', 'a string'],
      [[{ resourceType: 'Patient' }], 'an array'],
      [undefined, 'undefined'],
      [true, 'a boolean'],
    ] as const) {
      const [first] = issuesOf(value);
      assert.equal(first?.code, 'structure');
      assert.match(first?.details?.text ?? '', new RegExp(`must be a JSON object, got ${got}`));
    }
  });

  test('no resourceType', () => {
    const [first] = issuesOf({ id: 'x' });
    assert.equal(first?.code, 'required');
    assert.deepEqual(first?.expression, ['resourceType']);
  });

  test('an unknown or unsupported resourceType names the supported ones', () => {
    for (const type of ['Practitioner', 'Bundle', 'NotAType', 'observation']) {
      const [first] = issuesOf({ resourceType: type });
      assert.equal(first?.code, 'not-supported');
      assert.deepEqual(first?.expression, ['resourceType']);
      assert.match(
        first?.details?.text ?? '',
        new RegExp(`"${type}" is not supported; supported types: Patient, Observation`),
      );
    }
  });

  test(`a resource over ${MAX_RESOURCE_BYTES} bytes of canonical JSON`, () => {
    const note = 'x'.repeat(MAX_RESOURCE_BYTES);
    const [first] = issuesOf({ ...observation(), note: [{ text: note }] });
    assert.equal(first?.code, 'too-long');
    assert.match(first?.details?.text ?? '', /bytes of canonical JSON; at most 1048576 are accepted/);
    // Just under the limit is only validated.
    const fits = { ...observation(), note: [{ text: 'x'.repeat(MAX_RESOURCE_BYTES - 1000) }] };
    assert.deepEqual(validateFhirResource(fits), { ok: true });
  });

  test('values JSON cannot carry', () => {
    const [first] = issuesOf({ ...observation(), valueQuantity: { value: Number.NaN } });
    assert.equal(first?.code, 'structure');
    assert.match(first?.details?.text ?? '', /not representable as JSON/);
  });
});

describe('validateFhirResource: cost', () => {
  test('loading the definitions, and one validation of a typical Observation', (t) => {
    const resource = observation();
    for (let i = 0; i < 500; i++) validateFhirResource(resource);
    const runs = 3000;
    const started = performance.now();
    for (let i = 0; i < runs; i++) validateFhirResource(resource);
    const perOpUs = ((performance.now() - started) * 1000) / runs;
    t.diagnostic(
      `definitions loaded in ${loadMs.toFixed(0)} ms; one Observation validated in ${perOpUs.toFixed(1)} µs`,
    );
    assert.ok(perOpUs < 1000, `${perOpUs.toFixed(1)} µs per validation`);
  });
});
