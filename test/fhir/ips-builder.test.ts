/**
 * The IPS builder on real data: a summary of each of the 15 Synthea patients (imported the way the
 * node imports them) passes the structural IPS checker and base R4 validation of every entry; the
 * required sections of one patient hold exactly the current records of the source, computed here
 * independently; narratives escape what resources say; section titles follow the language.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { validateResource } from '@medplum/core';
import type { Bundle, Composition, Patient, Resource } from '@medplum/fhirtypes';
import { planBundle } from '../../src/fhir/bundles.js';
import {
  buildPatientSummary,
  checkIpsDocument,
  languageFromAcceptLanguage,
  type SummaryLanguage,
} from '../../src/fhir/ips/index.js';
import { loadFhirDefinitions, validateFhirResource } from '../../src/fhir/validation.js';
import { jsonFilesIn, SYNTHEA_DIR, SYNTHEA_SAMPLE } from '../support/testdata.js';

const NOW = new Date('2026-12-05T02:00:00Z');
const AUTHOR = { display: 'Roam test clinic' };

/** The patient and resources of a Synthea bundle as the node stores them (ids assigned, references Type/id). */
function importedRecords(path: string): { patient: Patient; resources: Resource[] } {
  const bundle = JSON.parse(readFileSync(path, 'utf8')) as Bundle;
  let next = 0;
  const plan = planBundle(bundle, { newId: () => `r${String(++next)}`, importMode: 'skip-unsupported' });
  const resources = plan.entries.flatMap((e) => ('resource' in e.op ? [e.op.resource as Resource] : []));
  const patient = resources.find((r): r is Patient => r.resourceType === 'Patient');
  assert.ok(patient !== undefined, `${basename(path)} has no Patient`);
  return { patient, resources: resources.filter((r) => r !== patient) };
}

function summaryOf(path: string, language: SummaryLanguage = 'en'): Bundle {
  const { patient, resources } = importedRecords(path);
  return buildPatientSummary({ patient, resources, author: AUTHOR, language, now: NOW, newUuid: randomUUID });
}

function compositionOf(bundle: Bundle): Composition {
  const composition = bundle.entry?.[0]?.resource;
  assert.equal(composition?.resourceType, 'Composition');
  return composition;
}

/** The source ids a section lists (the entries keep their resource ids). */
function sectionIds(bundle: Bundle, loinc: string): Set<string> {
  const byUrl = new Map((bundle.entry ?? []).map((e) => [e.fullUrl, e.resource]));
  const section = compositionOf(bundle).section?.find((s) => s.code?.coding?.[0]?.code === loinc);
  assert.ok(section !== undefined, `section ${loinc} is missing`);
  return new Set(
    (section.entry ?? []).map((e) => `${byUrl.get(e.reference)?.resourceType}/${byUrl.get(e.reference)?.id}`),
  );
}

describe('buildPatientSummary on the Synthea patients', () => {
  const paths = jsonFilesIn(SYNTHEA_DIR);

  it('finds the 15 Synthea patients', () => {
    loadFhirDefinitions(); // the Composition is validated by @medplum/core against these too
    assert.equal(paths.length, 15);
  });

  for (const path of paths) {
    it(`${basename(path).split('_').slice(0, 2).join(' ')}: passes the IPS checker and base R4 validation`, () => {
      const bundle = summaryOf(path);
      assert.deepEqual(checkIpsDocument(bundle).issues, []);
      for (const [i, entry] of (bundle.entry ?? []).entries()) {
        const resource = entry.resource;
        assert.ok(resource !== undefined);
        if (resource.resourceType === 'Composition' || resource.resourceType === 'Organization') {
          // Types the node does not store: the same R4 definitions, through @medplum/core directly.
          assert.doesNotThrow(() => validateResource(resource), `entry ${i}: ${resource.resourceType}`);
        } else {
          const result = validateFhirResource(resource);
          assert.ok(
            result.ok,
            `entry ${i} ${resource.resourceType}: ${JSON.stringify(!result.ok && result.outcome.issue)}`,
          );
        }
      }
    });
  }
});

describe('the required sections against the source records (Chet Hoeger)', () => {
  const { resources } = importedRecords(SYNTHEA_SAMPLE);
  const bundle = summaryOf(SYNTHEA_SAMPLE);
  const codeOf = (concept: { coding?: { code?: string }[] } | undefined): string | undefined =>
    concept?.coding?.[0]?.code;
  const idsOf = (list: Resource[]): Set<string> => new Set(list.map((r) => `${r.resourceType}/${r.id}`));

  it('the problem list holds every condition not resolved/inactive/refuted and no other', () => {
    const conditions = resources.filter((r) => r.resourceType === 'Condition');
    const current = conditions.filter(
      (c) =>
        !['resolved', 'inactive', 'remission'].includes(codeOf(c.clinicalStatus) ?? '') &&
        !['entered-in-error', 'refuted'].includes(codeOf(c.verificationStatus) ?? ''),
    );
    assert.ok(
      current.length > 0 && current.length < conditions.length,
      'the sample has current and resolved conditions',
    );
    assert.deepEqual(sectionIds(bundle, '11450-4'), idsOf(current));
  });

  it('the medication summary holds every active medication and nothing stopped or completed', () => {
    const requests = resources.filter((r) => r.resourceType === 'MedicationRequest');
    const active = requests.filter(
      (m) => m.status === 'active' || m.status === 'on-hold' || m.status === 'unknown',
    );
    assert.ok(
      requests.some((m) => m.status === 'stopped' || m.status === 'completed'),
      'the sample has ended medications',
    );
    assert.deepEqual(sectionIds(bundle, '10160-0'), idsOf(active));
  });

  it('the allergy section holds the current allergies, or says there is no information', () => {
    const allergies = resources.filter(
      (r) =>
        r.resourceType === 'AllergyIntolerance' &&
        !['resolved', 'inactive'].includes(codeOf(r.clinicalStatus) ?? ''),
    );
    const section = compositionOf(bundle).section?.find((s) => s.code?.coding?.[0]?.code === '48765-2');
    assert.ok(section !== undefined);
    if (allergies.length === 0) assert.equal(section.emptyReason?.coding?.[0]?.code, 'unavailable');
    assert.deepEqual(sectionIds(bundle, '48765-2'), idsOf(allergies));
  });

  it('vital signs keep only the latest measurement per code', () => {
    const urls = new Map((bundle.entry ?? []).map((e) => [e.fullUrl, e.resource]));
    const section = compositionOf(bundle).section?.find((s) => s.code?.coding?.[0]?.code === '8716-3');
    const listed = (section?.entry ?? []).map((e) => urls.get(e.reference));
    const codes = listed.map((r) => (r?.resourceType === 'Observation' ? codeOf(r.code) : undefined));
    assert.ok(listed.length > 0);
    assert.equal(new Set(codes).size, codes.length, 'one entry per code');
    for (const r of listed) {
      assert.ok(r?.resourceType === 'Observation');
      const sameCode = resources.filter(
        (o) => o.resourceType === 'Observation' && codeOf(o.code) === codeOf(r.code),
      );
      const latest = Math.max(
        ...sameCode.map((o) =>
          Date.parse(o.resourceType === 'Observation' ? (o.effectiveDateTime ?? '') : ''),
        ),
      );
      assert.equal(Date.parse(r.effectiveDateTime ?? ''), latest);
    }
  });
});

describe('narrative and language', () => {
  it('escapes markup from a resource in the narrative', () => {
    const { patient, resources } = importedRecords(SYNTHEA_SAMPLE);
    const condition = resources.find(
      (r) => r.resourceType === 'Condition' && r.clinicalStatus?.coding?.[0]?.code === 'active',
    );
    assert.ok(condition?.resourceType === 'Condition');
    condition.code = { text: '<script>alert(1)</script>' };
    const bundle = buildPatientSummary({
      patient,
      resources,
      author: AUTHOR,
      language: 'en',
      now: NOW,
      newUuid: randomUUID,
    });
    const divs = JSON.stringify(compositionOf(bundle).section?.map((s) => s.text?.div));
    assert.ok(!divs.includes('<script>'));
    assert.ok(divs.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  });

  it('writes section titles and headings in German, French and Spanish; codes keep their displays', () => {
    const titles = (language: SummaryLanguage): string[] =>
      (compositionOf(summaryOf(SYNTHEA_SAMPLE, language)).section ?? []).map((s) => s.title ?? '');
    assert.ok(titles('de').includes('Problemliste'));
    assert.ok(titles('fr').includes('Liste des problèmes'));
    assert.ok(titles('es').includes('Lista de problemas'));
    const german = compositionOf(summaryOf(SYNTHEA_SAMPLE, 'de'));
    assert.equal(german.language, 'de');
    assert.match(german.section?.[0]?.text?.div ?? '', /<th>Datum<\/th>/);
    assert.equal(german.section?.[0]?.code?.coding?.[0]?.display, 'Problem list - Reported');
  });

  it('chooses the language from Accept-Language with q-values', () => {
    assert.equal(languageFromAcceptLanguage(undefined), 'en');
    assert.equal(languageFromAcceptLanguage('de-CH,de;q=0.9,en;q=0.8'), 'de');
    assert.equal(languageFromAcceptLanguage('ja, es;q=0.4, fr;q=0.6'), 'fr');
    assert.equal(languageFromAcceptLanguage('fr;q=0, es'), 'es');
    assert.equal(languageFromAcceptLanguage('ja, zh'), 'en');
    assert.equal(languageFromAcceptLanguage('de;q=abc, es;q=0.1'), 'de');
  });

  it('says "no information" with an emptyReason when a required section has no data', () => {
    const { patient } = importedRecords(SYNTHEA_SAMPLE);
    const bundle = buildPatientSummary({
      patient,
      resources: [],
      author: AUTHOR,
      language: 'en',
      now: NOW,
      newUuid: randomUUID,
    });
    assert.deepEqual(checkIpsDocument(bundle).issues, []);
    const sections = compositionOf(bundle).section ?? [];
    assert.equal(sections.length, 3);
    for (const s of sections) {
      assert.equal(s.emptyReason?.coding?.[0]?.code, 'unavailable');
      assert.match(s.text?.div ?? '', /No information available/);
    }
    assert.deepEqual(
      bundle.entry?.map((e) => e.resource?.resourceType),
      ['Composition', 'Patient', 'Organization'],
    );
  });
});
