// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResultCode } from '../ledger/codes.js';
import { StateKey } from '../ledger/keys.js';
import {
  MAX_EMERGENCY_DURATION_MS,
  currentEpoch,
  type EmergencyAccessPayload,
  type EmergencyAccessRecord,
  type EmergencyPolicy,
} from './index.js';
import {
  createTestNetwork,
  expectCode,
  expectOk,
  makeWallet,
  registerPatient,
  registerPractitioner,
  testEmergencyEnable,
  testSealedShare,
  type TestLedger,
  type TestOrg,
  type TestWallet,
} from './testing.js';

interface World {
  ledger: TestLedger;
  a: TestOrg;
  b: TestOrg;
  c: TestOrg;
  patient: TestWallet;
  medic: TestWallet;
}

/** Three organizations; a patient who enabled break-glass with a and b as trustees; a medic of c. */
function world(options: { enable?: boolean } = {}): World {
  const { ledger, orgs } = createTestNetwork({ orgs: 3 });
  const [a, b, c] = orgs;
  assert.ok(a && b && c);
  const patient = registerPatient(ledger);
  const medic = registerPractitioner(ledger, c, ['physician', 'emergency']);
  if (options.enable !== false) expectOk(ledger.submit(patient, 'emergency.enable', testEmergencyEnable([a, b])));
  return { ledger, a, b, c, patient, medic };
}

let ids = 0;
function accessPayload(patient: TestWallet, overrides: Partial<EmergencyAccessPayload> = {}): EmergencyAccessPayload {
  return { id: `emergency-${String(++ids).padStart(4, '0')}`, patient: patient.did, reason: 'ETREAT', durationMs: 3_600_000, ...overrides };
}

function policyOf(ledger: TestLedger, patient: TestWallet): EmergencyPolicy | undefined {
  return ledger.get<EmergencyPolicy>(StateKey.emergencyPolicy(patient.did));
}

function accessOf(ledger: TestLedger, id: string): EmergencyAccessRecord | undefined {
  return ledger.get<EmergencyAccessRecord>(StateKey.emergency(id));
}

/** A committed break-glass by `w.medic`; returns its id. */
function breakGlass(w: World, overrides: Partial<EmergencyAccessPayload> = {}): string {
  const payload = accessPayload(w.patient, overrides);
  expectOk(w.ledger.submit(w.medic, 'emergency.access', payload));
  return payload.id;
}

describe('emergency.enable', () => {
  test('writes the policy; enabling again replaces it with the next version', () => {
    const w = world();
    const first = policyOf(w.ledger, w.patient);
    assert.equal(first?.status, 'enabled');
    assert.equal(first.version, 1);
    assert.deepEqual(first.trustees.map((t) => t.org), [w.a.org.did, w.b.org.did]);
    assert.equal(first.threshold, 2);
    w.ledger.nextBlock();
    const next = testEmergencyEnable([w.c], { classes: ['general', 'sensitive'] });
    expectOk(w.ledger.submit(w.patient, 'emergency.enable', next));
    const second = policyOf(w.ledger, w.patient);
    assert.equal(second?.status, 'enabled');
    assert.equal(second.version, 2);
    assert.deepEqual(second.classes, ['general', 'sensitive']);
    assert.deepEqual(second.trustees, next.trustees);
    assert.equal(second.updatedAt, w.ledger.time);
  });

  test('INVALID_PAYLOAD: duplicated trustees, threshold 0 or above n, more than 7, empty or repeated classes', () => {
    const w = world({ enable: false });
    const share = testSealedShare();
    const bad = [
      testEmergencyEnable([w.a, w.b], { trustees: [{ org: w.a.org.did, share }, { org: w.a.org.did, share }] }),
      testEmergencyEnable([w.a], { threshold: 0 }),
      testEmergencyEnable([w.a], { threshold: 2 }),
      testEmergencyEnable([w.a], { trustees: Array.from({ length: 8 }, () => ({ org: makeWallet().did, share })) }),
      testEmergencyEnable([w.a], { classes: [] }),
      testEmergencyEnable([w.a], { classes: ['general', 'general'] }),
      testEmergencyEnable([w.a], { trustees: [] }),
    ];
    for (const payload of bad) expectCode(w.ledger.submit(w.patient, 'emergency.enable', payload), ResultCode.INVALID_PAYLOAD);
    const note = { ...testEmergencyEnable([w.a]), note: 'free text' };
    expectCode(w.ledger.submitRaw(w.patient, 'emergency.enable', note), ResultCode.INVALID_PAYLOAD);
    const share33 = { ...testEmergencyEnable([w.a]) };
    const longCt = { ...share33, trustees: [{ org: w.a.org.did, share: { ...share, ct: 'c'.repeat(200) } }] };
    expectCode(w.ledger.submitRaw(w.patient, 'emergency.enable', longCt), ResultCode.INVALID_PAYLOAD);
    assert.equal(policyOf(w.ledger, w.patient), undefined);
  });

  test('UNKNOWN_ORG: every trustee is an active member organization', () => {
    const w = world({ enable: false });
    const stranger = makeWallet();
    const payload = testEmergencyEnable([w.a], {
      trustees: [{ org: w.a.org.did, share: testSealedShare() }, { org: stranger.did, share: testSealedShare() }],
      threshold: 1,
    });
    expectCode(w.ledger.submit(w.patient, 'emergency.enable', payload), ResultCode.UNKNOWN_ORG);
  });

  test('NOT_PATIENT: only a patient enables it, for itself', () => {
    const w = world({ enable: false });
    expectCode(w.ledger.submit(w.medic, 'emergency.enable', testEmergencyEnable([w.a])), ResultCode.NOT_PATIENT);
    expectCode(w.ledger.submit(w.a.admin, 'emergency.enable', testEmergencyEnable([w.a])), ResultCode.NOT_PATIENT);
  });

  test('STALE_EPOCH: the escrow must hold the keys up to the current epoch', () => {
    const w = world({ enable: false });
    expectOk(w.ledger.submit(w.patient, 'consent.rotate', {}));
    const stale = testEmergencyEnable([w.a]);
    expectCode(w.ledger.submit(w.patient, 'emergency.enable', stale), ResultCode.STALE_EPOCH);
    expectOk(w.ledger.submit(w.patient, 'emergency.enable', { ...stale, escrow: { ...stale.escrow, epoch: 1 } }));
  });
});

describe('emergency.disable', () => {
  test('removes shares and escrow, keeps the version count', () => {
    const w = world();
    expectOk(w.ledger.submit(w.patient, 'emergency.disable', {}));
    assert.deepEqual(policyOf(w.ledger, w.patient), {
      patient: w.patient.did,
      status: 'disabled',
      version: 2,
      updatedAt: w.ledger.time,
    });
  });

  test('EMERGENCY_DISABLED without an enabled policy (never enabled, or already disabled)', () => {
    const w = world({ enable: false });
    expectCode(w.ledger.submit(w.patient, 'emergency.disable', {}), ResultCode.EMERGENCY_DISABLED);
    expectOk(w.ledger.submit(w.patient, 'emergency.enable', testEmergencyEnable([w.a])));
    expectOk(w.ledger.submit(w.patient, 'emergency.disable', {}));
    expectCode(w.ledger.submit(w.patient, 'emergency.disable', {}), ResultCode.EMERGENCY_DISABLED);
  });
});

describe('emergency.access', () => {
  test('writes the access with the policy copied, its window, and the patient index', () => {
    const w = world();
    const id = breakGlass(w, { reason: 'BTG', durationMs: 4 * 3_600_000 });
    const access = accessOf(w.ledger, id);
    const policy = policyOf(w.ledger, w.patient);
    assert.ok(access && policy?.status === 'enabled');
    assert.equal(access.requester, w.medic.did);
    assert.equal(access.org, w.c.org.did);
    assert.equal(access.reason, 'BTG');
    assert.equal(access.start, w.ledger.time);
    assert.equal(access.end, w.ledger.time + 4 * 3_600_000);
    assert.equal(access.policyVersion, policy.version);
    assert.deepEqual(access.trustees, policy.trustees);
    assert.deepEqual(access.escrow, policy.escrow);
    assert.deepEqual(access.releases, []);
    assert.equal(access.flagged, undefined);
    assert.equal(w.ledger.get(StateKey.patientEmergency(w.patient.did, id)), id);
  });

  test('NOT_PRACTITIONER and EMERGENCY_ROLE_REQUIRED: only a practitioner with the emergency role', () => {
    const w = world();
    const physician = registerPractitioner(w.ledger, w.c, ['physician']);
    expectCode(w.ledger.submit(w.patient, 'emergency.access', accessPayload(w.patient)), ResultCode.NOT_PRACTITIONER);
    expectCode(w.ledger.submit(physician, 'emergency.access', accessPayload(w.patient)), ResultCode.EMERGENCY_ROLE_REQUIRED);
    expectCode(w.ledger.submit(w.c.admin, 'emergency.access', accessPayload(w.patient)), ResultCode.EMERGENCY_ROLE_REQUIRED);
    expectCode(w.ledger.submit(w.c.node, 'emergency.access', accessPayload(w.patient)), ResultCode.NOT_PRACTITIONER);
  });

  test('UNKNOWN_PATIENT and PARTY_DEACTIVATED', () => {
    const w = world();
    expectCode(w.ledger.submit(w.medic, 'emergency.access', accessPayload(makeWallet())), ResultCode.UNKNOWN_PATIENT);
    expectCode(w.ledger.submit(w.medic, 'emergency.access', accessPayload(w.medic)), ResultCode.UNKNOWN_PATIENT);
    expectOk(w.ledger.submit(w.patient, 'identity.deactivate', { did: w.patient.did }));
    expectCode(w.ledger.submit(w.medic, 'emergency.access', accessPayload(w.patient)), ResultCode.PARTY_DEACTIVATED);
  });

  test('INVALID_PAYLOAD: a reason that is not a code, a duration of 0 or past 24 hours', () => {
    const w = world();
    expectCode(w.ledger.submitRaw(w.medic, 'emergency.access', { ...accessPayload(w.patient), reason: 'he fell' }), ResultCode.INVALID_PAYLOAD);
    expectCode(w.ledger.submit(w.medic, 'emergency.access', accessPayload(w.patient, { durationMs: 0 })), ResultCode.INVALID_PAYLOAD);
    expectCode(
      w.ledger.submit(w.medic, 'emergency.access', accessPayload(w.patient, { durationMs: MAX_EMERGENCY_DURATION_MS + 1 })),
      ResultCode.INVALID_PAYLOAD,
    );
    breakGlass(w, { durationMs: MAX_EMERGENCY_DURATION_MS });
  });

  test('EMERGENCY_DISABLED: never enabled, or opted out', () => {
    const w = world({ enable: false });
    expectCode(w.ledger.submit(w.medic, 'emergency.access', accessPayload(w.patient)), ResultCode.EMERGENCY_DISABLED);
    expectOk(w.ledger.submit(w.patient, 'emergency.enable', testEmergencyEnable([w.a])));
    expectOk(w.ledger.submit(w.patient, 'emergency.disable', {}));
    expectCode(w.ledger.submit(w.medic, 'emergency.access', accessPayload(w.patient)), ResultCode.EMERGENCY_DISABLED);
  });

  test('EMERGENCY_EXISTS: an id is used once', () => {
    const w = world();
    const id = breakGlass(w);
    expectCode(w.ledger.submit(w.medic, 'emergency.access', accessPayload(w.patient, { id })), ResultCode.EMERGENCY_EXISTS);
  });
});

describe('emergency.release', () => {
  test('a trustee node appends its release once', () => {
    const w = world();
    const id = breakGlass(w);
    const share = testSealedShare();
    expectOk(w.ledger.submit(w.a.node, 'emergency.release', { access: id, share }));
    const access = accessOf(w.ledger, id);
    assert.deepEqual(access?.releases, [{ org: w.a.org.did, node: w.a.node.did, share, at: w.ledger.time }]);
    expectCode(w.ledger.submit(w.a.node, 'emergency.release', { access: id, share }), ResultCode.EMERGENCY_ALREADY_RELEASED);
    expectOk(w.ledger.submit(w.b.node, 'emergency.release', { access: id, share: testSealedShare() }));
    assert.equal(accessOf(w.ledger, id)?.releases.length, 2);
  });

  test('NOT_NODE, EMERGENCY_UNKNOWN, NOT_TRUSTEE, EMERGENCY_ENDED', () => {
    const w = world();
    const id = breakGlass(w, { durationMs: 10_000 });
    const release = { access: id, share: testSealedShare() };
    expectCode(w.ledger.submit(w.a.admin, 'emergency.release', release), ResultCode.NOT_NODE);
    expectCode(w.ledger.submit(w.a.node, 'emergency.release', { ...release, access: 'no-such-access' }), ResultCode.EMERGENCY_UNKNOWN);
    expectCode(w.ledger.submit(w.c.node, 'emergency.release', release), ResultCode.NOT_TRUSTEE);
    w.ledger.nextBlock(10_000);
    expectCode(w.ledger.submit(w.a.node, 'emergency.release', release), ResultCode.EMERGENCY_ENDED);
    assert.deepEqual(accessOf(w.ledger, id)?.releases, []);
  });
});

describe('emergency.flag', () => {
  test('the patient flags its own access once (EMERGENCY_ALREADY_FLAGGED after)', () => {
    const w = world();
    const id = breakGlass(w);
    expectOk(w.ledger.submit(w.patient, 'emergency.flag', { access: id }));
    assert.deepEqual(accessOf(w.ledger, id)?.flagged, { by: w.patient.did, at: w.ledger.time });
    w.ledger.nextBlock();
    expectCode(w.ledger.submit(w.patient, 'emergency.flag', { access: id }), ResultCode.EMERGENCY_ALREADY_FLAGGED);
    assert.equal(accessOf(w.ledger, id)?.flagged?.at, w.ledger.time - 1000);
  });

  test('an admin of an organization the patient granted (even a revoked grant) flags it', () => {
    const w = world();
    const id = breakGlass(w);
    const grant = { grantId: 'grant-0001', grantee: w.a.org.did, scope: { resourceTypes: ['*'], classes: ['general' as const] }, purpose: 'treatment' as const, access: 'read' as const, expiresAt: null };
    expectOk(w.ledger.submit(w.patient, 'consent.grant', grant));
    expectOk(w.ledger.submit(w.patient, 'consent.revoke', { grantId: grant.grantId }));
    expectOk(w.ledger.submit(w.a.admin, 'emergency.flag', { access: id }));
    assert.equal(accessOf(w.ledger, id)?.flagged?.by, w.a.admin.did);
  });

  test('NOT_AUTHORIZED for a non-admin practitioner or a node; EMERGENCY_UNKNOWN for what the signer may not flag', () => {
    const w = world();
    const id = breakGlass(w);
    const other = registerPatient(w.ledger);
    expectCode(w.ledger.submit(w.medic, 'emergency.flag', { access: id }), ResultCode.NOT_AUTHORIZED);
    expectCode(w.ledger.submit(w.a.node, 'emergency.flag', { access: id }), ResultCode.NOT_AUTHORIZED);
    expectCode(w.ledger.submit(other, 'emergency.flag', { access: id }), ResultCode.EMERGENCY_UNKNOWN);
    expectCode(w.ledger.submit(w.b.admin, 'emergency.flag', { access: id }), ResultCode.EMERGENCY_UNKNOWN);
    expectCode(w.ledger.submit(w.patient, 'emergency.flag', { access: 'no-such-access' }), ResultCode.EMERGENCY_UNKNOWN);
    assert.equal(accessOf(w.ledger, id)?.flagged, undefined);
  });
});

describe('consent.rotate', () => {
  test('moves the epoch up by one, on top of revocations', () => {
    const w = world({ enable: false });
    assert.equal(currentEpoch(w.ledger, w.patient.did), 0);
    expectOk(w.ledger.submit(w.patient, 'consent.rotate', {}));
    expectOk(w.ledger.submit(w.patient, 'consent.rotate', {}));
    assert.equal(currentEpoch(w.ledger, w.patient.did), 2);
    assert.equal(w.ledger.get(StateKey.rotations(w.patient.did)), 2);
    const grant = { grantId: 'grant-0002', grantee: w.a.org.did, scope: { resourceTypes: ['*'], classes: ['general' as const] }, purpose: 'treatment' as const, access: 'read' as const, expiresAt: null };
    expectOk(w.ledger.submit(w.patient, 'consent.grant', grant));
    expectOk(w.ledger.submit(w.patient, 'consent.revoke', { grantId: grant.grantId }));
    assert.equal(currentEpoch(w.ledger, w.patient.did), 3);
  });

  test('NOT_PATIENT for anyone else; INVALID_PAYLOAD for a non-empty payload', () => {
    const w = world({ enable: false });
    expectCode(w.ledger.submit(w.medic, 'consent.rotate', {}), ResultCode.NOT_PATIENT);
    expectCode(w.ledger.submitRaw(w.patient, 'consent.rotate', { epoch: 5 }), ResultCode.INVALID_PAYLOAD);
    assert.equal(currentEpoch(w.ledger, w.patient.did), 0);
  });
});
