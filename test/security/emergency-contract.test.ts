// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * Attacks on emergency access (break-glass, issue 12 §2) at the ledger: who may break the glass,
 * for whom, for how long and why; who may release a share, when and how often; who may flag an
 * access. Each is refused with its stable code and leaves the world state exactly as it was.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EmergencyAccessPayload, EmergencyReleasePayload } from '../../src/contracts/index.js';
import {
  createTestNetwork,
  expectCode,
  expectOk,
  registerPatient,
  registerPractitioner,
  testEmergencyEnable,
  testSealedShare,
  type SubmitResult,
  type TestLedger,
  type TestOrg,
  type TestWallet,
} from '../../src/contracts/testing.js';
import { ResultCode, type TxType } from '../../src/ledger/index.js';

interface World {
  readonly ledger: TestLedger;
  /** Trustees of the patient's escrow. */
  readonly a: TestOrg;
  readonly b: TestOrg;
  /** The emergency department's organization (no trustee). */
  readonly c: TestOrg;
  readonly patient: TestWallet;
  readonly medic: TestWallet;
  /** A committed break-glass of the medic, for the release and flag attacks. */
  readonly access: string;
}

let ids = 0;
const nextId = (): string => `attack-${String(++ids).padStart(4, '0')}`;

function world(): World {
  const { ledger, orgs } = createTestNetwork({ orgs: 3 });
  const [a, b, c] = orgs;
  assert.ok(a && b && c);
  const patient = registerPatient(ledger);
  const medic = registerPractitioner(ledger, c, ['emergency']);
  expectOk(ledger.submit(patient, 'emergency.enable', testEmergencyEnable([a, b])));
  const access = nextId();
  expectOk(ledger.submit(medic, 'emergency.access', { id: access, patient: patient.did, reason: 'ETREAT', durationMs: 60_000 }));
  ledger.nextBlock();
  return { ledger, a, b, c, patient, medic, access };
}

function breakGlass(w: World, overrides: Partial<EmergencyAccessPayload> = {}): EmergencyAccessPayload {
  return { id: nextId(), patient: w.patient.did, reason: 'ETREAT', durationMs: 3_600_000, ...overrides };
}

function release(w: World): EmergencyReleasePayload {
  return { access: w.access, share: testSealedShare() };
}

/** Runs `attack`, expects `code`, and checks the world state did not change. */
function refused(ledger: TestLedger, code: ResultCode, attack: () => SubmitResult): void {
  const before = ledger.dump();
  expectCode(attack(), code);
  assert.deepEqual(ledger.dump(), before, 'a refused attack leaves the state unchanged');
}

function submitRaw(w: World, signer: TestWallet, type: TxType, payload: unknown): SubmitResult {
  return w.ledger.submitRaw(signer, type, payload);
}

describe('breaking the glass', () => {
  test('by the patient itself: NOT_PRACTITIONER', () => {
    const w = world();
    refused(w.ledger, ResultCode.NOT_PRACTITIONER, () => w.ledger.submit(w.patient, 'emergency.access', breakGlass(w)));
  });

  test('by an organization admin (no emergency role): EMERGENCY_ROLE_REQUIRED', () => {
    const w = world();
    refused(w.ledger, ResultCode.EMERGENCY_ROLE_REQUIRED, () => w.ledger.submit(w.c.admin, 'emergency.access', breakGlass(w)));
  });

  test('by a physician without the emergency role: EMERGENCY_ROLE_REQUIRED', () => {
    const w = world();
    const physician = registerPractitioner(w.ledger, w.c, ['physician', 'nurse']);
    refused(w.ledger, ResultCode.EMERGENCY_ROLE_REQUIRED, () => w.ledger.submit(physician, 'emergency.access', breakGlass(w)));
  });

  test('by an emergency practitioner of a suspended organization: NOT_PRACTITIONER', () => {
    const w = world();
    const proposalId = nextId();
    expectOk(w.ledger.submit(w.a.admin, 'gov.proposal.open', { proposalId, kind: 'org.suspend', org: w.c.org.did }));
    expectOk(w.ledger.submit(w.b.admin, 'gov.org.vote', { proposalId, approve: true }));
    refused(w.ledger, ResultCode.NOT_PRACTITIONER, () => w.ledger.submit(w.medic, 'emergency.access', breakGlass(w)));
  });

  test('for a patient who never enabled it, or opted out: EMERGENCY_DISABLED', () => {
    const w = world();
    const stranger = registerPatient(w.ledger);
    refused(w.ledger, ResultCode.EMERGENCY_DISABLED, () =>
      w.ledger.submit(w.medic, 'emergency.access', breakGlass(w, { patient: stranger.did })),
    );
    expectOk(w.ledger.submit(w.patient, 'emergency.disable', {}));
    refused(w.ledger, ResultCode.EMERGENCY_DISABLED, () => w.ledger.submit(w.medic, 'emergency.access', breakGlass(w)));
  });

  test('for longer than 24 hours, or with a reason that is not a code: INVALID_PAYLOAD', () => {
    const w = world();
    refused(w.ledger, ResultCode.INVALID_PAYLOAD, () =>
      w.ledger.submit(w.medic, 'emergency.access', breakGlass(w, { durationMs: 24 * 3_600_000 + 1 })),
    );
    refused(w.ledger, ResultCode.INVALID_PAYLOAD, () =>
      submitRaw(w, w.medic, 'emergency.access', { ...breakGlass(w), reason: 'unconscious, needs meds list' }),
    );
    refused(w.ledger, ResultCode.INVALID_PAYLOAD, () => submitRaw(w, w.medic, 'emergency.access', { ...breakGlass(w), reason: 'TREAT' }));
  });
});

describe('releasing a share', () => {
  test("by a node of an organization that is not the access's trustee: NOT_TRUSTEE", () => {
    const w = world();
    refused(w.ledger, ResultCode.NOT_TRUSTEE, () => w.ledger.submit(w.c.node, 'emergency.release', release(w)));
  });

  test('by a practitioner (even a trustee organization admin) instead of a node: NOT_NODE', () => {
    const w = world();
    refused(w.ledger, ResultCode.NOT_NODE, () => w.ledger.submit(w.a.admin, 'emergency.release', release(w)));
    refused(w.ledger, ResultCode.NOT_NODE, () => w.ledger.submit(w.medic, 'emergency.release', release(w)));
  });

  test('a second time by the same organization: EMERGENCY_ALREADY_RELEASED', () => {
    const w = world();
    expectOk(w.ledger.submit(w.a.node, 'emergency.release', release(w)));
    refused(w.ledger, ResultCode.EMERGENCY_ALREADY_RELEASED, () => w.ledger.submit(w.a.node, 'emergency.release', release(w)));
  });

  test('after the window ended: EMERGENCY_ENDED', () => {
    const w = world();
    w.ledger.nextBlock(60_000);
    refused(w.ledger, ResultCode.EMERGENCY_ENDED, () => w.ledger.submit(w.a.node, 'emergency.release', release(w)));
  });
});

describe('flagging an access', () => {
  test('by another patient: EMERGENCY_UNKNOWN (it learns nothing of the access)', () => {
    const w = world();
    const other = registerPatient(w.ledger);
    refused(w.ledger, ResultCode.EMERGENCY_UNKNOWN, () => w.ledger.submit(other, 'emergency.flag', { access: w.access }));
  });

  test('by a practitioner who is no admin: NOT_AUTHORIZED', () => {
    const w = world();
    refused(w.ledger, ResultCode.NOT_AUTHORIZED, () => w.ledger.submit(w.medic, 'emergency.flag', { access: w.access }));
  });

  test('by an admin of an organization the patient never granted: EMERGENCY_UNKNOWN', () => {
    const w = world();
    refused(w.ledger, ResultCode.EMERGENCY_UNKNOWN, () => w.ledger.submit(w.c.admin, 'emergency.flag', { access: w.access }));
  });
});
