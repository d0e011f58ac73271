import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SENSITIVE_LABELS,
  V3_ACT_CODE_SYSTEM,
  V3_CONFIDENTIALITY_SYSTEM,
  sensitivityOf,
} from './classify.js';

function labelled(...security: unknown[]): Record<string, unknown> {
  return { resourceType: 'Observation', meta: { security } };
}

describe('sensitivityOf', () => {
  it('every label of the table makes a resource sensitive', () => {
    for (const { system, code } of SENSITIVE_LABELS) {
      assert.equal(sensitivityOf(labelled({ system, code })), 'sensitive', `${system}|${code}`);
    }
  });

  it('covers the issue list: Confidentiality R, V and ActCode ETH, GDIS, HIV, PSY, PSYTHPN, SCA, SDV, SEX, STD, SUD, TBOO', () => {
    for (const code of ['R', 'V']) {
      assert.equal(sensitivityOf(labelled({ system: V3_CONFIDENTIALITY_SYSTEM, code })), 'sensitive', code);
    }
    for (const code of ['ETH', 'GDIS', 'HIV', 'PSY', 'PSYTHPN', 'SCA', 'SDV', 'SEX', 'STD', 'SUD', 'TBOO']) {
      assert.equal(sensitivityOf(labelled({ system: V3_ACT_CODE_SYSTEM, code })), 'sensitive', code);
    }
  });

  it('one sensitive label among others is enough', () => {
    const resource = labelled(
      { system: V3_CONFIDENTIALITY_SYSTEM, code: 'N' },
      { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'PSEUDED' },
      { system: V3_ACT_CODE_SYSTEM, code: 'SUD', display: 'substance use disorder information sensitivity' },
    );
    assert.equal(sensitivityOf(resource), 'sensitive');
  });

  const general: Array<[string, unknown]> = [
    ['no meta', { resourceType: 'Observation' }],
    ['meta without security', { resourceType: 'Observation', meta: { versionId: '1' } }],
    ['empty security', labelled()],
    ['normal confidentiality', labelled({ system: V3_CONFIDENTIALITY_SYSTEM, code: 'N' })],
    [
      'low, moderate, unrestricted',
      labelled(...['L', 'M', 'U'].map((code) => ({ system: V3_CONFIDENTIALITY_SYSTEM, code }))),
    ],
    // v3-ActCode's own R and V mean other things (a container status, a credit card brand).
    [
      'ActCode R and V',
      labelled({ system: V3_ACT_CODE_SYSTEM, code: 'R' }, { system: V3_ACT_CODE_SYSTEM, code: 'V' }),
    ],
    ['a code without its system', labelled({ code: 'HIV' }, { code: 'R' })],
    ['a code of another system', labelled({ system: 'http://example.org/labels', code: 'HIV' })],
    ['a code in another case', labelled({ system: V3_ACT_CODE_SYSTEM, code: 'hiv' })],
    ['security not an array', { meta: { security: { system: V3_ACT_CODE_SYSTEM, code: 'HIV' } } }],
    ['malformed codings', labelled(null, 'HIV', 42, { system: V3_ACT_CODE_SYSTEM, code: 7 })],
    ['meta not an object', { meta: 'restricted' }],
    ['not a resource', null],
    ['an array', [labelled({ system: V3_ACT_CODE_SYSTEM, code: 'HIV' })]],
  ];
  for (const [name, resource] of general) {
    it(`general: ${name}`, () => assert.equal(sensitivityOf(resource), 'general'));
  }

  it('the table has no duplicate (system, code)', () => {
    const keys = SENSITIVE_LABELS.map((l) => `${l.system}|${l.code}`);
    assert.equal(new Set(keys).size, keys.length);
  });
});
