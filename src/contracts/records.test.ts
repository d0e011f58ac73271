// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sha256Hex } from '../crypto/index.js';
import { ResultCode } from '../ledger/codes.js';
import { StateKey } from '../ledger/keys.js';
import { MAX_ANCHORS_PER_TX, type RecordAnchorPayload, type RecordEntry } from './index.js';
import {
  createTestNetwork,
  expectCode,
  expectOk,
  makeWallet,
  registerPatient,
  registerPractitioner,
  type TestLedger,
  type TestOrg,
  type TestWallet,
} from './testing.js';

interface Fixture {
  ledger: TestLedger;
  a: TestOrg;
  b: TestOrg;
  patient: TestWallet;
  physician: TestWallet;
}

/** Two orgs; the patient granted org A write access to general records of every type. */
function setup(options: { grant?: boolean } = {}): Fixture {
  const { ledger, orgs } = createTestNetwork({ orgs: 2 });
  const [a, b] = orgs;
  assert.ok(a && b);
  const patient = registerPatient(ledger);
  const physician = registerPractitioner(ledger, a, ['physician']);
  const fixture = { ledger, a, b, patient, physician };
  if (options.grant !== false) grant(fixture, 'grant-write', a.org.did, 'general', 'write');
  return fixture;
}

/** The patient grants `grantee` access to every type of `cls`. */
function grant(f: Fixture, grantId: string, grantee: string, cls: 'general' | 'sensitive', access: 'read' | 'write') {
  expectOk(
    f.ledger.submit(f.patient, 'consent.grant', {
      grantId,
      grantee,
      scope: { resourceTypes: ['*'], classes: [cls] },
      purpose: 'treatment',
      access,
      expiresAt: null,
    }),
  );
}

function anchor(f: Fixture, overrides: Partial<RecordAnchorPayload> = {}): RecordAnchorPayload {
  return {
    recordId: 'record-0001',
    version: 1,
    patient: f.patient.did,
    resourceType: 'Observation',
    class: 'general',
    contentHash: sha256Hex('ciphertext v1'),
    author: f.physician.did,
    epoch: 0,
    ...overrides,
  };
}

describe('records.anchor', () => {
  test('a node anchors a version written by its practitioner under a write grant', () => {
    const f = setup();
    const { txId } = expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)));
    assert.deepEqual(f.ledger.get<RecordEntry>(StateKey.record('record-0001')), {
      id: 'record-0001',
      patient: f.patient.did,
      resourceType: 'Observation',
      class: 'general',
      custodian: f.a.org.did,
      latest: {
        version: 1,
        contentHash: sha256Hex('ciphertext v1'),
        author: f.physician.did,
        epoch: 0,
        anchoredAt: f.ledger.time,
        txId,
      },
      versions: 1,
      status: 'active',
    });
    assert.equal(f.ledger.get(StateKey.patientRecord(f.patient.did, 'record-0001')), 'record-0001');
  });

  test('the next version replaces the latest anchor; only the latest is in state', () => {
    const f = setup();
    expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)));
    f.ledger.nextBlock();
    const { txId } = expectOk(
      f.ledger.submit(
        f.a.node,
        'records.anchor',
        anchor(f, { version: 2, contentHash: sha256Hex('ciphertext v2'), epoch: 1 }),
      ),
    );
    const record = f.ledger.get<RecordEntry>(StateKey.record('record-0001'));
    assert.equal(record?.versions, 2);
    assert.deepEqual(record?.latest, {
      version: 2,
      contentHash: sha256Hex('ciphertext v2'),
      author: f.physician.did,
      epoch: 1,
      anchoredAt: f.ledger.time,
      txId,
    });
  });

  test("a record authored by the patient needs the custodian's write grant (NO_GRANT without one)", () => {
    const f = setup({ grant: false });
    expectCode(
      f.ledger.submit(f.a.node, 'records.anchor', anchor(f, { author: f.patient.did })),
      ResultCode.NO_GRANT,
    );
    const granted = setup();
    expectOk(granted.ledger.submit(granted.a.node, 'records.anchor', anchor(granted, { author: granted.patient.did })));
  });

  test("STALE_EPOCH: a record authored by the patient is under the patient's current epoch", () => {
    const f = setup();
    grant(f, 'grant-other', f.b.org.did, 'general', 'read');
    expectOk(f.ledger.submit(f.patient, 'consent.revoke', { grantId: 'grant-other' }));
    // One revoked grant: the current epoch is 1.
    for (const epoch of [0, 2]) {
      expectCode(
        f.ledger.submit(f.a.node, 'records.anchor', anchor(f, { author: f.patient.did, epoch })),
        ResultCode.STALE_EPOCH,
      );
    }
    expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f, { author: f.patient.did, epoch: 1 })));
  });

  test('a version of another class needs write on both classes', () => {
    const f = setup();
    grant(f, 'grant-sens', f.a.org.did, 'sensitive', 'read');
    expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)));
    f.ledger.nextBlock();
    // general → sensitive: write on general, read only on sensitive.
    expectCode(
      f.ledger.submit(f.a.node, 'records.anchor', anchor(f, { version: 2, class: 'sensitive' })),
      ResultCode.SCOPE_NOT_COVERED,
    );
    grant(f, 'grant-sens-w', f.a.org.did, 'sensitive', 'write');
    expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f, { version: 2, class: 'sensitive' })));
  });

  test('VERSION_CONFLICT: a new record starts at 1; each version is the previous + 1', () => {
    const f = setup();
    expectCode(
      f.ledger.submit(f.a.node, 'records.anchor', anchor(f, { version: 2 })),
      ResultCode.VERSION_CONFLICT,
    );
    expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)));
    expectCode(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)), ResultCode.VERSION_CONFLICT);
    expectCode(
      f.ledger.submit(f.a.node, 'records.anchor', anchor(f, { version: 3 })),
      ResultCode.VERSION_CONFLICT,
    );
  });

  test('NOT_CUSTODIAN: the custodian is fixed by version 1', () => {
    const f = setup();
    expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)));
    expectCode(
      f.ledger.submit(f.b.node, 'records.anchor', anchor(f, { version: 2, author: f.patient.did })),
      ResultCode.NOT_CUSTODIAN,
    );
  });

  test('RECORD_MISMATCH: a new version keeps the record’s patient and resource type', () => {
    const f = setup();
    const other = registerPatient(f.ledger);
    expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)));
    expectCode(
      f.ledger.submit(
        f.a.node,
        'records.anchor',
        anchor(f, { version: 2, patient: other.did, author: other.did }),
      ),
      ResultCode.RECORD_MISMATCH,
    );
    expectCode(
      f.ledger.submit(f.a.node, 'records.anchor', anchor(f, { version: 2, resourceType: 'Condition' })),
      ResultCode.RECORD_MISMATCH,
    );
  });

  test('NOT_NODE: practitioners and patients do not anchor', () => {
    const f = setup();
    expectCode(f.ledger.submit(f.physician, 'records.anchor', anchor(f)), ResultCode.NOT_NODE);
    expectCode(
      f.ledger.submit(f.patient, 'records.anchor', anchor(f, { author: f.patient.did })),
      ResultCode.NOT_NODE,
    );
  });

  test('UNKNOWN_PATIENT: the record’s patient must be a registered patient', () => {
    const f = setup();
    expectCode(
      f.ledger.submit(f.a.node, 'records.anchor', anchor(f, { patient: f.physician.did })),
      ResultCode.UNKNOWN_PATIENT,
    );
    expectCode(
      f.ledger.submit(f.a.node, 'records.anchor', anchor(f, { patient: makeWallet().did })),
      ResultCode.UNKNOWN_PATIENT,
    );
  });

  test('NOT_PRACTITIONER: another author must be an active practitioner of the node’s org', () => {
    const f = setup();
    const foreign = registerPractitioner(f.ledger, f.b, ['physician']);
    const retired = registerPractitioner(f.ledger, f.a, ['physician']);
    expectOk(f.ledger.submit(retired, 'identity.deactivate', { did: retired.did }));
    for (const author of [foreign.did, retired.did, makeWallet().did, f.a.node.did]) {
      expectCode(
        f.ledger.submit(f.a.node, 'records.anchor', anchor(f, { author })),
        ResultCode.NOT_PRACTITIONER,
      );
    }
  });

  test('NO_GRANT: a practitioner’s record needs a grant to its organization', () => {
    const f = setup({ grant: false });
    expectCode(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)), ResultCode.NO_GRANT);
  });

  test('SCOPE_NOT_COVERED: a read grant does not allow writing; nor does another class', () => {
    const f = setup({ grant: false });
    expectOk(
      f.ledger.submit(f.patient, 'consent.grant', {
        grantId: 'grant-read',
        grantee: f.a.org.did,
        scope: { resourceTypes: ['*'], classes: ['general', 'sensitive'] },
        purpose: 'treatment',
        access: 'read',
        expiresAt: null,
      }),
    );
    expectCode(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)), ResultCode.SCOPE_NOT_COVERED);
    const g = setup();
    expectCode(
      g.ledger.submit(g.a.node, 'records.anchor', anchor(g, { class: 'sensitive' })),
      ResultCode.SCOPE_NOT_COVERED,
    );
  });

  test('GRANT_EXPIRED: a write grant that expired no longer allows writing', () => {
    const f = setup({ grant: false });
    expectOk(
      f.ledger.submit(f.patient, 'consent.grant', {
        grantId: 'grant-short',
        grantee: f.a.org.did,
        scope: { resourceTypes: ['Observation'], classes: ['general'] },
        purpose: 'treatment',
        access: 'write',
        expiresAt: f.ledger.time + 500,
      }),
    );
    f.ledger.nextBlock(500);
    expectCode(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)), ResultCode.GRANT_EXPIRED);
  });

  test('GRANT_REVOKED: a revoked write grant no longer allows writing', () => {
    const f = setup();
    expectOk(f.ledger.submit(f.patient, 'consent.revoke', { grantId: 'grant-write' }));
    expectCode(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)), ResultCode.GRANT_REVOKED);
  });

  test('RECORD_ERASED: an erased record takes no new version', () => {
    const f = setup();
    expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)));
    expectOk(f.ledger.submit(f.patient, 'records.erase', { recordId: 'record-0001' }));
    expectCode(
      f.ledger.submit(f.a.node, 'records.anchor', anchor(f, { version: 2 })),
      ResultCode.RECORD_ERASED,
    );
  });

  test('INVALID_PAYLOAD: content hash is 64 lowercase hex; version ≥ 1; epoch ≥ 0; type a FHIR name', () => {
    const f = setup();
    for (const [change, field] of [
      [{ contentHash: sha256Hex('x').toUpperCase() }, 'contentHash'],
      [{ contentHash: 'ab' }, 'contentHash'],
      [{ version: 0 }, 'version'],
      [{ epoch: -1 }, 'epoch'],
      [{ resourceType: '*' }, 'resourceType'],
      [{ recordId: 'r'.repeat(129) }, 'recordId'],
    ] as const) {
      const result = expectCode(
        f.ledger.submitRaw(f.a.node, 'records.anchor', { ...anchor(f), ...change }),
        ResultCode.INVALID_PAYLOAD,
      );
      assert.match(result.message ?? '', new RegExp(`^"payload\\.${field}"`));
    }
    expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f, { recordId: 'r'.repeat(128) })));
  });
});

describe('records.anchor with several anchors', () => {
  test('anchors every version in order, as many single anchors would', () => {
    const f = setup();
    const { txId } = expectOk(
      f.ledger.submit(f.a.node, 'records.anchor', {
        anchors: [
          anchor(f),
          anchor(f, { recordId: 'record-0002', resourceType: 'Condition' }),
          anchor(f, { version: 2, contentHash: sha256Hex('ciphertext v2') }),
        ],
      }),
    );
    const first = f.ledger.get<RecordEntry>(StateKey.record('record-0001'));
    assert.equal(first?.versions, 2);
    assert.deepEqual(first?.latest, {
      version: 2,
      contentHash: sha256Hex('ciphertext v2'),
      author: f.physician.did,
      epoch: 0,
      anchoredAt: f.ledger.time,
      txId,
    });
    const second = f.ledger.get<RecordEntry>(StateKey.record('record-0002'));
    assert.equal(second?.status === 'active' && second.resourceType, 'Condition');
    for (const id of ['record-0001', 'record-0002'])
      assert.equal(f.ledger.get(StateKey.patientRecord(f.patient.did, id)), id);
  });

  test('all or none: the first anchor refused refuses the transaction, named by its place', () => {
    const f = setup();
    const result = expectCode(
      f.ledger.submit(f.a.node, 'records.anchor', {
        anchors: [anchor(f), anchor(f, { recordId: 'record-0002' }), anchor(f, { version: 3 })],
      }),
      ResultCode.VERSION_CONFLICT,
    );
    assert.equal(result.message, 'payload.anchors[2]: record record-0001 expects version 2, got 3');
    assert.equal(f.ledger.get(StateKey.record('record-0001')), undefined);
    assert.equal(f.ledger.get(StateKey.record('record-0002')), undefined);
    assert.equal(f.ledger.get(StateKey.patientRecord(f.patient.did, 'record-0001')), undefined);
    // The same versions anchor afterwards: nothing of the refused transaction was kept.
    expectOk(f.ledger.submit(f.a.node, 'records.anchor', { anchors: [anchor(f)] }));
  });

  test('NO_GRANT of one anchor refuses the others too', () => {
    const f = setup();
    const other = registerPatient(f.ledger);
    expectCode(
      f.ledger.submit(f.a.node, 'records.anchor', {
        anchors: [anchor(f), anchor(f, { recordId: 'record-0002', patient: other.did })],
      }),
      ResultCode.NO_GRANT,
    );
    assert.equal(f.ledger.get(StateKey.record('record-0001')), undefined);
  });

  test('INVALID_PAYLOAD: 1 to MAX_ANCHORS_PER_TX anchors, each checked, nothing else beside', () => {
    const f = setup();
    const cases: Array<[unknown, RegExp]> = [
      [{ anchors: [] }, /^"payload\.anchors"/],
      [{ anchors: Array.from({ length: MAX_ANCHORS_PER_TX + 1 }, () => anchor(f)) }, /^"payload\.anchors"/],
      [{ anchors: [anchor(f), { ...anchor(f), version: 0 }] }, /^"payload\.anchors\[1\]\.version"/],
      [{ anchors: [anchor(f)], recordId: 'record-0001' }, /^"payload\.recordId" is not a known field/],
    ];
    for (const [payload, message] of cases) {
      const result = expectCode(
        f.ledger.submitRaw(f.a.node, 'records.anchor', payload),
        ResultCode.INVALID_PAYLOAD,
      );
      assert.match(result.message ?? '', message);
    }
    assert.equal(f.ledger.get(StateKey.record('record-0001')), undefined);
  });
});

describe('records.erase', () => {
  test('the patient erases: only the pointer and the hash remain', () => {
    const f = setup();
    const { txId } = expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)));
    const anchoredAt = f.ledger.time;
    f.ledger.nextBlock();
    expectOk(f.ledger.submit(f.patient, 'records.erase', { recordId: 'record-0001' }));
    assert.deepEqual(f.ledger.get<RecordEntry>(StateKey.record('record-0001')), {
      id: 'record-0001',
      patient: f.patient.did,
      custodian: f.a.org.did,
      latest: { version: 1, contentHash: sha256Hex('ciphertext v1'), anchoredAt, txId },
      versions: 1,
      status: 'erased',
      erasedAt: f.ledger.time,
    });
  });

  test('an active node of the custodian organization erases', () => {
    const f = setup();
    expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)));
    expectOk(f.ledger.submit(f.a.node, 'records.erase', { recordId: 'record-0001' }));
    assert.equal(f.ledger.get<RecordEntry>(StateKey.record('record-0001'))?.status, 'erased');
  });

  test('RECORD_NOT_FOUND for an unknown record', () => {
    const f = setup();
    expectCode(
      f.ledger.submit(f.patient, 'records.erase', { recordId: 'record-0404' }),
      ResultCode.RECORD_NOT_FOUND,
    );
  });

  test('RECORD_ERASED: a record is erased once', () => {
    const f = setup();
    expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)));
    expectOk(f.ledger.submit(f.patient, 'records.erase', { recordId: 'record-0001' }));
    expectCode(
      f.ledger.submit(f.patient, 'records.erase', { recordId: 'record-0001' }),
      ResultCode.RECORD_ERASED,
    );
  });

  test('NOT_AUTHORIZED: not another org’s node, another patient, or a practitioner', () => {
    const f = setup();
    const other = registerPatient(f.ledger);
    expectOk(f.ledger.submit(f.a.node, 'records.anchor', anchor(f)));
    for (const signer of [f.b.node, other, f.physician, f.a.admin]) {
      expectCode(
        f.ledger.submit(signer, 'records.erase', { recordId: 'record-0001' }),
        ResultCode.NOT_AUTHORIZED,
      );
    }
  });
});
