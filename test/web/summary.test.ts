/**
 * The web app's patient summary page, its view model (web/src/lib/summary.ts): sections come from
 * the entries' structured data in the reader's language, an incomplete document is flagged, and a
 * document's narrative is not read at all (a summary from another source is not trusted; the
 * component renders the model's text with React, which test/e2e/care-abroad.int.test.ts checks in
 * Chromium with a hostile narrative).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { Bundle, Composition, Condition, Resource } from '@medplum/fhirtypes';
import { checkIpsDocument, labelsFor } from '../../src/fhir/ips/index.js';
import { SYNTHEA_SAMPLE } from '../support/testdata.js';
import {
  buildMySummary,
  NotASummaryError,
  preferredLanguage,
  summaryFileName,
  summaryView,
} from '../../web/src/lib/summary.js';

const DID = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';

function syntheaResources(): Resource[] {
  const bundle = JSON.parse(readFileSync(SYNTHEA_SAMPLE, 'utf8')) as Bundle;
  return (bundle.entry ?? []).map((e) => e.resource!).filter((r) => r !== undefined);
}

describe('patient summary page', () => {
  const resources = syntheaResources();

  test("the patient's own summary built in the browser is an IPS document the checker accepts", () => {
    const bundle = buildMySummary({ did: DID, resources, language: 'de' });
    assert.deepEqual(checkIpsDocument(bundle).issues, []);
    const view = summaryView(bundle, 'de');
    assert.equal(view.title, labelsFor('de').documentTitle);
    assert.equal(view.incomplete, false);
    const problems = view.sections.find((s) => s.code === '11450-4');
    assert.equal(problems?.title, 'Problemliste');
    // Every active condition of the source is a row, named as coded.
    const active = resources.filter(
      (r): r is Condition =>
        r.resourceType === 'Condition' && r.clinicalStatus?.coding?.[0]?.code === 'active',
    );
    assert.ok(active.length > 0);
    for (const condition of active) {
      const name = condition.code?.text ?? condition.code?.coding?.[0]?.display ?? '';
      assert.ok(
        problems?.rows.some((row) => row.item === name),
        `${name} listed`,
      );
    }
  });

  test('the frame follows the chosen language whatever language the document was written in', () => {
    const bundle = buildMySummary({ did: DID, resources, language: 'en' });
    const view = summaryView(bundle, 'fr');
    assert.equal(view.title, 'Résumé patient international');
    assert.ok(view.sections.some((s) => s.title === 'Liste des problèmes'));
    assert.ok(!view.sections.some((s) => s.title === 'Problem List'));
    const results = view.sections.find((s) => s.code === '30954-2');
    assert.deepEqual(results?.headings, ['Examen', 'Résultat', 'Date']);
  });

  test('an incomplete document is flagged, a complete one is not', () => {
    assert.equal(
      summaryView(buildMySummary({ did: DID, resources, language: 'es' }), 'es').incomplete,
      false,
    );
    const incomplete = buildMySummary({ did: DID, resources, language: 'es', incomplete: true });
    assert.equal(summaryView(incomplete, 'en').incomplete, true);
  });

  test("the view takes the entries' data, never the narrative; an unresolved entry is left out", () => {
    const bundle = buildMySummary({ did: DID, resources, language: 'en' });
    const composition = bundle.entry![0]!.resource as Composition;
    const before = summaryView(bundle, 'en');
    composition.text = { status: 'generated', div: '<div><img src="x" onerror="alert(1)"/></div>' };
    for (const section of composition.section ?? []) {
      section.text = { status: 'generated', div: '<div><script>alert(2)</script></div>' };
    }
    assert.deepEqual(summaryView(bundle, 'en'), before);
    const problems = composition.section!.find((s) => s.code?.coding?.[0]?.code === '11450-4')!;
    const listed = problems.entry!.length;
    problems.entry!.push({ reference: 'urn:uuid:00000000-0000-4000-8000-000000000000' });
    assert.equal(summaryView(bundle, 'en').sections.find((s) => s.code === '11450-4')?.rows.length, listed);
  });

  test('a Bundle that is not a summary document is refused', () => {
    const notADocument: Bundle = { resourceType: 'Bundle', type: 'collection', entry: [] };
    assert.throws(() => summaryView(notADocument, 'en'), NotASummaryError);
  });

  test('the language comes from the browser preferences; the file name carries the date', () => {
    assert.equal(preferredLanguage(['ja-JP', 'de-CH', 'en']), 'de');
    assert.equal(preferredLanguage(['ja']), 'en');
    assert.equal(
      summaryFileName({ resourceType: 'Bundle', type: 'document', timestamp: '2026-12-05T03:00:00Z' }),
      'patient-summary-2026-12-05.fhir.json',
    );
  });
});
