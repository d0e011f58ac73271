import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import { FhirError } from './outcomes.js';
import { MAX_TIME, MIN_TIME, parseDateRange } from './search/dates.js';
import { INDEX_TABLE, SEARCH_PARAMETERS, indexEntries } from './search/index-entries.js';
import { compareForSort, matches, sortKey } from './search/match.js';
import { DEFAULT_COUNT, MAX_COUNT, parseEverythingParams, parseSearch } from './search/params.js';
import { codingKeys } from './search/tokens.js';
import { SUPPORTED_TYPES, type StoredResource } from './types.js';

const t = (iso: string): number => Date.parse(iso);

function observation(fields: Partial<Observation>): Observation {
  return {
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8302-2' }] },
    meta: { versionId: '1', lastUpdated: '2024-03-01T12:00:00.000Z' },
    ...fields,
  };
}

/** Whether `resource` matches the Observation search `query`. */
function hits(resource: StoredResource, query: string, now?: number): boolean {
  return matches(
    indexEntries(resource),
    parseSearch(resource.resourceType, query, now === undefined ? {} : { now }),
  );
}

/** The FhirError of `work`, checked to be a 400 naming `param`. */
function rejects(work: () => unknown, param: string, text?: RegExp): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(error instanceof FhirError, String(error));
    assert.equal(error.status, 400);
    const issue = error.outcome.issue?.[0];
    assert.deepEqual(issue?.expression, [param]);
    assert.match(issue?.details?.text ?? '', new RegExp(param.replace(/[$]/g, '\\$')));
    if (text !== undefined) assert.match(issue?.details?.text ?? '', text);
    return true;
  });
}

describe('dates: FHIR precision → [start, end)', () => {
  const table: [string, string, string][] = [
    ['2020', '2020-01-01T00:00:00.000Z', '2021-01-01T00:00:00.000Z'],
    ['2020-02', '2020-02-01T00:00:00.000Z', '2020-03-01T00:00:00.000Z'],
    ['2020-12', '2020-12-01T00:00:00.000Z', '2021-01-01T00:00:00.000Z'],
    ['2020-02-29', '2020-02-29T00:00:00.000Z', '2020-03-01T00:00:00.000Z'],
    ['2020-06-01T10:00Z', '2020-06-01T10:00:00.000Z', '2020-06-01T10:01:00.000Z'],
    ['2020-06-01T10:00:00Z', '2020-06-01T10:00:00.000Z', '2020-06-01T10:00:01.000Z'],
    ['2020-06-01T10:00:00.5Z', '2020-06-01T10:00:00.500Z', '2020-06-01T10:00:00.600Z'],
    ['2020-06-01T10:00:00.25Z', '2020-06-01T10:00:00.250Z', '2020-06-01T10:00:00.260Z'],
    ['2020-06-01T10:00:00.398+00:00', '2020-06-01T10:00:00.398Z', '2020-06-01T10:00:00.399Z'],
    ['2020-06-01T10:00:00.1234Z', '2020-06-01T10:00:00.123Z', '2020-06-01T10:00:00.124Z'],
    ['2019-12-31T23:00:00-02:00', '2020-01-01T01:00:00.000Z', '2020-01-01T01:00:01.000Z'],
    ['2020-01-01T05:30:00+05:30', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:01.000Z'],
    ['0050-01-01', '0050-01-01T00:00:00.000Z', '0050-01-02T00:00:00.000Z'],
  ];
  for (const [text, start, end] of table) {
    it(`${text} → [${start}, ${end})`, () => {
      assert.deepEqual(parseDateRange(text), { start: t(start), end: t(end) });
    });
  }

  for (const bad of [
    '',
    '20',
    '2020-13',
    '2019-02-29',
    '2020-04-31',
    '2020-06-01T10:00:00',
    '2020-06-01T10:00',
    '2020-06-01T24:00:00Z',
    '2020-06-01T10:61:00Z',
    '2020-06-01T10:00:00+15:00',
    '2020-6-1',
    '2020-06-01 10:00:00Z',
    'today',
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(parseDateRange(bad), undefined));
  }
});

describe('date search: prefixes and precision (FHIR R4 search §3.1.1.4.5)', () => {
  const june = observation({ effectiveDateTime: '2020-06-01T10:00:00Z' });
  // [expected, query] against effectiveDateTime 2020-06-01T10:00:00Z (one second).
  const table: [boolean, string][] = [
    [true, 'date=2020'],
    [true, 'date=2020-06'],
    [true, 'date=2020-06-01'],
    [true, 'date=eq2020-06-01T10:00Z'],
    [true, 'date=2020-06-01T10:00:00Z'],
    [true, 'date=2020-06-01T12:00:00%2B02:00'],
    [true, 'date=2020-06-01T12:00:00+02:00'], // an unencoded + arrives as a space
    [false, 'date=2020-06-01T10:00:00%2B02:00'],
    [false, 'date=2020-06-01T10:00:00.5Z'],
    [false, 'date=2021'],
    [false, 'date=2020-05'],
    [true, 'date=ne2021'],
    [false, 'date=ne2020'],
    [false, 'date=lt2020-01-01'],
    [true, 'date=lt2020-06-02'],
    [false, 'date=lt2020-06-01'],
    [true, 'date=le2020-06-01'],
    [true, 'date=le2020-06-01T10:00:00Z'],
    [false, 'date=le2020-05-31'],
    [true, 'date=gt2020-05-31'],
    [false, 'date=gt2020-06-01'],
    [false, 'date=gt2020'],
    [true, 'date=ge2020'],
    [true, 'date=ge2020-06-01'],
    [true, 'date=ge2019-12-31T23:00:00-02:00'],
    [false, 'date=ge2020-06-01T10:00:01Z'],
    [true, 'date=sa2020-05'],
    [false, 'date=sa2020-06'],
    [true, 'date=eb2020-07'],
    [false, 'date=eb2020-06'],
    [true, 'date=ge2020&date=lt2021'],
    [false, 'date=ge2020&date=lt2020-06-01'],
    [true, 'date=2019,2020'],
    [false, 'date=2018,2019'],
  ];
  for (const [expected, query] of table) {
    it(`${query} ${expected ? 'matches' : 'does not match'} 2020-06-01T10:00:00Z`, () => {
      assert.equal(hits(june, query), expected);
    });
  }

  it('lt2020-01-01 matches 2019-12-31T23:59:59Z, not 2020-01-01T00:00:00Z', () => {
    assert.equal(hits(observation({ effectiveDateTime: '2019-12-31T23:59:59Z' }), 'date=lt2020-01-01'), true);
    assert.equal(
      hits(observation({ effectiveDateTime: '2020-01-01T00:00:00Z' }), 'date=lt2020-01-01'),
      false,
    );
  });

  it('ge2019-12-31T23:00:00-02:00 (= 2020-01-01T01:00:00Z) splits 2020-01-01 around 01:00Z', () => {
    const q = 'date=ge2019-12-31T23:00:00-02:00';
    assert.equal(hits(observation({ effectiveDateTime: '2020-01-01T00:30:00Z' }), q), false);
    assert.equal(hits(observation({ effectiveDateTime: '2020-01-01T01:00:00Z' }), q), true);
    assert.equal(hits(observation({ effectiveDateTime: '2020-01-01T00:59:59+00:00' }), q), false);
    assert.equal(hits(observation({ effectiveDateTime: '2019-12-31T23:30:00-02:00' }), q), true);
  });

  it('a date-only value in a resource is a whole (UTC) day', () => {
    const day = observation({ effectiveDateTime: '2020-06-01' });
    assert.equal(hits(day, 'date=2020-06-01'), true);
    assert.equal(hits(day, 'date=2020-06-01T10:00:00Z'), false); // the day is wider than the second
    assert.equal(hits(day, 'date=ge2020-06-01T10:00:00Z'), true); // it reaches above it
    assert.equal(hits(day, 'date=le2020-06-01T10:00:00Z'), true);
  });

  it('periods: eq needs containment, gt/lt need overlap beyond, open ends reach to infinity', () => {
    const period = observation({ effectivePeriod: { start: '2020-03-15', end: '2020-04-15' } });
    assert.equal(hits(period, 'date=2020'), true);
    assert.equal(hits(period, 'date=2020-03'), false);
    assert.equal(hits(period, 'date=gt2020-03-31'), true);
    assert.equal(hits(period, 'date=lt2020-04-01'), true);
    assert.equal(hits(period, 'date=sa2020-03-14'), true);
    assert.equal(hits(period, 'date=sa2020-03-15'), false);
    const open = observation({ effectivePeriod: { start: '2020-03-15' } });
    assert.equal(hits(open, 'date=gt3000'), true);
    assert.equal(hits(open, 'date=lt2020-03-15'), false);
    const [entry] = indexEntries(open).filter((e) => e.kind === 'date' && e.param === 'date');
    assert.deepEqual(entry, { kind: 'date', param: 'date', start: t('2020-03-15'), end: MAX_TIME });
    const openStart = observation({ effectivePeriod: { end: '2020-03-15' } });
    const [e2] = indexEntries(openStart).filter((e) => e.kind === 'date' && e.param === 'date');
    assert.deepEqual(e2, { kind: 'date', param: 'date', start: MIN_TIME, end: t('2020-03-16') });
  });

  it('ap: within 10% of the distance to now', () => {
    const now = t('2030-01-01T00:00:00Z');
    // 2020 is ~10 years before now: ± ~1 year around the year 2020.
    assert.equal(hits(observation({ effectiveDateTime: '2019-06-01T00:00:00Z' }), 'date=ap2020', now), true);
    assert.equal(hits(observation({ effectiveDateTime: '2021-06-01T00:00:00Z' }), 'date=ap2020', now), true);
    assert.equal(hits(observation({ effectiveDateTime: '2017-06-01T00:00:00Z' }), 'date=ap2020', now), false);
    assert.equal(hits(observation({ effectiveDateTime: '2023-01-01T00:00:00Z' }), 'date=ap2020', now), false);
  });

  it('a resource without the date matches no date search, not even ne', () => {
    const undated = observation({});
    assert.equal(hits(undated, 'date=ne2020'), false);
    assert.equal(hits(undated, 'date=lt3000'), false);
  });

  it('falls back along the table: Observation.issued when effective[x] is absent', () => {
    assert.equal(hits(observation({ issued: '2020-06-01T10:00:00.398+00:00' }), 'date=2020-06-01'), true);
    assert.equal(
      hits(
        observation({ effectiveDateTime: '2019-01-01T00:00:00Z', issued: '2020-06-01T10:00:00Z' }),
        'date=2020',
      ),
      false,
    );
  });

  it('_lastUpdated reads meta.lastUpdated at millisecond precision', () => {
    const o = observation({});
    assert.equal(hits(o, '_lastUpdated=2024-03-01'), true);
    assert.equal(hits(o, '_lastUpdated=gt2024-03-01T11:59:59Z'), true);
    assert.equal(hits(o, '_lastUpdated=lt2024-03-01T12:00:00.000Z'), false);
    assert.equal(hits(o, '_lastUpdated=ge2024-03-01T12:00:00.000Z'), true);
  });
});

describe('token search: forms and escaping', () => {
  const coded = observation({
    code: {
      coding: [{ system: 'http://loinc.org', code: '8302-2' }, { code: 'local-height' }],
    },
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
        ],
      },
    ],
    identifier: [{ system: 'urn:oid:1.2.3', value: 'A|B,C' }],
  });
  const table: [boolean, string][] = [
    [true, 'code=http://loinc.org|8302-2'],
    [true, 'code=8302-2'],
    [true, 'code=http://loinc.org|'],
    [false, 'code=|8302-2'],
    [true, 'code=|local-height'],
    [true, 'code=local-height'],
    [false, 'code=http://snomed.info/sct|8302-2'],
    [false, 'code=http://loinc.org|8302'],
    [true, 'code=http://snomed.info/sct|1,http://loinc.org|8302-2'],
    [false, 'code=http://loinc.org|8302-2&code=other'],
    [true, 'code=8302-2&code=local-height'],
    [true, 'category=vital-signs'],
    [true, 'category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs'],
    [false, 'category=laboratory'],
    [true, 'identifier=urn:oid:1.2.3|A\\|B\\,C'],
    [true, 'identifier=A\\|B\\,C'],
    [false, 'identifier=urn:oid:1.2.3|A'],
    [true, '_id=x,o1'],
    [false, '_id=x,y'],
  ];
  for (const [expected, query] of table) {
    it(`${query} ${expected ? 'matches' : 'does not match'}`, () =>
      assert.equal(hits(coded, query), expected));
  }

  it('index keys are the exact strings queries build (system|code, system|, code, |code)', () => {
    assert.deepEqual(codingKeys('http://loinc.org', '8302-2'), [
      'http://loinc.org|8302-2',
      'http://loinc.org|',
      '8302-2',
    ]);
    assert.deepEqual(codingKeys(undefined, 'x'), ['|x', 'x']);
    assert.deepEqual(codingKeys('s', 'a|b'), ['s|a\\|b', 's|', 'a\\|b']);
    assert.deepEqual(codingKeys('s', undefined), []);
    const filter = parseSearch('Observation', 'code=s|a\\|b').filters[0];
    assert.deepEqual(filter, { kind: 'token', param: 'code', anyOf: ['s|a\\|b'] });
  });

  it('Patient identifier with the DID system', () => {
    const did = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
    const patient: StoredResource = {
      resourceType: 'Patient',
      id: 'p1',
      identifier: [{ system: 'urn:ietf:rfc:3986', value: did }],
    };
    assert.equal(hits(patient, `identifier=urn:ietf:rfc:3986|${did}`), true);
    assert.equal(hits(patient, `identifier=urn:ietf:rfc:3986|did:key:other`), false);
  });

  it('implicit code system of a code-typed element (AllergyIntolerance.category)', () => {
    const allergy: StoredResource = {
      resourceType: 'AllergyIntolerance',
      id: 'a1',
      patient: { reference: 'Patient/p1' },
      category: ['food'],
    };
    assert.equal(hits(allergy, 'category=food'), true);
    assert.equal(hits(allergy, 'category=http://hl7.org/fhir/allergy-intolerance-category|food'), true);
    assert.equal(hits(allergy, 'category=medication'), false);
  });
});

describe('patient references', () => {
  const o = observation({ subject: { reference: 'Patient/p1' } });
  for (const [expected, query] of [
    [true, 'patient=p1'],
    [true, 'patient=Patient/p1'],
    [true, 'subject=Patient/p1'],
    [true, 'subject=p2,p1'],
    [false, 'patient=p2'],
  ] as const) {
    it(`${query}: ${expected}`, () => assert.equal(hits(o, query), expected));
  }

  it('only relative Patient references are indexed', () => {
    const entries = (ref: string): unknown[] =>
      indexEntries(observation({ subject: { reference: ref } })).filter((e) => e.kind === 'reference');
    assert.deepEqual(entries('Patient/p1/_history/3'), [
      { kind: 'reference', param: 'patient', value: 'Patient/p1' },
    ]);
    assert.deepEqual(entries('Group/g1'), []);
    assert.deepEqual(entries('urn:uuid:8b5d6a9e-0000-4000-8000-000000000000'), []);
    assert.deepEqual(entries('https://elsewhere.example/fhir/Patient/p1'), []);
  });

  it('a Patient belongs to its own compartment', () => {
    const entries = indexEntries({ resourceType: 'Patient', id: 'p1' });
    assert.ok(entries.some((e) => e.kind === 'reference' && e.value === 'Patient/p1'));
  });
});

describe('index entries: the table', () => {
  it('every supported type has a row and its parameters', () => {
    assert.deepEqual(Object.keys(INDEX_TABLE).sort(), [...SUPPORTED_TYPES].sort());
    for (const type of SUPPORTED_TYPES) {
      const names = SEARCH_PARAMETERS[type].map((p) => p.name);
      assert.ok(
        names.includes('_id') && names.includes('_lastUpdated') && names.includes('identifier'),
        type,
      );
      assert.equal(names.includes('patient'), type !== 'Patient', type);
    }
    assert.deepEqual(
      SEARCH_PARAMETERS.Immunization.map((p) => p.name),
      ['_id', '_lastUpdated', 'identifier', 'patient', 'code', 'date'],
    );
  });

  const cases: [StoredResource, string][] = [
    [
      {
        resourceType: 'Immunization',
        id: 'i',
        status: 'completed',
        patient: { reference: 'Patient/p' },
        vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140' }] },
        occurrenceDateTime: '2011-07-23T05:46:40+00:00',
      },
      'patient=p&code=http://hl7.org/fhir/sid/cvx|140&date=2011-07-23',
    ],
    [
      {
        resourceType: 'MedicationRequest',
        id: 'm',
        status: 'active',
        intent: 'order',
        subject: { reference: 'Patient/p' },
        medicationCodeableConcept: {
          coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '2001499' }],
        },
        authoredOn: '1977-05-28T05:46:40+00:00',
      },
      'subject=p&code=2001499&date=1977-05',
    ],
    [
      {
        resourceType: 'Condition',
        id: 'c',
        subject: { reference: 'Patient/p' },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '15777000' }] },
        recordedDate: '1977-03-26T05:46:40+00:00',
      },
      'patient=p&code=http://snomed.info/sct|15777000&date=1977-03-26',
    ],
    [
      {
        resourceType: 'Encounter',
        id: 'e',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        type: [{ coding: [{ system: 'http://snomed.info/sct', code: '185349003' }] }],
        subject: { reference: 'Patient/p' },
        period: { start: '1977-03-26T05:46:40+00:00', end: '1977-03-26T06:01:40+00:00' },
      },
      'patient=p&category=AMB&code=185349003&date=1977-03-26',
    ],
    [
      {
        resourceType: 'DocumentReference',
        id: 'd',
        status: 'current',
        masterIdentifier: { system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2' },
        subject: { reference: 'Patient/p' },
        type: { coding: [{ system: 'http://loinc.org', code: '34133-9' }] },
        content: [{ attachment: { contentType: 'text/plain' } }],
        context: { period: { start: '2020-01-01', end: '2020-01-03' } },
      },
      'patient=p&identifier=urn:oid:1.2&code=http://loinc.org|34133-9&date=2020-01',
    ],
    [
      {
        resourceType: 'CarePlan',
        id: 'cp',
        status: 'active',
        intent: 'order',
        subject: { reference: 'Patient/p' },
        category: [{ coding: [{ system: 'http://snomed.info/sct', code: '698360004' }] }],
        period: { start: '1977-03-26T05:46:40+00:00' },
      },
      'patient=p&category=698360004&date=ge1977',
    ],
    [
      {
        resourceType: 'MedicationStatement',
        id: 'ms',
        status: 'active',
        subject: { reference: 'Patient/p' },
        medicationCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '1' }] },
        dateAsserted: '2022-02-02',
      },
      'patient=p&code=1&date=2022-02',
    ],
  ];
  for (const [resource, query] of cases) {
    it(`${resource.resourceType}: ${query}`, () => assert.equal(hits(resource, query), true));
  }

  it('deduplicates token keys', () => {
    const o = observation({
      code: {
        coding: [
          { system: 's', code: 'c' },
          { system: 's', code: 'c' },
        ],
      },
    });
    const codes = indexEntries(o).filter((e) => e.kind === 'token' && e.param === 'code');
    assert.equal(codes.length, 3);
  });
});

describe('sort keys', () => {
  it('orders by date, nulls last in both directions, then id', () => {
    const rows = [
      observation({ id: 'b', effectiveDateTime: '2020-01-01T00:00:00Z' }),
      observation({ id: 'a', effectiveDateTime: '2020-01-01T00:00:00Z' }),
      observation({ id: 'n' }),
      observation({ id: 'c', effectiveDateTime: '2019-01-01T00:00:00Z' }),
    ].map((r) => ({ id: r.id!, key: sortKey(indexEntries(r), { param: 'date' }) }));
    const asc = [...rows].sort((x, y) => compareForSort(x, y, { descending: false })).map((r) => r.id);
    const desc = [...rows].sort((x, y) => compareForSort(x, y, { descending: true })).map((r) => r.id);
    assert.deepEqual(asc, ['c', 'a', 'b', 'n']);
    assert.deepEqual(desc, ['a', 'b', 'c', 'n']);
  });
});

describe('parseSearch: controls and refusals', () => {
  it('defaults', () => {
    const q = parseSearch('Observation', '');
    assert.equal(q.count, DEFAULT_COUNT);
    assert.deepEqual(q.sort, { param: '_lastUpdated', descending: false });
    assert.equal(q.summaryCount, false);
    assert.equal(q.page, undefined);
  });

  it('_count is capped at MAX_COUNT; _sort, _summary=count, _format and _pretty are accepted', () => {
    const q = parseSearch('Observation', '_count=5000&_sort=-date&_summary=count&_format=json&_pretty=true');
    assert.equal(q.count, MAX_COUNT);
    assert.deepEqual(q.sort, { param: 'date', descending: true });
    assert.equal(q.summaryCount, true);
  });

  const malformed: [string, string, string?][] = [
    ['Observation', 'foo=bar', 'foo'],
    ['Observation', 'code:text=pulse', 'code:text'],
    ['Observation', 'subject.name=x', 'subject.name'],
    ['Observation', 'code=', 'code'],
    ['Observation', 'code=a,,b', 'code'],
    ['Observation', 'code=a|b|c', 'code'],
    ['Observation', 'code=|', 'code'],
    ['Observation', 'date=2020-13', 'date'],
    ['Observation', 'date=xx2020', 'date'],
    ['Observation', 'date=2020-06-01T10:00', 'date'],
    ['Observation', 'date=tomorrow', 'date'],
    ['Observation', '_lastUpdated=gt20', '_lastUpdated'],
    ['Observation', 'patient=Group/1', 'patient'],
    ['Observation', 'subject=https://x.example/Patient/1', 'subject'],
    ['Observation', 'patient=a b', 'patient'],
    ['Observation', '_id=a/b', '_id'],
    ['Observation', '_count=ten', '_count'],
    ['Observation', '_count=-1', '_count'],
    ['Observation', '_count=1&_count=2', '_count'],
    ['Observation', '_sort=code', '_sort'],
    ['Observation', '_sort=date,_lastUpdated', '_sort'],
    ['Patient', '_sort=date', '_sort'],
    ['Patient', 'patient=p1', 'patient'],
    ['Patient', 'date=2020', 'date'],
    ['Immunization', 'subject=p1', 'subject'],
    ['CarePlan', 'code=x', 'code'],
    ['Observation', '_summary=true', '_summary'],
    ['Observation', '_format=xml', '_format'],
    ['Observation', '_pretty=yes', '_pretty'],
    ['Observation', '_include=Observation:subject', '_include'],
    ['Observation', '_page=not-a-cursor', '_page'],
  ];
  for (const [type, query, param] of malformed) {
    it(`${type}?${query} → 400 naming ${param}`, () => rejects(() => parseSearch(type, query), param!));
  }

  it('an unknown type is a 404', () => {
    assert.throws(
      () => parseSearch('Claim', ''),
      (e: unknown) => e instanceof FhirError && e.status === 404 && /Claim/.test(e.message),
    );
  });

  it('$everything takes _count and _page only', () => {
    assert.deepEqual(parseEverythingParams('_count=10'), { count: 10 });
    rejects(() => parseEverythingParams('start=2020'), 'start');
    rejects(() => parseEverythingParams('_type=Observation'), '_type');
  });
});
