/**
 * Fuzzed and malformed bodies against the FHIR API of a real node (through `inject`): random
 * JSON values, random mutations of a valid Observation (wrong types, deleted required fields,
 * huge strings, deep nesting, invalid dates), bytes that are not JSON, wrong content types and
 * oversized bodies, POSTed and PUT to /fhir/R4. Every answer is a 4xx OperationOutcome with a
 * severity and a code — never a 5xx — and the node still serves /fhir/R4/metadata and a valid
 * write afterwards. Run counts are bounded (and the seed fixed unless FUZZ_SEED is set) so the
 * file stays well under 30 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { CapabilityStatement, OperationOutcome } from '@medplum/fhirtypes';
import {
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  observation,
  openFhirNode,
  registeredPatient,
  tokenOf,
  type FhirTestNode,
} from './fixture.js';

const SEED = process.env.FUZZ_SEED === undefined ? 20261121 : Number(process.env.FUZZ_SEED);
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);

type Method = 'POST' | 'PUT';

/** JSON text nested `depth` levels deep (objects and arrays alternating), built without recursion. */
function nestedJson(depth: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += i % 2 === 0 ? '{"coding":' : '[';
    close = (i % 2 === 0 ? '}' : ']') + close;
  }
  return `${open}{"text":"bottom"}${close}`;
}

/** fc.assert, with the failing assertion's message in the error (node:test shows no cause). */
async function check<T>(property: fc.IAsyncPropertyWithHooks<T>, numRuns = RUNS): Promise<void> {
  try {
    await fc.assert(property, { numRuns, seed: SEED });
  } catch (error) {
    const cause = (error as Error).cause;
    throw new Error(`${(error as Error).message}\n${cause instanceof Error ? cause.message : String(cause)}`, {
      cause: error,
    });
  }
}

describe('FHIR API: fuzzed and malformed bodies', () => {
  let t: FhirTestNode;
  let token: string;
  let patientId: string;
  let obsId: string;
  let valid: Record<string, unknown>;
  let answers = 0;

  before(async () => {
    t = await openFhirNode();
    const patient = await registeredPatient(t.node);
    await grantOrg(t, patient, { classes: ['general', 'sensitive'] });
    token = await tokenOf(t, patient);
    patientId = await createPatient(t, token);
    valid = observation(patientId, '8867-4', '2024-06-01T10:00:00Z', 64);
    const created = await fhir<{ id: string }>(t, token, 'POST', 'Observation', valid);
    expectStatus(created, 201);
    obsId = created.body.id;
  });
  after(async () => {
    await t.close();
  });

  /** Targets of a body: create, update of an existing resource, and the transaction endpoint. */
  function targets(): Array<[Method, string]> {
    return [
      ['POST', '/fhir/R4/Observation'],
      ['PUT', `/fhir/R4/Observation/${obsId}`],
      ['POST', '/fhir/R4/'],
    ];
  }

  /** Sends `payload` and asserts a 4xx OperationOutcome answer with severity and code. */
  async function expectRefused(
    method: Method,
    url: string,
    payload: string | Buffer,
    contentType = 'application/fhir+json',
    allowed?: readonly number[],
  ): Promise<number> {
    const res = await t.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
      payload,
    });
    answers++;
    const what = `${method} ${url} (${contentType}, ${payload.length} bytes: ${String(payload).slice(0, 120)})`;
    assert.ok(
      res.statusCode >= 400 && res.statusCode < 500,
      `${what} → ${res.statusCode} ${res.body.slice(0, 300)}`,
    );
    if (allowed !== undefined) assert.ok(allowed.includes(res.statusCode), `${what} → ${res.statusCode}`);
    assert.match(String(res.headers['content-type']), /^application\/fhir\+json/, what);
    let body: OperationOutcome;
    try {
      body = res.json<OperationOutcome>();
    } catch {
      assert.fail(`${what} → a body that is not JSON: ${res.body.slice(0, 200)}`);
    }
    assert.equal(body.resourceType, 'OperationOutcome', what);
    const issue = body.issue?.[0];
    assert.ok(issue !== undefined, `${what}: no issue`);
    assert.equal(typeof issue.severity, 'string', what);
    assert.ok(['fatal', 'error', 'warning', 'information'].includes(issue.severity), what);
    assert.equal(typeof issue.code, 'string', what);
    assert.ok(issue.code.length > 0, what);
    return res.statusCode;
  }

  async function refusedEverywhere(payload: string | Buffer, contentType?: string): Promise<void> {
    for (const [method, url] of targets()) await expectRefused(method, url, payload, contentType);
  }

  it('refuses random JSON values', async () => {
    // A random JSON value is never a valid Observation nor a transaction Bundle.
    await check(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        await refusedEverywhere(JSON.stringify(value) ?? 'null');
      }),
    );
  });

  it('refuses random objects that claim to be an Observation or a Bundle', async () => {
    await check(
      fc.asyncProperty(
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
        fc.constantFrom('Observation', 'Bundle', 'Patient', 'OperationOutcome', '', 'observation'),
        async (fields, resourceType) => {
          await refusedEverywhere(JSON.stringify({ ...fields, resourceType }));
        },
      ),
    );
  });

  /** Ways to break a valid Observation; each result is invalid whatever else it holds. */
  const notAString = fc.oneof(
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
  );
  const badDate = fc.oneof(
    fc.constantFrom(
      '2024-13-01',
      '2024-02-30T10:00:00Z',
      '2024-06-01T25:61:00Z',
      '24-06-01',
      'yesterday',
      '2024/06/01',
      '',
      ' 2024-06-01',
    ),
    fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/^\d{4}(-\d{2}(-\d{2})?)?$/.test(s)),
  );
  /** Nesting `depth` levels deep (objects and arrays alternating). */
  const nested = (depth: number): unknown => JSON.parse(nestedJson(depth)) as unknown;
  const deep = fc.integer({ min: 50, max: 1000 }).map(nested);
  type Mutation = (o: Record<string, unknown>) => void;
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.constantFrom<Mutation>(
      (o) => delete o.status,
      (o) => delete o.code,
      (o) => delete o.resourceType,
      (o) => (o.resourceType = 'Observatio'),
      (o) => (o.status = 'not-a-status'),
      (o) => (o.subject = { reference: 'Patient/no-such-patient' }),
      (o) => (o.subject = 'Patient/x'),
      (o) => (o.code = { coding: 'http://loinc.org|8867-4' }),
      (o) => (o.valueQuantity = { value: 'sixty-four' }),
      (o) => (o.category = { coding: [] }),
      (o) => (o.unknownElement = true),
    ),
    notAString.map<Mutation>((v) => (o) => (o.status = v)),
    notAString.map<Mutation>((v) => (o) => (o.effectiveDateTime = v)),
    fc.string({ maxLength: 10 }).map<Mutation>((v) => (o) => (o.code = v)),
    badDate.map<Mutation>((d) => (o) => (o.effectiveDateTime = d)),
    fc
      .integer({ min: 1_100_000, max: 3_500_000 })
      .map<Mutation>((n) => (o) => (o.code = { text: 'x'.repeat(n) })),
    deep.map<Mutation>((d) => (o) => (o.code = d)),
    deep.map<Mutation>((d) => (o) => (o.note = [{ text: d }])),
  );

  /** A broken Observation is refused as a create, as an update (with its id) and in a transaction. */
  async function refusedAsObservation(body: Record<string, unknown>): Promise<void> {
    await expectRefused('POST', '/fhir/R4/Observation', JSON.stringify(body));
    await expectRefused('PUT', `/fhir/R4/Observation/${obsId}`, JSON.stringify({ ...body, id: obsId }));
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:7a1e4c1e-0000-4000-8000-000000000001',
          resource: body,
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    await expectRefused('POST', '/fhir/R4/', JSON.stringify(bundle));
  }

  it('refuses random mutations of a valid Observation', async () => {
    await check(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const body = structuredClone(valid);
        for (const mutate of mutations) mutate(body);
        await refusedAsObservation(body);
      }),
    );
  });

  it('refuses primitives for complex types, impossible dates, zoneless times and two value[x], naming the element', async () => {
    await check(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(
            fc.constantFrom('code', 'subject', 'valueQuantity', 'category'),
            fc.oneof(fc.integer(), fc.boolean()),
          ),
          fc.tuple(fc.constant('valueString'), fc.constant('both value[x] forms')),
          fc.tuple(
            fc.constant('effectiveDateTime'),
            fc.constantFrom(
              '2024-02-30T10:00:00Z',
              '2023-02-29',
              '2023-04-31T08:00:00+02:00',
              '2024-06-01T10:00:00',
              '2024-06-01T10:00:00.250',
            ),
          ),
        ),
        async ([element, value]) => {
          const body = { ...structuredClone(valid), [element]: value };
          const res = await t.app.inject({
            method: 'POST',
            url: '/fhir/R4/Observation',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
            payload: JSON.stringify(body),
          });
          assert.equal(res.statusCode, 400, res.body.slice(0, 300));
          const issue = res.json<OperationOutcome>().issue?.[0];
          assert.deepEqual(issue?.expression, [`Observation.${element}`], res.body.slice(0, 300));
          assert.ok(issue?.details?.text?.startsWith(`Observation.${element}: `), res.body.slice(0, 300));
          await refusedAsObservation(body);
        },
      ),
      40,
    );
    // Nothing of the refused writes was stored: the one valid Observation of the patient remains.
    const page = await fhir<{ total?: number }>(
      t,
      token,
      'GET',
      `Observation?patient=${patientId}&_summary=count`,
    );
    expectStatus(page, 200);
    assert.equal(page.body.total, 1);
  });

  it('refuses elements nested thousands of levels deep on create and update', async () => {
    await check(
      fc.asyncProperty(fc.integer({ min: 1000, max: 6000 }), fc.boolean(), async (depth, inNote) => {
        // Built as text: the server, not this test, is to meet the depth.
        const placeholder = inNote ? { note: [{ text: '@DEEP@' }] } : { code: '@DEEP@' };
        const text = (body: object) => JSON.stringify(body).replace('"@DEEP@"', nestedJson(depth));
        await expectRefused('POST', '/fhir/R4/Observation', text({ ...valid, ...placeholder }));
        await expectRefused(
          'PUT',
          `/fhir/R4/Observation/${obsId}`,
          text({ ...valid, ...placeholder, id: obsId }),
        );
      }),
      20,
    );
  });

  it('refuses elements nested thousands of levels deep inside a transaction Bundle', {}, async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:7a1e4c1e-0000-4000-8000-000000000002',
          resource: { ...valid, code: '@DEEP@' },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    await expectRefused('POST', '/fhir/R4/', JSON.stringify(bundle).replace('"@DEEP@"', nestedJson(3000)));
  });

  it('refuses bytes that are not JSON', async () => {
    const notJson = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 512 }).map((b) => Buffer.from(b)),
      fc
        .string({ minLength: 1, maxLength: 200 })
        .map((s) => Buffer.from(`{"resourceType":"Observation",${s}`)),
      fc.constantFrom(
        Buffer.from('<Observation xmlns="http://hl7.org/fhir"/>'),
        Buffer.from('{"resourceType":"Observation"'),
        Buffer.from('\uFEFF{"resourceType":"Observation"}'),
        Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
        Buffer.from('{"a":1}{"b":2}'),
        Buffer.from('NaN'),
      ),
    );
    await check(
      fc.asyncProperty(notJson, async (bytes) => {
        await refusedEverywhere(bytes);
      }),
    );
  });

  it('refuses bodies with a content type other than FHIR JSON (415, or 422 not-supported)', async () => {
    const contentType = fc.constantFrom(
      'text/plain',
      'application/xml',
      'application/fhir+xml',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'text/html; charset=utf-8',
    );
    await check(
      fc.asyncProperty(contentType, async (type) => {
        for (const [method, url] of targets())
          await expectRefused(method, url, JSON.stringify(valid), type, [415, 422]);
      }),
      14,
    );
  });

  it('refuses oversized bodies (413) and resources over the per-resource limit (400)', async () => {
    const tooBig = JSON.stringify({ ...valid, code: { text: 'y'.repeat(4 * 1024 * 1024 + 16) } });
    for (const [method, url] of targets()) await expectRefused(method, url, tooBig, undefined, [413]);
    const garbage = Buffer.alloc(5 * 1024 * 1024, 0x41);
    for (const [method, url] of targets()) await expectRefused(method, url, garbage, undefined, [413]);
    const overOneResource = JSON.stringify({ ...valid, code: { text: 'z'.repeat(1_200_000) } });
    await expectRefused('POST', '/fhir/R4/Observation', overOneResource, undefined, [400]);
  });

  it('still serves metadata and valid writes afterwards', async () => {
    assert.ok(answers > RUNS * 5, `only ${answers} fuzzed answers`);
    const metadata = await fhir<CapabilityStatement>(t, undefined, 'GET', 'metadata');
    expectStatus(metadata, 200);
    assert.equal(metadata.body.resourceType, 'CapabilityStatement');
    expectStatus(await fhir(t, token, 'POST', 'Observation', valid), 201);
    expectStatus(await fhir(t, token, 'GET', `Observation/${obsId}`), 200);
  });
});
