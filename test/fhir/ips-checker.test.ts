/**
 * The structural IPS checker on HL7's own IPS examples (testdata/ips) and on mutated copies of
 * them: each mutation must be caught with its stable code, and the originals must pass.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Bundle, Composition, Patient } from '@medplum/fhirtypes';
import { checkIpsDocument, type IpsIssueCode } from '../../src/fhir/ips/index.js';
import { IPS_DIR } from '../support/testdata.js';

const EXAMPLES = ['bundle-minimal.json', 'bundle-no-info-required-sections.json'];

function load(name: string): Bundle {
  return JSON.parse(readFileSync(join(IPS_DIR, name), 'utf8')) as Bundle;
}

function codesOf(bundle: Bundle): IpsIssueCode[] {
  return checkIpsDocument(bundle).issues.map((i) => i.code);
}

function compositionOf(bundle: Bundle): Composition {
  return bundle.entry?.[0]?.resource as Composition;
}

describe('checkIpsDocument on HL7 IPS examples', () => {
  for (const name of EXAMPLES) {
    it(`${name} is a complete IPS document`, () => {
      assert.deepEqual(checkIpsDocument(load(name)).issues, []);
    });
  }
});

describe('checkIpsDocument on mutated copies', () => {
  for (const name of EXAMPLES) {
    it(`${name}: the Composition not first → IPS_COMPOSITION_NOT_FIRST`, () => {
      const bundle = load(name);
      bundle.entry?.reverse();
      assert.ok(codesOf(bundle).includes('IPS_COMPOSITION_NOT_FIRST'));
    });

    it(`${name}: a required section missing → IPS_REQUIRED_SECTION_MISSING`, () => {
      const bundle = load(name);
      const composition = compositionOf(bundle);
      composition.section = (composition.section ?? []).filter(
        (s) => s.code?.coding?.[0]?.code !== '48765-2',
      );
      const result = checkIpsDocument(bundle);
      assert.equal(result.ok, false);
      assert.ok(
        result.issues.some((i) => i.code === 'IPS_REQUIRED_SECTION_MISSING' && i.message.includes('48765-2')),
      );
    });

    it(`${name}: a dangling section entry → IPS_DANGLING_ENTRY`, () => {
      const bundle = load(name);
      const section = compositionOf(bundle).section?.[0];
      assert.ok(section !== undefined);
      section.entry = [{ reference: 'urn:uuid:00000000-0000-4000-8000-000000000000' }];
      assert.ok(codesOf(bundle).includes('IPS_DANGLING_ENTRY'));
    });

    it(`${name}: no identifier → IPS_NO_IDENTIFIER`, () => {
      const bundle = load(name);
      delete bundle.identifier;
      assert.deepEqual(codesOf(bundle), ['IPS_NO_IDENTIFIER']);
    });

    it(`${name}: two Patients → IPS_PATIENT_COUNT`, () => {
      const bundle = load(name);
      const patient = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource as Patient;
      bundle.entry?.push({
        fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111',
        resource: { ...patient },
      });
      assert.ok(codesOf(bundle).includes('IPS_PATIENT_COUNT'));
    });
  }

  it('a section without narrative, a non-document Bundle and a wrong Composition type are caught', () => {
    const bundle = load('bundle-minimal.json');
    bundle.type = 'collection';
    const composition = compositionOf(bundle);
    delete composition.section?.[0]?.text;
    composition.type = { coding: [{ system: 'http://loinc.org', code: '34133-9' }] };
    const codes = codesOf(bundle);
    for (const code of ['IPS_NOT_DOCUMENT', 'IPS_NO_NARRATIVE', 'IPS_WRONG_TYPE'] as const)
      assert.ok(codes.includes(code), code);
  });

  it('a reference leaving the Bundle and a duplicate fullUrl are caught', () => {
    const bundle = load('bundle-minimal.json');
    const entries = bundle.entry ?? [];
    const condition = entries.find((e) => e.resource?.resourceType === 'Condition');
    assert.ok(condition?.resource?.resourceType === 'Condition');
    condition.resource.encounter = { reference: 'Encounter/elsewhere' };
    const last = entries.at(-1);
    assert.ok(last !== undefined);
    last.fullUrl = entries[1]?.fullUrl ?? '';
    const codes = codesOf(bundle);
    assert.ok(codes.includes('IPS_DANGLING_REFERENCE'));
    assert.ok(codes.includes('IPS_DUPLICATE_FULL_URL'));
  });
});
