/**
 * Imports every Synthea patient of testdata/synthea into one in-memory repository
 * in import mode (skip-unsupported), then checks that `$everything` of each patient returns
 * every imported resource of its bundle exactly once across pages, and nothing of the others.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import { everythingBundle, planBundle, responseBundle } from '../../src/fhir/bundles.js';
import { createMemoryRepository } from '../../src/fhir/memory-repository.js';
import type { FhirContext } from '../../src/fhir/repository.js';
import { parseEverythingParams, parseSearch } from '../../src/fhir/search/params.js';
import { isSupportedType } from '../../src/fhir/types.js';
import { jsonFilesIn, SYNTHEA_DIR } from '../support/testdata.js';

const paths = jsonFilesIn(SYNTHEA_DIR);
const ctx: FhirContext = { principal: 'did:key:importer', purpose: 'import' };
const BASE = 'https://node.example/fhir/R4';

describe('Synthea bundles: import mode, then $everything', () => {
  const repo = createMemoryRepository();
  const imported = new Map<string, { patientId: string; locations: Set<string> }>();

  it(`imports ${paths.length} patient bundles, skipping the types we do not store`, async () => {
    assert.ok(paths.length > 0, `no Synthea bundles in ${SYNTHEA_DIR}`);
    for (const path of paths) {
      const file = basename(path);
      const bundle = JSON.parse(readFileSync(path, 'utf8')) as Bundle;
      const entries = bundle.entry ?? [];
      const supported = entries.filter((e) => isSupportedType(e.resource?.resourceType)).length;

      // Strict mode refuses the bundle as a whole, naming what it holds that we do not store.
      assert.throws(() => planBundle(bundle, { newId: repo.newId }), /not stored by this server: .*Claim/);

      const plan = planBundle(bundle, { newId: repo.newId, importMode: 'skip-unsupported' });
      assert.equal(plan.entries.length, supported, file);
      assert.equal(plan.rejected.length, entries.length - supported, file);
      for (const ref of plan.danglingReferences) {
        const target = entries.find((e) => e.fullUrl === ref.reference);
        assert.ok(target !== undefined && !isSupportedType(target.resource?.resourceType), ref.reference);
      }

      const response = responseBundle(BASE, plan, await repo.execute(plan, ctx));
      const locations = new Set<string>();
      let patientId: string | undefined;
      for (const [i, entry] of (response.entry ?? []).entries()) {
        const status = entry.response?.status ?? '';
        if (isSupportedType(entries[i]?.resource?.resourceType)) {
          assert.equal(status, '201 Created', `${file} entry ${i}`);
          const [type, id] = entry.response!.location!.split('/');
          locations.add(`${type!}/${id!}`);
          if (type === 'Patient') patientId = id;
        } else {
          assert.equal(status, '422 Unprocessable Entity', `${file} entry ${i}`);
        }
      }
      assert.ok(patientId !== undefined, `${file} has a Patient`);
      imported.set(file, { patientId, locations });
    }
  });

  it('$everything of each patient returns each of its imported resources exactly once, across pages', async () => {
    for (const [file, { patientId, locations }] of imported) {
      const seen: string[] = [];
      let params = '_count=50';
      for (let page = 0; ; page++) {
        assert.ok(page < 1000, 'paging ends');
        const options = parseEverythingParams(params);
        const result = await repo.everything(patientId, options, ctx);
        seen.push(...result.resources.map((r) => `${r.resourceType}/${r.id!}`));
        const next = everythingBundle(BASE, patientId, options, result).link?.find(
          (l) => l.relation === 'next',
        );
        if (next?.url === undefined) break;
        params = new URL(next.url).search;
      }
      assert.equal(seen.length, new Set(seen).size, `${file}: no resource twice`);
      assert.deepEqual(new Set(seen), locations, file);
    }
  });

  it('searches the imported data: vital-sign Observations of one patient by date', async () => {
    const [first] = imported.values();
    assert.ok(first !== undefined);
    const query = parseSearch(
      'Observation',
      `patient=${first.patientId}&category=vital-signs&date=ge1900&_sort=-date&_count=5`,
    );
    const page = await repo.search('Observation', query, ctx);
    assert.ok((page.total ?? 0) > 0);
    const dates = page.resources.map((o) =>
      Date.parse((o as { effectiveDateTime?: string }).effectiveDateTime ?? ''),
    );
    assert.deepEqual(
      dates,
      [...dates].sort((a, b) => b - a),
    );
  });
});
