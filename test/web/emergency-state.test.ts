/**
 * The portal's offer to rotate the keys after a break-glass (web/src/lib/emergency-state.ts):
 * made for an access that ended under the current escrow, not for one still active, not after
 * the escrow was made again (a rotation moves the policy version), not without a policy.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EmergencyAccessSummary, EmergencyResponse } from '../../src/wire/index.js';
import { endedSinceRotation } from '../../web/src/lib/emergency-state.js';

const PATIENT = 'did:key:z6MkPatient';
const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
const HOUR = 60 * 60_000;

function access(id: string, start: number, end: number, policyVersion: number): EmergencyAccessSummary {
  return {
    id,
    patient: PATIENT,
    requester: 'did:key:z6MkDoctor',
    org: 'did:key:z6MkHospital',
    reason: 'ETREAT',
    start,
    end,
    policyVersion,
    classes: ['general'],
    threshold: 1,
    trustees: ['did:key:z6MkHospital'],
    releases: [],
  };
}

function response(version: number | null, accesses: EmergencyAccessSummary[]): EmergencyResponse {
  return {
    policy:
      version === null
        ? null
        : {
            patient: PATIENT,
            status: 'enabled',
            version,
            classes: ['general'],
            threshold: 1,
            trustees: ['did:key:z6MkHospital'],
            escrow: { commitment: 'ab'.repeat(32), epoch: 0 },
            updatedAt: NOW - 5 * HOUR,
          },
    accesses,
  };
}

describe('the offer to rotate the keys after a break-glass', () => {
  const ended = access('e-ended', NOW - 3 * HOUR, NOW - HOUR, 1);
  const active = access('e-active', NOW - HOUR, NOW + HOUR, 1);

  test('an access that ended under the current escrow is offered; an active one is not', () => {
    assert.deepEqual(
      endedSinceRotation(response(1, [ended, active]), NOW).map((a) => a.id),
      ['e-ended'],
    );
  });

  test('after a rotation (the escrow made again: a new policy version) nothing is offered', () => {
    assert.deepEqual(endedSinceRotation(response(2, [ended, active]), NOW), []);
  });

  test('without a policy nothing is offered', () => {
    assert.deepEqual(endedSinceRotation(response(null, [ended]), NOW), []);
  });
});
