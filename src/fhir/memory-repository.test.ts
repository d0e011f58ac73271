import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bundle, Observation } from '@medplum/fhirtypes';
import { everythingBundle, historyBundle, searchBundle } from './bundles.js';
import { createMemoryRepository, type MemoryRepository } from './memory-repository.js';
import { FhirError } from './outcomes.js';
import type { FhirContext } from './repository.js';
import { parseEverythingParams, parseSearch } from './search/params.js';

const ctx: FhirContext = { principal: 'did:key:test', purpose: 'treatment' };
const BASE = 'https://node.example/fhir/R4/';
const DAY = 86_400_000;
const T0 = Date.parse('2024-01-01T00:00:00Z');

/** A clock that advances 1 ms per reading, so every write has its own lastUpdated. */
function ticking(start = T0): () => number {
  let t = start;
  return () => t++;
}

function counter(): () => string {
  let n = 0;
  return () => `r${String(++n).padStart(4, '0')}`;
}

function obs(patient: string, effective: number | undefined, code = '8302-2'): Observation {
  const o: Observation = {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patient}` },
  };
  if (effective !== undefined) o.effectiveDateTime = new Date(effective).toISOString();
  return o;
}

async function status(work: Promise<unknown>): Promise<number> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof FhirError, String(error));
    return error.status;
  }
  return 200;
}

/** Pages a search by following next links' `_page`, calling `between` after each page. */
async function pageAll(
  repo: MemoryRepository,
  type: 'Observation',
  query: string,
  between: (page: number) => Promise<void> = async () => {},
): Promise<Observation[]> {
  const seen: Observation[] = [];
  let params = new URLSearchParams(query);
  for (let page = 0; page < 100; page++) {
    const q = parseSearch(type, params);
    const result = await repo.search(type, q, ctx);
    seen.push(...(result.resources as Observation[]));
    const bundle = searchBundle(BASE, q, result);
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (next === undefined) return seen;
    params = new URL(next).searchParams;
    await between(page);
  }
  throw new Error('paging did not end');
}

describe('memory repository: versioning', () => {
  it('create → version 1, update increments, vread and history (newest first)', async () => {
    const repo = createMemoryRepository({ newId: counter(), now: ticking() });
    const created = await repo.create({ resourceType: 'Patient', id: 'ignored', active: true }, ctx);
    assert.equal(created.id, 'r0001');
    assert.equal(created.meta?.versionId, '1');
    assert.equal(created.meta?.lastUpdated, '2024-01-01T00:00:00.000Z');
    const updated = await repo.update(
      'Patient',
      'r0001',
      { ...created, active: false },
      { ifMatch: 'W/"1"' },
      ctx,
    );
    assert.equal(updated.meta?.versionId, '2');
    assert.equal(updated.meta?.lastUpdated, '2024-01-01T00:00:00.001Z');
    assert.equal((await repo.read('Patient', 'r0001', ctx)).active, false);
    assert.equal((await repo.vread('Patient', 'r0001', '1', ctx)).active, true);
    const history = await repo.history('Patient', 'r0001', ctx);
    assert.deepEqual(
      history.map((p) => p.meta?.versionId),
      ['2', '1'],
    );
    const bundle = historyBundle(BASE, history);
    assert.equal(bundle.type, 'history');
    assert.deepEqual(
      bundle.entry?.map((e) => [e.request?.method, e.response?.status, e.response?.etag]),
      [
        ['PUT', '200 OK', 'W/"2"'],
        ['POST', '201 Created', 'W/"1"'],
      ],
    );
    assert.equal(bundle.entry?.[0]?.fullUrl, 'https://node.example/fhir/R4/Patient/r0001');
  });

  it('keeps other meta members, returns copies', async () => {
    const repo = createMemoryRepository({ newId: counter() });
    const created = await repo.create(
      { resourceType: 'Patient', meta: { tag: [{ code: 't' }], versionId: '9' } },
      ctx,
    );
    assert.deepEqual(created.meta?.tag, [{ code: 't' }]);
    assert.equal(created.meta?.versionId, '1');
    created.active = true;
    assert.equal((await repo.read('Patient', created.id!, ctx)).active, undefined);
  });

  it('errors: 404, unknown type 404, If-Match 412 / 400, id mismatch 400, taken id 409, update-as-create', async () => {
    const repo = createMemoryRepository({ newId: counter() });
    assert.equal(await status(repo.read('Patient', 'nope', ctx)), 404);
    assert.equal(await status(repo.read('Claim' as 'Patient', 'x', ctx)), 404);
    assert.equal(await status(repo.create({ resourceType: 'Claim' } as never, ctx)), 404);
    const p = await repo.update('Patient', 'p1', { resourceType: 'Patient', id: 'p1' }, {}, ctx);
    assert.equal(p.meta?.versionId, '1');
    assert.equal(await status(repo.vread('Patient', 'p1', '2', ctx)), 404);
    assert.equal(await status(repo.update('Patient', 'p1', p, { ifMatch: 'W/"2"' }, ctx)), 412);
    assert.equal(await status(repo.update('Patient', 'p1', p, { ifMatch: 'v1' }, ctx)), 400);
    assert.equal(await status(repo.update('Patient', 'p2', p, {}, ctx)), 400);
    assert.equal(
      await status(
        repo.update('Patient', 'p3', { resourceType: 'Patient', id: 'p3' }, { ifMatch: 'W/"1"' }, ctx),
      ),
      412,
    );
    assert.equal(await status(repo.update('Observation', 'p1', p as never, {}, ctx)), 400);
    assert.equal(await status(repo.create({ resourceType: 'Patient' }, ctx, { id: 'p1' })), 409);
    assert.equal(await status(repo.update('Patient', 'p1', p, { ifMatch: '"1"' }, ctx)), 200);
  });
});

describe('memory repository: search', () => {
  it('filters, totals, _summary=count, searchset links', async () => {
    const repo = createMemoryRepository({ newId: counter(), now: ticking() });
    await repo.create(obs('a', T0, '1'), ctx);
    await repo.create(obs('a', T0 + DAY, '2'), ctx);
    await repo.create(obs('b', T0, '1'), ctx);
    const q = parseSearch('Observation', 'patient=a&code=http://loinc.org|1,http://loinc.org|2&_count=1');
    const page = await repo.search('Observation', q, ctx);
    assert.equal(page.total, 2);
    assert.equal(page.resources.length, 1);
    const bundle = searchBundle(BASE, q, page);
    assert.equal(bundle.total, 2);
    const self = bundle.link?.find((l) => l.relation === 'self')?.url ?? '';
    assert.ok(self.startsWith('https://node.example/fhir/R4/Observation?patient=a&code='), self);
    assert.match(bundle.link?.find((l) => l.relation === 'next')?.url ?? '', /_page=/);
    assert.equal(bundle.entry?.[0]?.search?.mode, 'match');
    const count = parseSearch('Observation', 'patient=a&_summary=count');
    const counted = searchBundle(BASE, count, await repo.search('Observation', count, ctx));
    assert.equal(counted.total, 2);
    assert.equal(counted.entry, undefined);
    assert.equal(counted.link?.length, 1);
  });

  for (const sort of ['date', '-date', '_lastUpdated', '-_lastUpdated']) {
    it(`_sort=${sort}, _count=50 over 120 resources: each exactly once, in order, while writes happen between pages`, async () => {
      const repo = createMemoryRepository({ newId: counter(), now: ticking() });
      const original = new Set<string>();
      // Dates interleave and repeat (ties are broken by id); some have no date (sorted last).
      for (let i = 0; i < 120; i++) {
        const created = await repo.create(
          obs('a', i % 11 === 0 ? undefined : T0 + ((i * 37) % 60) * DAY),
          ctx,
        );
        original.add(created.id!);
      }
      const inserted = new Set<string>();
      const seen = await pageAll(repo, 'Observation', `patient=a&_count=50&_sort=${sort}`, async (page) => {
        // New resources before, inside and after the cursor, and an update of one already seen.
        for (const offset of [-1000, 0, 30, 1000]) {
          const created = await repo.create(obs('a', T0 + (offset + page) * DAY), ctx);
          inserted.add(created.id!);
        }
      });
      const ids = seen.map((o) => o.id!);
      assert.equal(new Set(ids).size, ids.length, 'no resource twice');
      for (const id of original) assert.equal(ids.filter((x) => x === id).length, 1, id);
      for (const id of ids) assert.ok(original.has(id) || inserted.has(id));

      const descending = sort.startsWith('-');
      const keyOf = (o: Observation): number | null =>
        sort.endsWith('date')
          ? o.effectiveDateTime === undefined
            ? null
            : Date.parse(o.effectiveDateTime)
          : Date.parse(o.meta!.lastUpdated!);
      for (let i = 1; i < seen.length; i++) {
        const a = keyOf(seen[i - 1]!);
        const b = keyOf(seen[i]!);
        if (a === null) assert.equal(b, null, 'undated last');
        else if (b !== null) {
          const ok = descending
            ? a > b || (a === b && seen[i - 1]!.id! < seen[i]!.id!)
            : a < b || (a === b && seen[i - 1]!.id! < seen[i]!.id!);
          assert.ok(ok, `order at ${i}: ${a} ${b}`);
        }
      }
      if (sort === '_lastUpdated') {
        // Read-your-writes: sorted by write time, every resource written while paging shows up.
        for (const id of inserted) assert.ok(ids.includes(id), id);
      }
    });
  }
});

describe('memory repository: $everything', () => {
  it('the patient and everything pointing to it, exactly once across pages; not other patients', async () => {
    const repo = createMemoryRepository({ newId: counter(), now: ticking() });
    const a = await repo.create({ resourceType: 'Patient' }, ctx);
    const b = await repo.create({ resourceType: 'Patient' }, ctx);
    const mine = new Set([`Patient/${a.id!}`]);
    for (let i = 0; i < 23; i++) {
      const o = await repo.create(obs(a.id!, T0 + i * DAY), ctx);
      mine.add(`Observation/${o.id!}`);
      await repo.create(obs(b.id!, T0), ctx);
    }
    const c = await repo.create(
      {
        resourceType: 'Condition',
        subject: { reference: `Patient/${a.id!}` },
        code: { text: 'x' },
      },
      ctx,
    );
    mine.add(`Condition/${c.id!}`);
    const i = await repo.create(
      {
        resourceType: 'Immunization',
        status: 'completed',
        patient: { reference: `Patient/${a.id!}` },
        vaccineCode: { text: 'flu' },
        occurrenceDateTime: '2020-01-01',
      },
      ctx,
    );
    mine.add(`Immunization/${i.id!}`);

    const seen: string[] = [];
    let params = '_count=10';
    for (let n = 0; n < 10; n++) {
      const options = parseEverythingParams(params);
      const page = await repo.everything(a.id!, options, ctx);
      assert.equal(page.total, mine.size);
      seen.push(...page.resources.map((r) => `${r.resourceType}/${r.id!}`));
      const bundle: Bundle = everythingBundle(BASE, a.id!, options, page);
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      if (next === undefined) break;
      assert.ok(
        next.startsWith(`https://node.example/fhir/R4/Patient/${a.id!}/$everything?_count=10&_page=`),
        next,
      );
      params = new URL(next).search;
      // Writes in between land after the cursor (they are newer).
      const late = await repo.create(obs(a.id!, undefined), ctx);
      mine.add(`Observation/${late.id!}`);
    }
    assert.equal(seen.length, new Set(seen).size);
    assert.deepEqual(new Set(seen), mine);
    assert.equal(await status(repo.everything('nobody', { count: 10 }, ctx)), 404);
  });
});
