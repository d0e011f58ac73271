import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bundle, BundleEntry, Observation, OperationOutcome } from '@medplum/fhirtypes';
import { type BundlePlan, planBundle, responseBundle } from './bundles.js';
import { createMemoryRepository } from './memory-repository.js';
import { FhirError } from './outcomes.js';
import type { FhirContext } from './repository.js';

const ctx: FhirContext = { principal: 'did:key:test', purpose: 'treatment' };
const BASE = 'https://node.example/fhir/R4';

function counter(prefix = 'id'): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

function bundle(type: 'transaction' | 'batch', entry: BundleEntry[]): Bundle {
  return { resourceType: 'Bundle', type, entry };
}

const P = 'urn:uuid:11111111-1111-4111-8111-111111111111';
const E = 'urn:uuid:22222222-2222-4222-8222-222222222222';
const ORG = 'urn:uuid:33333333-3333-4333-8333-333333333333';

function post(fullUrl: string | undefined, resource: Record<string, unknown>): BundleEntry {
  const entry = {
    resource,
    request: { method: 'POST', url: String(resource['resourceType']) },
  } as unknown as BundleEntry;
  return fullUrl === undefined ? entry : { fullUrl, ...entry };
}

/** A Synthea-like transaction: Organization, Patient, Encounter, Observation, Claim. */
function sample(): Bundle {
  return bundle('transaction', [
    post(ORG, { resourceType: 'Organization', id: 'org', name: 'Hospital' }),
    post(P, { resourceType: 'Patient', id: '11111111-1111-4111-8111-111111111111' }),
    post(E, {
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'AMB' },
      subject: { reference: P },
      serviceProvider: { reference: ORG },
      period: { start: '2020-01-01T10:00:00Z' },
    }),
    post('urn:uuid:44444444-4444-4444-8444-444444444444', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'pulse' },
      subject: { reference: P },
      encounter: { reference: E },
      hasMember: [{ reference: P }],
      extension: [{ url: 'http://example.org/x', valueReference: { reference: E } }],
      effectiveDateTime: '2020-01-01T10:05:00Z',
    }),
    post(undefined, { resourceType: 'Claim', status: 'active', patient: { reference: P } }),
  ]);
}

function rejects(work: () => unknown, status: number, text: RegExp): OperationOutcome {
  let outcome: OperationOutcome | undefined;
  assert.throws(work, (error: unknown) => {
    assert.ok(error instanceof FhirError, String(error));
    assert.equal(error.status, status, error.message);
    assert.match(error.message, text);
    outcome = error.outcome;
    return true;
  });
  return outcome!;
}

async function rejectsAsync(work: Promise<unknown>, status: number, text: RegExp): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof FhirError, String(error));
    assert.equal(error.status, status, error.message);
    assert.match(error.message, text);
    return true;
  });
}

describe('planBundle: transaction', () => {
  it('assigns ids, rewrites every urn:uuid reference deeply, orders DELETE/POST/PUT/GET, leaves the input alone', () => {
    const input = bundle('transaction', [
      { request: { method: 'GET', url: 'Patient?_id=x' } },
      {
        resource: { resourceType: 'Patient', id: 'fixed', active: true },
        request: { method: 'PUT', url: 'Patient/fixed' },
      },
      post(P, { resourceType: 'Patient', id: 'ignored' }),
      post('urn:uuid:55555555-5555-4555-8555-555555555555', {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: P },
        contained: [
          { resourceType: 'Observation', status: 'final', code: { text: 'y' }, subject: { reference: P } },
        ],
      }),
    ]);
    const before = structuredClone(input);
    const plan = planBundle(input, { newId: counter() });
    assert.deepEqual(input, before);
    assert.deepEqual(
      plan.entries.map((e) => [e.index, e.op.method]),
      [
        [2, 'POST'],
        [3, 'POST'],
        [1, 'PUT'],
        [0, 'GET'],
      ],
    );
    const [patient, observation] = plan.entries.map((e) => (e.op.method === 'GET' ? undefined : e.op));
    assert.equal(patient?.id, 'id-1');
    assert.equal(patient?.resource.id, 'id-1');
    const obs = observation?.resource as Observation;
    assert.equal(obs.subject?.reference, 'Patient/id-1');
    assert.equal((obs.contained?.[0] as Observation).subject?.reference, 'Patient/id-1');
  });

  it('refuses the whole transaction with ONE outcome naming each unsupported type and its entries', () => {
    const input = sample();
    input.entry!.push(post(undefined, { resourceType: 'Claim', status: 'active' }));
    const outcome = rejects(
      () => planBundle(input, { newId: counter() }),
      422,
      /2 resource types not stored by this server: Organization \(entry 0\), Claim \(entries 4, 5\)/,
    );
    assert.equal(outcome.issue?.length, 1);
    assert.deepEqual(outcome.issue?.[0]?.expression, [
      'Bundle.entry[0]',
      'Bundle.entry[4]',
      'Bundle.entry[5]',
    ]);
    assert.match(outcome.issue?.[0]?.details?.text ?? '', /skip-unsupported/);
  });

  it('import mode skips unsupported entries, leaves references to them dangling and lists them', () => {
    const plan = planBundle(sample(), { newId: counter(), importMode: 'skip-unsupported' });
    assert.deepEqual(
      plan.rejected.map((r) => r.index),
      [0, 4],
    );
    assert.deepEqual(plan.danglingReferences, [{ index: 2, reference: ORG }]);
    const encounter = plan.entries.find((e) => e.index === 2)!.op;
    assert.ok(encounter.method === 'POST' && encounter.resource.resourceType === 'Encounter');
    assert.equal(encounter.resource.serviceProvider?.reference, ORG);
    assert.equal(encounter.resource.subject?.reference, 'Patient/id-1');
  });

  const malformed: [string, unknown, number, RegExp][] = [
    ['not a Bundle', { resourceType: 'Patient' }, 400, /Expected a Bundle/],
    ['a document Bundle', { resourceType: 'Bundle', type: 'document' }, 400, /Bundle.type "document"/],
    ['entry not an array', { resourceType: 'Bundle', type: 'transaction', entry: {} }, 400, /Bundle.entry/],
    [
      'an entry without request',
      bundle('transaction', [{ resource: { resourceType: 'Patient' } }]),
      400,
      /entry\[0\]\.request/,
    ],
    [
      'a HEAD entry',
      bundle('transaction', [{ request: { method: 'HEAD', url: 'Patient/1' } }]),
      400,
      /entry\[0\]\.request\.method/,
    ],
    [
      'a POST whose url is not its type',
      bundle('transaction', [
        { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Observation' } },
      ]),
      400,
      /does not match the resource type Patient/,
    ],
    [
      'a PUT whose resource id differs',
      bundle('transaction', [
        { resource: { resourceType: 'Patient', id: 'a' }, request: { method: 'PUT', url: 'Patient/b' } },
      ]),
      400,
      /entry\[0\]\.resource\.id/,
    ],
    [
      'two PUTs of the same resource',
      bundle('transaction', [
        { resource: { resourceType: 'Patient' }, request: { method: 'PUT', url: 'Patient/a' } },
        { resource: { resourceType: 'Patient' }, request: { method: 'PUT', url: 'Patient/a' } },
      ]),
      400,
      /Patient\/a is also written by entry 0/,
    ],
    [
      'a reference to no entry',
      bundle('transaction', [post(undefined, { resourceType: 'Observation', subject: { reference: P } })]),
      400,
      /unresolved reference urn:uuid:1111.* \(the fullUrl of no entry\)/,
    ],
    [
      'a duplicate fullUrl',
      bundle('transaction', [post(P, { resourceType: 'Patient' }), post(P, { resourceType: 'Patient' })]),
      400,
      /fullUrl .* is not unique/,
    ],
    [
      'a DELETE',
      bundle('transaction', [{ request: { method: 'DELETE', url: 'Patient/a' } }]),
      422,
      /DELETE is not supported/,
    ],
    [
      'a conditional create',
      bundle('transaction', [
        {
          resource: { resourceType: 'Patient' },
          request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=x' },
        },
      ]),
      422,
      /conditional create/,
    ],
    [
      'a GET with a bad search parameter',
      bundle('transaction', [{ request: { method: 'GET', url: 'Observation?foo=1' } }]),
      400,
      /Bundle.entry\[0\]: Unknown search parameter "foo"/,
    ],
    [
      'an absolute request url',
      bundle('transaction', [{ request: { method: 'GET', url: 'https://x.example/Patient/1' } }]),
      400,
      /must be relative/,
    ],
  ];
  for (const [name, input, status, text] of malformed) {
    it(`refuses ${name} (${status})`, () => {
      rejects(() => planBundle(input, { newId: counter() }), status, text);
    });
  }

  it('plans GET reads, vreads, history, searches and $everything', () => {
    const plan = planBundle(
      bundle('batch', [
        { request: { method: 'GET', url: 'Patient/a' } },
        { request: { method: 'GET', url: 'Patient/a/_history/2' } },
        { request: { method: 'GET', url: 'Patient/a/_history' } },
        { request: { method: 'GET', url: 'Observation?patient=a&code=http://loinc.org|8302-2&_count=5' } },
        { request: { method: 'GET', url: 'Patient/a/$everything?_count=7' } },
      ]),
      { newId: counter() },
    );
    assert.deepEqual(
      plan.entries.map((e) => (e.op.method === 'GET' ? e.op.action.kind : e.op.method)),
      ['read', 'vread', 'history', 'search', 'everything'],
    );
  });
});

describe('transaction and batch execution (memory repository)', () => {
  it('transaction: one timestamp, rewritten references, response with status, location, etag, lastModified', async () => {
    const repo = createMemoryRepository({ newId: counter(), now: () => Date.parse('2024-05-01T00:00:00Z') });
    const input = bundle('transaction', [
      { request: { method: 'GET', url: 'Patient/id-1' } },
      post(P, { resourceType: 'Patient' }),
      post(E, {
        resourceType: 'Encounter',
        status: 'finished',
        class: { code: 'AMB' },
        subject: { reference: P },
      }),
    ]);
    const plan = planBundle(input, { newId: repo.newId });
    const response = responseBundle(BASE, plan, await repo.execute(plan, ctx));
    assert.equal(response.type, 'transaction-response');
    const [read, patient, encounter] = response.entry!;
    assert.equal(patient?.response?.status, '201 Created');
    assert.equal(patient?.response?.location, 'Patient/id-1/_history/1');
    assert.equal(patient?.response?.etag, 'W/"1"');
    assert.equal(patient?.response?.lastModified, '2024-05-01T00:00:00.000Z');
    assert.equal(patient?.fullUrl, `${BASE}/Patient/id-1`);
    assert.equal(encounter?.response?.location, 'Encounter/id-2/_history/1');
    // GET runs last and sees the transaction's own writes.
    assert.equal(read?.response?.status, '200 OK');
    assert.equal(read?.resource?.id, 'id-1');
    const stored = await repo.read('Encounter', 'id-2', ctx);
    assert.equal(stored.subject?.reference, 'Patient/id-1');
  });

  it('transaction is all-or-nothing: a failing entry (412) leaves nothing written', async () => {
    const repo = createMemoryRepository({ newId: counter() });
    await repo.update('Patient', 'p', { resourceType: 'Patient', id: 'p' }, {}, ctx);
    await repo.update('Patient', 'p', { resourceType: 'Patient', id: 'p', active: true }, {}, ctx);
    const plan = planBundle(
      bundle('transaction', [
        post(P, { resourceType: 'Patient' }),
        {
          resource: { resourceType: 'Patient', id: 'p' },
          request: { method: 'PUT', url: 'Patient/p', ifMatch: 'W/"1"' },
        },
      ]),
      { newId: repo.newId },
    );
    await rejectsAsync(
      repo.execute(plan, ctx),
      412,
      /Bundle.entry\[1\]: If-Match W\/"1": Patient\/p is at version 2/,
    );
    assert.equal(repo.size(), 1);
    assert.equal((await repo.read('Patient', 'p', ctx)).meta?.versionId, '2');
  });

  it('transaction: a concurrent write to a resource it writes makes it fail with 409, nothing written', async () => {
    const repo = createMemoryRepository({ newId: counter() });
    await repo.update('Patient', 'p', { resourceType: 'Patient', id: 'p' }, {}, ctx);
    const plan = planBundle(
      bundle('transaction', [
        {
          resource: { resourceType: 'Patient', id: 'p', active: true },
          request: { method: 'PUT', url: 'Patient/p' },
        },
        post(undefined, { resourceType: 'Patient' }),
      ]),
      { newId: repo.newId },
    );
    const running = repo.execute(plan, ctx);
    await repo.update('Patient', 'p', { resourceType: 'Patient', id: 'p', active: false }, {}, ctx);
    await rejectsAsync(running, 409, /Patient\/p was written while the transaction ran/);
    assert.equal(repo.size(), 1);
    assert.equal((await repo.read('Patient', 'p', ctx)).active, false);
  });

  it('transaction in import mode: unsupported entries answered 422 each, the rest written', async () => {
    const repo = createMemoryRepository({ newId: counter() });
    const plan: BundlePlan = planBundle(sample(), { newId: repo.newId, importMode: 'skip-unsupported' });
    const response = responseBundle(BASE, plan, await repo.execute(plan, ctx));
    assert.deepEqual(
      response.entry!.map((e) => e.response?.status),
      ['422 Unprocessable Entity', '201 Created', '201 Created', '201 Created', '422 Unprocessable Entity'],
    );
    assert.match(response.entry![0]!.response!.outcome!.issue[0]!.details!.text!, /Organization/);
    assert.equal(repo.size(), 3);
    const obs = await repo.read('Observation', 'id-3', ctx);
    assert.equal(obs.encounter?.reference, 'Encounter/id-2');
    assert.equal(obs.hasMember?.[0]?.reference, 'Patient/id-1');
    assert.equal(obs.extension?.[0]?.valueReference?.reference, 'Encounter/id-2');
  });

  it('batch: each entry on its own — unsupported 422, malformed 400, not found 404, the rest succeed', async () => {
    const repo = createMemoryRepository({ newId: counter() });
    const plan = planBundle(
      bundle('batch', [
        post(undefined, { resourceType: 'Claim', status: 'active' }),
        post(undefined, { resourceType: 'Patient' }),
        { request: { method: 'PUT', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/missing' } },
        { request: { method: 'GET', url: 'Practitioner/1' } },
        { request: { method: 'GET', url: 'Patient?_summary=count' } },
        { request: { method: 'DELETE', url: 'Patient/id-1' } },
        {
          fullUrl: P,
          resource: { resourceType: 'Patient', id: 'a' },
          request: { method: 'PUT', url: 'Patient/b' },
        },
        post(undefined, {
          resourceType: 'Observation',
          status: 'final',
          code: { text: 'x' },
          subject: { reference: P },
        }),
      ]),
      { newId: repo.newId },
    );
    const response = responseBundle(BASE, plan, await repo.execute(plan, ctx));
    assert.equal(response.type, 'batch-response');
    assert.deepEqual(
      response.entry!.map((e) => e.response?.status),
      [
        '422 Unprocessable Entity',
        '201 Created',
        '400 Bad Request',
        '404 Not Found',
        '422 Unprocessable Entity',
        '200 OK',
        '422 Unprocessable Entity',
        '400 Bad Request',
        '400 Bad Request',
      ],
    );
    assert.match(
      response.entry![8]!.response!.outcome!.issue[0]!.details!.text!,
      /unresolved reference urn:uuid:1111.* \(entry 7, which failed\)/,
    );
    assert.match(
      response.entry![3]!.response!.outcome!.issue[0]!.details!.text!,
      /Bundle.entry\[3\]: Patient\/missing not found/,
    );
    const count = response.entry![5]!.resource as Bundle;
    assert.equal(count.type, 'searchset');
    assert.equal(count.total, 1);
    assert.equal(count.entry, undefined);
  });
});
