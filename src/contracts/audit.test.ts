// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResultCode } from '../ledger/codes.js';
import { StateKey } from '../ledger/keys.js';
import type { AuditEntry, AuditRecord } from './index.js';
import {
  createTestNetwork,
  expectCode,
  expectOk,
  makeWallet,
  registerPatient,
  registerPractitioner,
} from './testing.js';

function setup() {
  const { ledger, orgs } = createTestNetwork({ orgs: 2 });
  const [a, b] = orgs;
  assert.ok(a && b);
  const patient = registerPatient(ledger);
  const other = registerPatient(ledger);
  const physician = registerPractitioner(ledger, a, ['physician']);
  return { ledger, a, b, patient, other, physician };
}

function entry(id: string, actor: string, patient: string, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return { id, actor, patient, action: 'read', outcome: 'success', at: 1_700_000_000_500, ...overrides };
}

describe('audit.batch', () => {
  test("an entry names the emergency access it was made under, only with purpose 'emergency'", () => {
    const { ledger, a, patient, physician } = setup();
    const underBreakGlass = entry('e-emg', physician.did, patient.did, { purpose: 'emergency', emergency: 'e-access-0001' });
    expectOk(ledger.submit(a.node, 'audit.batch', { entries: [underBreakGlass] }));
    assert.deepEqual(ledger.range<AuditRecord>(StateKey.auditPrefix(patient.did))[0]?.[1], {
      ...underBreakGlass,
      recordedBy: a.node.did,
    });
    for (const purpose of [undefined, 'treatment' as const]) {
      const mislabelled = entry('e-bad', physician.did, patient.did, {
        emergency: 'e-access-0001',
        ...(purpose === undefined ? {} : { purpose }),
      });
      expectCode(ledger.submit(a.node, 'audit.batch', { entries: [mislabelled] }), ResultCode.INVALID_PAYLOAD);
    }
  });

  test('a node records entries under each patient, by height, tx position and entry position', () => {
    const { ledger, a, b, patient, other, physician } = setup();
    ledger.nextBlock();
    expectOk(ledger.submit(a.node, 'audit.batch', { entries: [entry('e-0', physician.did, patient.did)] }));
    const entries = [
      entry('e-1', physician.did, patient.did, {
        resourceType: 'Observation',
        recordId: 'record-0001',
        grantId: 'grant-0001',
        purpose: 'treatment',
      }),
      entry('e-2', physician.did, other.did, { action: 'break-glass', outcome: 'denied', via: b.node.did }),
      entry('e-3', patient.did, patient.did, { action: 'consent' }),
    ];
    expectOk(ledger.submit(a.node, 'audit.batch', { entries }));
    const mine = ledger.range<AuditRecord>(StateKey.auditPrefix(patient.did));
    assert.deepEqual(
      mine.map(([key]) => key),
      [
        StateKey.audit(patient.did, ledger.height, 0, 0),
        StateKey.audit(patient.did, ledger.height, 1, 0),
        StateKey.audit(patient.did, ledger.height, 1, 2),
      ],
    );
    assert.deepEqual(mine[1]?.[1], { ...entries[0], recordedBy: a.node.did });
    assert.deepEqual(ledger.get(StateKey.audit(other.did, ledger.height, 1, 1)), {
      ...entries[1],
      recordedBy: a.node.did,
    });
  });

  test("the legitimate actors: the node, its org's practitioners, the patient, a roaming practitioner through its org's node", () => {
    const { ledger, a, b, patient, other, physician } = setup();
    const foreignDoctor = registerPractitioner(ledger, b, ['physician']);
    expectOk(
      ledger.submit(a.node, 'audit.batch', {
        entries: [
          entry('own-node', a.node.did, patient.did),
          entry('own-doctor', physician.did, patient.did),
          entry('own-admin', a.admin.did, patient.did, { action: 'consent' }),
          entry('the-patient', patient.did, patient.did),
          entry('other-patient-denied', other.did, patient.did, { outcome: 'denied' }),
          entry('roaming', foreignDoctor.did, patient.did, { via: b.node.did }),
          entry('roaming-node', b.node.did, patient.did, { via: b.node.did, outcome: 'denied' }),
          entry('patient-roaming', patient.did, patient.did, { via: b.node.did }),
        ],
      }),
    );
    assert.equal(ledger.range(StateKey.auditPrefix(patient.did)).length, 8);
  });

  test('FOREIGN_ACTOR: a node may not speak for other organizations or other patients; nothing is written', () => {
    const { ledger, a, b, patient, other } = setup();
    const foreignDoctor = registerPractitioner(ledger, b, ['physician']);
    const stranger = makeWallet();
    for (const bad of [
      // Another org's practitioner, not through that org's node.
      entry('x-1', foreignDoctor.did, patient.did),
      entry('x-2', foreignDoctor.did, patient.did, { via: a.node.did }),
      // Another org's node or admin as actor of a local access.
      entry('x-3', b.node.did, patient.did),
      entry('x-4', b.admin.did, patient.did),
      // Another patient reading successfully.
      entry('x-5', other.did, patient.did),
      // A DID that is no party, and a `via` that is no active node.
      entry('x-6', stranger.did, patient.did),
      entry('x-7', a.node.did, patient.did, { via: foreignDoctor.did }),
    ]) {
      expectCode(
        ledger.submit(a.node, 'audit.batch', { entries: [entry('ok', a.node.did, patient.did), bad] }),
        ResultCode.FOREIGN_ACTOR,
      );
    }
    assert.equal(ledger.range(StateKey.auditPrefix(patient.did)).length, 0);
    // A node of org B deactivated by its admin no longer carries roaming entries.
    expectOk(ledger.submit(b.admin, 'identity.deactivate', { did: b.node.did }));
    expectCode(
      ledger.submit(a.node, 'audit.batch', { entries: [entry('r', foreignDoctor.did, patient.did, { via: b.node.did })] }),
      ResultCode.FOREIGN_ACTOR,
    );
  });

  test('NOT_NODE: practitioners, admins and patients do not write the audit trail', () => {
    const { ledger, a, patient, physician } = setup();
    for (const signer of [physician, a.admin, patient]) {
      expectCode(
        ledger.submit(signer, 'audit.batch', { entries: [entry('e-1', physician.did, patient.did)] }),
        ResultCode.NOT_NODE,
      );
    }
  });

  test('a deactivated node’s batch is refused by the runner (SIGNER_DEACTIVATED)', () => {
    const { ledger, a, patient, physician } = setup();
    expectOk(ledger.submit(a.admin, 'identity.deactivate', { did: a.node.did }));
    assert.equal(
      ledger.submit(a.node, 'audit.batch', { entries: [entry('e-1', physician.did, patient.did)] }).code,
      ResultCode.SIGNER_DEACTIVATED,
    );
  });

  test('UNKNOWN_PATIENT: one unknown patient rejects the whole batch, nothing is written', () => {
    const { ledger, a, patient, physician } = setup();
    const before = ledger.dump();
    const result = expectCode(
      ledger.submit(a.node, 'audit.batch', {
        entries: [entry('e-1', physician.did, patient.did), entry('e-2', physician.did, makeWallet().did)],
      }),
      ResultCode.UNKNOWN_PATIENT,
    );
    assert.match(result.message ?? '', /^"payload\.entries\[1\]\.patient"/);
    assert.deepEqual(ledger.dump(), before);
  });

  test('INVALID_PAYLOAD: 1..1000 entries, known actions and outcomes, integer times, DIDs', () => {
    const { ledger, a, patient, physician } = setup();
    const ok = entry('e-1', physician.did, patient.did);
    const cases: Array<[unknown, string]> = [
      [[], '"payload.entries" expected >= 1 items'],
      [
        Array.from({ length: 1001 }, (_, i) => ({ ...ok, id: `e-${i}` })),
        '"payload.entries" expected <= 1000 items',
      ],
      [
        [{ ...ok, action: 'delete' }],
        '"payload.entries[0].action" expected one of "read", "search", "create", "update", "erase", "break-glass", "consent"',
      ],
      [[{ ...ok, outcome: 'maybe' }], '"payload.entries[0].outcome" expected one of "success", "denied"'],
      [[{ ...ok, at: -1 }], '"payload.entries[0].at" expected a value >= 0'],
      [[{ ...ok, id: 'x'.repeat(65) }], '"payload.entries[0].id" expected a length <= 64 characters'],
      [[{ ...ok, actor: 'someone' }], '"payload.entries[0].actor" expected an Ed25519 did:key'],
      [[{ ...ok, secret: 'x' }], '"payload.entries[0].secret" is not a known field'],
    ];
    for (const [entries, message] of cases) {
      assert.equal(
        expectCode(ledger.submitRaw(a.node, 'audit.batch', { entries }), ResultCode.INVALID_PAYLOAD).message,
        message,
      );
    }
    expectOk(
      ledger.submit(a.node, 'audit.batch', {
        entries: Array.from({ length: 1000 }, (_, i) => ({ ...ok, id: `e-${i}` })),
      }),
    );
  });
});
