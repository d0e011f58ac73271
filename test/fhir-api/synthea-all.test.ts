/**
 * Every Synthea bundle of testdata/synthea, imported through the HTTP API
 * (`POST /fhir/R4?_import=true`), each by its own patient (a new DID that granted the node's
 * organization write access with sealed keys); then `Patient/<id>/$everything` of each returns
 * every imported resource of a supported type exactly once across its pages.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import { isSupportedType } from '../../src/fhir/types.js';
import { jsonFilesIn, SYNTHEA_DIR } from '../support/testdata.js';
import {
  allPages,
  expectStatus,
  fhir,
  grantOrg,
  openFhirNode,
  registeredPatient,
  tokenOf,
  type FhirTestNode,
} from './fixture.js';

const paths = jsonFilesIn(SYNTHEA_DIR);

interface Imported {
  readonly file: string;
  readonly token: string;
  readonly patientId: string;
  readonly resources: Set<string>;
}

describe('FHIR API: every Synthea sample imported, $everything complete', { timeout: 120_000 }, () => {
  let t: FhirTestNode;
  const imported: Imported[] = [];

  before(async () => {
    t = await openFhirNode();
  });
  after(async () => {
    await t.close();
  });

  it(`imports all ${paths.length} bundles, one patient each`, async () => {
    assert.ok(paths.length > 0, `no Synthea bundles in ${SYNTHEA_DIR}`);
    for (const path of paths) {
      const file = basename(path);
      const body = readFileSync(path, 'utf8');
      const bundle = JSON.parse(body) as Bundle;
      const patient = await registeredPatient(t.node);
      await grantOrg(t, patient, { classes: ['general', 'sensitive'] });
      const token = await tokenOf(t, patient);
      const res = await fhir<Bundle>(t, token, 'POST', '?_import=true', body);
      expectStatus(res, 200);
      const entries = bundle.entry ?? [];
      assert.equal(res.body.entry?.length, entries.length, file);
      const resources = new Set<string>();
      let patientId: string | undefined;
      for (const [i, entry] of (res.body.entry ?? []).entries()) {
        if (isSupportedType(entries[i]?.resource?.resourceType)) {
          assert.equal(entry.response?.status, '201 Created', `${file} entry ${i}`);
          const [type, id] = entry.response.location!.split('/');
          resources.add(`${type!}/${id!}`);
          if (type === 'Patient') patientId = id!;
        } else {
          assert.equal(entry.response?.status, '422 Unprocessable Entity', `${file} entry ${i}`);
        }
      }
      assert.ok(patientId !== undefined, `${file}: no Patient imported`);
      imported.push({ file, token, patientId, resources });
    }
    assert.equal(imported.length, paths.length);
  });

  it('$everything of each patient returns each imported resource exactly once', async () => {
    assert.equal(imported.length, paths.length, 'the import failed');
    for (const { file, token, patientId, resources } of imported) {
      const { resources: got } = await allPages(t, token, `Patient/${patientId}/$everything?_count=100`);
      const keys = got.map((r) => `${r.resourceType}/${r.id!}`);
      assert.equal(keys.length, new Set(keys).size, `${file}: a resource was returned twice`);
      assert.deepEqual(new Set(keys), resources, file);
    }
  });
});
