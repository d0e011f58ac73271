// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ResultCode } from '../ledger/codes.js';
import { StateKey } from '../ledger/keys.js';
import type { GrantRecord, GrantScope } from '../ledger/types.js';
import {
  MAX_GRANT_KEYS,
  MAX_REQUEST_EXPIRES_IN_MS,
  PURPOSES,
  PURPOSE_OF_USE,
  findCoveringGrant,
  type ConsentGrantPayload,
  type ConsentRequestPayload,
  type RequestRecord,
  type StateReader,
} from './index.js';
import {
  createTestNetwork,
  expectCode,
  expectOk,
  registerPatient,
  registerPractitioner,
  testSealedKey,
  type TestLedger,
  type TestOrg,
  type TestWallet,
} from './testing.js';

const allGeneral: GrantScope = { resourceTypes: ['*'], classes: ['general'] };

function grantPayload(
  grantId: string,
  org: TestOrg,
  overrides: Partial<ConsentGrantPayload> = {},
): ConsentGrantPayload {
  return {
    grantId,
    grantee: org.org.did,
    scope: allGeneral,
    purpose: 'treatment',
    access: 'read',
    expiresAt: null,
    ...overrides,
  };
}

function setup(): { ledger: TestLedger; a: TestOrg; b: TestOrg; patient: TestWallet; physician: TestWallet } {
  const { ledger, orgs } = createTestNetwork({ orgs: 2 });
  const [a, b] = orgs;
  assert.ok(a && b);
  const patient = registerPatient(ledger);
  const physician = registerPractitioner(ledger, a, ['physician']);
  return { ledger, a, b, patient, physician };
}

function requestPayload(
  requestId: string,
  patient: TestWallet,
  overrides: Partial<ConsentRequestPayload> = {},
): ConsentRequestPayload {
  return {
    requestId,
    patient: patient.did,
    scope: allGeneral,
    purpose: 'treatment',
    access: 'read',
    ...overrides,
  };
}

describe('consent.grant', () => {
  test('a patient grants an organization access: grant record and both indexes', () => {
    const { ledger, a, patient } = setup();
    const sealed = [testSealedKey(0)];
    const { txId } = expectOk(
      ledger.submit(
        patient,
        'consent.grant',
        grantPayload('grant-0001', a, { expiresAt: ledger.time + 60_000, keys: sealed, access: 'write' }),
      ),
    );
    const grant = ledger.get<GrantRecord>(StateKey.grant('grant-0001'));
    assert.deepEqual(grant, {
      id: 'grant-0001',
      patient: patient.did,
      grantee: a.org.did,
      scope: allGeneral,
      purpose: 'treatment',
      access: 'write',
      expiresAt: ledger.time + 60_000,
      status: 'active',
      grantedAt: ledger.time,
      keys: sealed,
      txId,
    });
    assert.equal(ledger.get(StateKey.patientGrant(patient.did, 'grant-0001')), 'grant-0001');
    assert.equal(ledger.get(StateKey.orgPatientGrant(a.org.did, patient.did, 'grant-0001')), 'grant-0001');
  });

  test('NOT_PATIENT: only patients grant', () => {
    const { ledger, a, physician } = setup();
    expectCode(
      ledger.submit(physician, 'consent.grant', grantPayload('grant-0001', a)),
      ResultCode.NOT_PATIENT,
    );
    expectCode(ledger.submit(a.node, 'consent.grant', grantPayload('grant-0001', a)), ResultCode.NOT_PATIENT);
  });

  test('UNKNOWN_ORG: the grantee must be a member organization', () => {
    const { ledger, a, patient } = setup();
    expectCode(
      ledger.submit(patient, 'consent.grant', { ...grantPayload('grant-0001', a), grantee: a.admin.did }),
      ResultCode.UNKNOWN_ORG,
    );
  });

  test('GRANT_EXISTS: a grant id is used once', () => {
    const { ledger, a, b, patient } = setup();
    expectOk(ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a)));
    expectCode(
      ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', b)),
      ResultCode.GRANT_EXISTS,
    );
  });

  test('EXPIRY_IN_PAST: expiresAt must be after the block time', () => {
    const { ledger, a, patient } = setup();
    expectCode(
      ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a, { expiresAt: ledger.time })),
      ResultCode.EXPIRY_IN_PAST,
    );
    expectOk(
      ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a, { expiresAt: ledger.time + 1 })),
    );
  });

  test('INVALID_PAYLOAD: scope, purpose, access and sealed keys are checked, naming the field', () => {
    const { ledger, a, patient } = setup();
    const base = grantPayload('grant-0001', a);
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        { scope: { resourceTypes: [], classes: ['general'] } },
        '"payload.scope.resourceTypes" expected >= 1 items',
      ],
      [
        { scope: { resourceTypes: ['observation'], classes: ['general'] } },
        `"payload.scope.resourceTypes[0]" expected '*' or a FHIR resource type`,
      ],
      [
        { scope: { resourceTypes: ['Observation', 'Observation'], classes: ['general'] } },
        '"payload.scope.resourceTypes" expected each resource type at most once',
      ],
      [{ scope: { resourceTypes: ['*'], classes: [] } }, '"payload.scope.classes" expected >= 1 items'],
      [
        { scope: { resourceTypes: ['*'], classes: ['secret'] } },
        '"payload.scope.classes[0]" expected one of "general", "sensitive"',
      ],
      [
        { purpose: 'marketing' },
        '"payload.purpose" expected one of "treatment", "emergency", "research", "payment", "operations"',
      ],
      [{ access: 'admin' }, '"payload.access" expected one of "read", "write"'],
      [{ expiresAt: 1.5 }, '"payload.expiresAt" expected int'],
      [{ keys: Array.from({ length: 257 }, (_, i) => testSealedKey(i)) }, '"payload.keys" expected <= 256 items'],
      // Sealed keys carry their fields and nothing else: no free text on the chain.
      [{ keys: [{ ...testSealedKey(0), note: 'x' }] }, '"payload.keys[0].note" is not a known field'],
      [{ keys: [{ ...testSealedKey(0), ct: 'x'.repeat(129) }] }, '"payload.keys[0].ct" expected a length <= 128 characters'],
      [{ keys: ['not an object'] }, '"payload.keys[0]" expected object'],
    ];
    for (const [change, message] of cases) {
      assert.equal(
        expectCode(
          ledger.submitRaw(patient, 'consent.grant', { ...base, ...change }),
          ResultCode.INVALID_PAYLOAD,
        ).message,
        message,
      );
    }
    const withoutExpiry: Record<string, unknown> = { ...base };
    delete withoutExpiry.expiresAt;
    assert.equal(
      expectCode(ledger.submitRaw(patient, 'consent.grant', withoutExpiry), ResultCode.INVALID_PAYLOAD)
        .message,
      '"payload.expiresAt" expected number',
    );
  });
});

describe('consent.revoke', () => {
  test('the patient revokes its grant', () => {
    const { ledger, a, patient } = setup();
    expectOk(ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a)));
    ledger.nextBlock();
    expectOk(ledger.submit(patient, 'consent.revoke', { grantId: 'grant-0001' }));
    const grant = ledger.get<GrantRecord>(StateKey.grant('grant-0001'));
    assert.equal(grant?.status, 'revoked');
    assert.equal(grant?.revokedAt, ledger.time);
  });

  test('GRANT_NOT_FOUND for an unknown grant id', () => {
    const { ledger, patient } = setup();
    expectCode(
      ledger.submit(patient, 'consent.revoke', { grantId: 'grant-0404' }),
      ResultCode.GRANT_NOT_FOUND,
    );
  });

  test('NOT_GRANT_OWNER: another patient or the grantee cannot revoke', () => {
    const { ledger, a, patient, physician } = setup();
    const other = registerPatient(ledger);
    expectOk(ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a)));
    expectCode(ledger.submit(other, 'consent.revoke', { grantId: 'grant-0001' }), ResultCode.NOT_GRANT_OWNER);
    expectCode(
      ledger.submit(physician, 'consent.revoke', { grantId: 'grant-0001' }),
      ResultCode.NOT_GRANT_OWNER,
    );
  });

  test('GRANT_REVOKED: a grant is revoked once', () => {
    const { ledger, a, patient } = setup();
    expectOk(ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a)));
    expectOk(ledger.submit(patient, 'consent.revoke', { grantId: 'grant-0001' }));
    expectCode(ledger.submit(patient, 'consent.revoke', { grantId: 'grant-0001' }), ResultCode.GRANT_REVOKED);
  });
});

describe('consent.rekey', () => {
  const sealedKey = testSealedKey;

  test('the patient adds keys to its active grant; keys already held are skipped', () => {
    const { ledger, a, patient } = setup();
    const { txId } = expectOk(
      ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a, { keys: [sealedKey(0)] })),
    );
    ledger.nextBlock();
    expectOk(
      ledger.submit(patient, 'consent.rekey', {
        grantId: 'grant-0001',
        keys: [sealedKey(1), sealedKey(0), sealedKey(1, 'sensitive'), sealedKey(1)],
      }),
    );
    const grant = ledger.get<GrantRecord>(StateKey.grant('grant-0001'));
    assert.deepEqual(grant?.keys, [sealedKey(0), sealedKey(1), sealedKey(1, 'sensitive')]);
    // Nothing else about the grant changes.
    assert.equal(grant.txId, txId);
    assert.equal(grant.status, 'active');
    assert.equal(grant.grantedAt, ledger.time - 1000);

    // A grant made without keys gets its first ones.
    expectOk(ledger.submit(patient, 'consent.grant', grantPayload('grant-0002', a)));
    expectOk(ledger.submit(patient, 'consent.rekey', { grantId: 'grant-0002', keys: [sealedKey(1)] }));
    assert.deepEqual(ledger.get<GrantRecord>(StateKey.grant('grant-0002'))?.keys, [sealedKey(1)]);
  });

  test('GRANT_NOT_FOUND for an unknown grant id', () => {
    const { ledger, patient } = setup();
    expectCode(
      ledger.submit(patient, 'consent.rekey', { grantId: 'grant-0404', keys: [sealedKey(1)] }),
      ResultCode.GRANT_NOT_FOUND,
    );
  });

  test('NOT_GRANT_OWNER: another patient, the grantee’s practitioner or node cannot rekey', () => {
    const { ledger, a, patient, physician } = setup();
    const other = registerPatient(ledger);
    expectOk(ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a)));
    for (const signer of [other, physician, a.node]) {
      expectCode(
        ledger.submit(signer, 'consent.rekey', { grantId: 'grant-0001', keys: [sealedKey(1)] }),
        ResultCode.NOT_GRANT_OWNER,
      );
    }
    assert.equal(ledger.get<GrantRecord>(StateKey.grant('grant-0001'))?.keys, undefined);
  });

  test('GRANT_REVOKED: a revoked grant gets no new keys', () => {
    const { ledger, a, patient } = setup();
    expectOk(
      ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a, { keys: [sealedKey(0)] })),
    );
    expectOk(ledger.submit(patient, 'consent.revoke', { grantId: 'grant-0001' }));
    expectCode(
      ledger.submit(patient, 'consent.rekey', { grantId: 'grant-0001', keys: [sealedKey(1)] }),
      ResultCode.GRANT_REVOKED,
    );
    assert.deepEqual(ledger.get<GrantRecord>(StateKey.grant('grant-0001'))?.keys, [sealedKey(0)]);
  });

  test('GRANT_EXPIRED: an expired grant (at block time) gets no new keys', () => {
    const { ledger, a, patient } = setup();
    expectOk(
      ledger.submit(
        patient,
        'consent.grant',
        grantPayload('grant-0001', a, { expiresAt: ledger.time + 1000 }),
      ),
    );
    expectOk(ledger.submit(patient, 'consent.rekey', { grantId: 'grant-0001', keys: [sealedKey(1)] }));
    ledger.nextBlock(1000);
    expectCode(
      ledger.submit(patient, 'consent.rekey', { grantId: 'grant-0001', keys: [sealedKey(2)] }),
      ResultCode.GRANT_EXPIRED,
    );
    assert.deepEqual(ledger.get<GrantRecord>(StateKey.grant('grant-0001'))?.keys, [sealedKey(1)]);
  });

  test('GRANT_KEYS_FULL: a grant holds at most MAX_GRANT_KEYS keys', () => {
    const { ledger, a, patient } = setup();
    const first = Array.from({ length: MAX_GRANT_KEYS - 1 }, (_, i) => sealedKey(i));
    expectOk(ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a, { keys: first })));
    expectCode(
      ledger.submit(patient, 'consent.rekey', {
        grantId: 'grant-0001',
        keys: [sealedKey(MAX_GRANT_KEYS - 1), sealedKey(MAX_GRANT_KEYS)],
      }),
      ResultCode.GRANT_KEYS_FULL,
    );
    // Keys already held do not count twice: this fills the grant exactly.
    expectOk(
      ledger.submit(patient, 'consent.rekey', {
        grantId: 'grant-0001',
        keys: [sealedKey(0), sealedKey(MAX_GRANT_KEYS - 1)],
      }),
    );
    assert.equal(ledger.get<GrantRecord>(StateKey.grant('grant-0001'))?.keys?.length, MAX_GRANT_KEYS);
  });

  test('INVALID_PAYLOAD: a rekey carries 1..MAX_GRANT_KEYS sealed keys within the size limit', () => {
    const { ledger, a, patient } = setup();
    expectOk(ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a)));
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ grantId: 'grant-0001', keys: [] }, '"payload.keys" expected >= 1 items'],
      [
        { grantId: 'grant-0001', keys: Array.from({ length: 257 }, (_, i) => testSealedKey(i)) },
        '"payload.keys" expected <= 256 items',
      ],
      [
        { grantId: 'grant-0001', keys: [{ ...testSealedKey(0), enc: 'not base64url!' }] },
        '"payload.keys[0].enc" has an invalid format',
      ],
      [{ grantId: 'grant-0001', keys: ['not an object'] }, '"payload.keys[0]" expected object'],
      [{ grantId: 'grant-0001' }, '"payload.keys" expected array'],
    ];
    for (const [payload, message] of cases) {
      assert.equal(
        expectCode(ledger.submitRaw(patient, 'consent.rekey', payload), ResultCode.INVALID_PAYLOAD).message,
        message,
      );
    }
    assert.equal(
      expectCode(
        ledger.submitRaw(patient, 'consent.rekey', { grantId: 'grant-0001', keys: [testSealedKey(0)], extra: 1 }),
        ResultCode.INVALID_PAYLOAD,
      ).message?.includes('extra'),
      true,
    );
  });
});

describe('consent.request', () => {
  test('a practitioner requests access for its organization; the request is indexed for the patient', () => {
    const { ledger, a, patient, physician } = setup();
    expectOk(
      ledger.submit(
        physician,
        'consent.request',
        requestPayload('request-01', patient, { expiresInMs: 3_600_000 }),
      ),
    );
    const request = ledger.get<RequestRecord>(StateKey.request('request-01'));
    assert.deepEqual(request, {
      id: 'request-01',
      patient: patient.did,
      requester: physician.did,
      org: a.org.did,
      scope: allGeneral,
      purpose: 'treatment',
      access: 'read',
      expiresInMs: 3_600_000,
      status: 'pending',
      requestedAt: ledger.time,
    });
    assert.equal(ledger.get(StateKey.patientRequest(patient.did, 'request-01')), 'request-01');
  });

  test('NOT_PRACTITIONER: patients and nodes cannot request', () => {
    const { ledger, a, patient } = setup();
    expectCode(
      ledger.submit(patient, 'consent.request', requestPayload('request-01', patient)),
      ResultCode.NOT_PRACTITIONER,
    );
    expectCode(
      ledger.submit(a.node, 'consent.request', requestPayload('request-01', patient)),
      ResultCode.NOT_PRACTITIONER,
    );
  });

  test('UNKNOWN_PATIENT: the patient must be a registered patient', () => {
    const { ledger, physician, a } = setup();
    expectCode(
      ledger.submit(physician, 'consent.request', { ...requestPayload('request-01', a.admin) }),
      ResultCode.UNKNOWN_PATIENT,
    );
  });

  test('PARTY_DEACTIVATED: no request to a deactivated patient', () => {
    const { ledger, patient, physician } = setup();
    expectOk(ledger.submit(patient, 'identity.deactivate', { did: patient.did }));
    expectCode(
      ledger.submit(physician, 'consent.request', requestPayload('request-01', patient)),
      ResultCode.PARTY_DEACTIVATED,
    );
  });

  test('REQUEST_EXISTS: a request id is used once', () => {
    const { ledger, patient, physician } = setup();
    expectOk(ledger.submit(physician, 'consent.request', requestPayload('request-01', patient)));
    expectCode(
      ledger.submit(physician, 'consent.request', requestPayload('request-01', patient)),
      ResultCode.REQUEST_EXISTS,
    );
  });

  test('INVALID_PAYLOAD: expiresInMs is a positive integer of at most ten years; no free-text note', () => {
    const { ledger, patient, physician } = setup();
    for (const [change, field] of [
      [{ expiresInMs: 0 }, 'expiresInMs'],
      [{ expiresInMs: MAX_REQUEST_EXPIRES_IN_MS + 1 }, 'expiresInMs'],
      [{ note: 'follow-up' }, 'note'],
    ] as const) {
      const result = expectCode(
        ledger.submitRaw(physician, 'consent.request', {
          ...requestPayload('request-01', patient),
          ...change,
        }),
        ResultCode.INVALID_PAYLOAD,
      );
      assert.match(result.message ?? '', new RegExp(`^"payload\\.${field}"`));
    }
    expectOk(
      ledger.submit(
        physician,
        'consent.request',
        requestPayload('request-01', patient, { expiresInMs: MAX_REQUEST_EXPIRES_IN_MS }),
      ),
    );
  });
});

describe('consent.approve and consent.deny', () => {
  test('approving creates the grant to the requester’s organization, expiring expiresInMs after the block', () => {
    const { ledger, a, patient, physician } = setup();
    expectOk(
      ledger.submit(
        physician,
        'consent.request',
        requestPayload('request-01', patient, { expiresInMs: 3_600_000, access: 'write' }),
      ),
    );
    ledger.nextBlock(5000);
    const { txId } = expectOk(
      ledger.submit(patient, 'consent.approve', {
        requestId: 'request-01',
        grantId: 'grant-0001',
        keys: [testSealedKey(0)],
      }),
    );
    assert.deepEqual(ledger.get<GrantRecord>(StateKey.grant('grant-0001')), {
      id: 'grant-0001',
      patient: patient.did,
      grantee: a.org.did,
      scope: allGeneral,
      purpose: 'treatment',
      access: 'write',
      expiresAt: ledger.time + 3_600_000,
      status: 'active',
      grantedAt: ledger.time,
      keys: [testSealedKey(0)],
      requestId: 'request-01',
      txId,
    });
    assert.equal(ledger.get(StateKey.orgPatientGrant(a.org.did, patient.did, 'grant-0001')), 'grant-0001');
    const request = ledger.get<RequestRecord>(StateKey.request('request-01'));
    assert.equal(request?.status, 'approved');
    assert.equal(request?.grantId, 'grant-0001');
    assert.equal(request?.decidedAt, ledger.time);
  });

  test('approving without expiresInMs gives no expiry; an explicit expiresAt wins', () => {
    const { ledger, patient, physician } = setup();
    expectOk(ledger.submit(physician, 'consent.request', requestPayload('request-01', patient)));
    expectOk(
      ledger.submit(
        physician,
        'consent.request',
        requestPayload('request-02', patient, { expiresInMs: 1000 }),
      ),
    );
    expectOk(ledger.submit(patient, 'consent.approve', { requestId: 'request-01', grantId: 'grant-0001' }));
    expectOk(
      ledger.submit(patient, 'consent.approve', {
        requestId: 'request-02',
        grantId: 'grant-0002',
        expiresAt: null,
      }),
    );
    assert.equal(ledger.get<GrantRecord>(StateKey.grant('grant-0001'))?.expiresAt, null);
    assert.equal(ledger.get<GrantRecord>(StateKey.grant('grant-0002'))?.expiresAt, null);
  });

  test('EXPIRY_IN_PAST applies to an explicit expiresAt on approval too', () => {
    const { ledger, patient, physician } = setup();
    expectOk(ledger.submit(physician, 'consent.request', requestPayload('request-01', patient)));
    expectCode(
      ledger.submit(patient, 'consent.approve', {
        requestId: 'request-01',
        grantId: 'grant-0001',
        expiresAt: ledger.time - 1,
      }),
      ResultCode.EXPIRY_IN_PAST,
    );
    assert.equal(ledger.get<RequestRecord>(StateKey.request('request-01'))?.status, 'pending');
  });

  test('denying closes the request without a grant', () => {
    const { ledger, patient, physician } = setup();
    expectOk(ledger.submit(physician, 'consent.request', requestPayload('request-01', patient)));
    expectOk(ledger.submit(patient, 'consent.deny', { requestId: 'request-01' }));
    const request = ledger.get<RequestRecord>(StateKey.request('request-01'));
    assert.equal(request?.status, 'denied');
    assert.equal(request?.grantId, undefined);
    assert.deepEqual(ledger.range(StateKey.patientGrantsPrefix(patient.did)), []);
  });

  test('NOT_PATIENT: the signer of an approval or denial must be a patient', () => {
    const { ledger, patient, physician } = setup();
    expectOk(ledger.submit(physician, 'consent.request', requestPayload('request-01', patient)));
    expectCode(
      ledger.submit(physician, 'consent.approve', { requestId: 'request-01', grantId: 'grant-0001' }),
      ResultCode.NOT_PATIENT,
    );
    expectCode(ledger.submit(physician, 'consent.deny', { requestId: 'request-01' }), ResultCode.NOT_PATIENT);
  });

  test('REQUEST_NOT_FOUND for an unknown request id', () => {
    const { ledger, patient } = setup();
    expectCode(
      ledger.submit(patient, 'consent.approve', { requestId: 'request-404', grantId: 'grant-0001' }),
      ResultCode.REQUEST_NOT_FOUND,
    );
    expectCode(
      ledger.submit(patient, 'consent.deny', { requestId: 'request-404' }),
      ResultCode.REQUEST_NOT_FOUND,
    );
  });

  test('NOT_AUTHORIZED: a patient cannot answer a request addressed to another patient', () => {
    const { ledger, patient, physician } = setup();
    const other = registerPatient(ledger);
    expectOk(ledger.submit(physician, 'consent.request', requestPayload('request-01', patient)));
    expectCode(
      ledger.submit(other, 'consent.approve', { requestId: 'request-01', grantId: 'grant-0001' }),
      ResultCode.NOT_AUTHORIZED,
    );
    expectCode(ledger.submit(other, 'consent.deny', { requestId: 'request-01' }), ResultCode.NOT_AUTHORIZED);
  });

  test('REQUEST_CLOSED: an answered request cannot be answered again', () => {
    const { ledger, patient, physician } = setup();
    expectOk(ledger.submit(physician, 'consent.request', requestPayload('request-01', patient)));
    expectOk(ledger.submit(patient, 'consent.deny', { requestId: 'request-01' }));
    expectCode(
      ledger.submit(patient, 'consent.approve', { requestId: 'request-01', grantId: 'grant-0001' }),
      ResultCode.REQUEST_CLOSED,
    );
    expectCode(
      ledger.submit(patient, 'consent.deny', { requestId: 'request-01' }),
      ResultCode.REQUEST_CLOSED,
    );
  });

  test('GRANT_EXISTS: approval needs a fresh grant id, and leaves the request pending otherwise', () => {
    const { ledger, a, patient, physician } = setup();
    expectOk(ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a)));
    expectOk(ledger.submit(physician, 'consent.request', requestPayload('request-01', patient)));
    expectCode(
      ledger.submit(patient, 'consent.approve', { requestId: 'request-01', grantId: 'grant-0001' }),
      ResultCode.GRANT_EXISTS,
    );
    assert.equal(ledger.get<RequestRecord>(StateKey.request('request-01'))?.status, 'pending');
  });
});

describe('findCoveringGrant', () => {
  test('NO_GRANT when the patient granted the organization nothing', () => {
    const { ledger, a, b, patient } = setup();
    expectOk(ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', b)));
    assert.deepEqual(
      findCoveringGrant(ledger, patient.did, a.org.did, 'Observation', 'general', 'read', ledger.time),
      { code: ResultCode.NO_GRANT },
    );
  });

  test('OK with the covering grant: "*" or exact type, class, and write covering read', () => {
    const { ledger, a, patient } = setup();
    expectOk(
      ledger.submit(
        patient,
        'consent.grant',
        grantPayload('grant-0001', a, {
          scope: { resourceTypes: ['Observation', 'Condition'], classes: ['general', 'sensitive'] },
          access: 'write',
        }),
      ),
    );
    const write = findCoveringGrant(
      ledger,
      patient.did,
      a.org.did,
      'Condition',
      'sensitive',
      'write',
      ledger.time,
    );
    assert.equal(write.code, ResultCode.OK);
    assert.equal(write.code === ResultCode.OK ? write.grant.id : undefined, 'grant-0001');
    assert.equal(
      findCoveringGrant(ledger, patient.did, a.org.did, 'Observation', 'general', 'read', ledger.time).code,
      ResultCode.OK,
    );
  });

  test('SCOPE_NOT_COVERED: other type, other class, or write asked of a read grant', () => {
    const { ledger, a, patient } = setup();
    expectOk(
      ledger.submit(
        patient,
        'consent.grant',
        grantPayload('grant-0001', a, { scope: { resourceTypes: ['Observation'], classes: ['general'] } }),
      ),
    );
    for (const [type, cls, access] of [
      ['Condition', 'general', 'read'],
      ['Observation', 'sensitive', 'read'],
      ['Observation', 'general', 'write'],
    ] as const) {
      assert.deepEqual(findCoveringGrant(ledger, patient.did, a.org.did, type, cls, access, ledger.time), {
        code: ResultCode.SCOPE_NOT_COVERED,
      });
    }
  });

  test('GRANT_EXPIRED: a covering grant whose expiresAt is not after now', () => {
    const { ledger, a, patient } = setup();
    const expiresAt = ledger.time + 1000;
    expectOk(ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a, { expiresAt })));
    assert.equal(
      findCoveringGrant(ledger, patient.did, a.org.did, 'Patient', 'general', 'read', expiresAt - 1).code,
      ResultCode.OK,
    );
    assert.deepEqual(
      findCoveringGrant(ledger, patient.did, a.org.did, 'Patient', 'general', 'read', expiresAt),
      { code: ResultCode.GRANT_EXPIRED },
    );
  });

  test('GRANT_REVOKED: a covering grant that was revoked; an active one still wins', () => {
    const { ledger, a, patient } = setup();
    expectOk(ledger.submit(patient, 'consent.grant', grantPayload('grant-0001', a)));
    expectOk(ledger.submit(patient, 'consent.revoke', { grantId: 'grant-0001' }));
    assert.deepEqual(
      findCoveringGrant(ledger, patient.did, a.org.did, 'Patient', 'general', 'read', ledger.time),
      { code: ResultCode.GRANT_REVOKED },
    );
    ledger.nextBlock();
    expectOk(
      ledger.submit(patient, 'consent.grant', grantPayload('grant-0002', a, { expiresAt: ledger.time + 10 })),
    );
    assert.equal(
      findCoveringGrant(ledger, patient.did, a.org.did, 'Patient', 'general', 'read', ledger.time).code,
      ResultCode.OK,
    );
    // Both unusable: the most recently granted one tells why.
    assert.deepEqual(
      findCoveringGrant(ledger, patient.did, a.org.did, 'Patient', 'general', 'read', ledger.time + 10),
      { code: ResultCode.GRANT_EXPIRED },
    );
  });

  test('is deterministic: the answer depends on the grants, not on the order state was written in', () => {
    const patient = 'did:key:patient';
    const org = 'did:key:org';
    const grantArb = fc.record({
      id: fc.stringMatching(/^[a-z0-9]{8}$/),
      types: fc.subarray(['*', 'Observation', 'Condition', 'Patient'], { minLength: 1 }),
      classes: fc.subarray(['general', 'sensitive'] as const, { minLength: 1 }),
      access: fc.constantFrom('read', 'write' as const),
      status: fc.constantFrom('active', 'revoked' as const),
      grantedAt: fc.integer({ min: 0, max: 100 }),
      expiresAt: fc.option(fc.integer({ min: 0, max: 200 }), { nil: null }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(grantArb, { selector: (g) => g.id, maxLength: 8 }),
        fc.constantFrom('Observation', 'Condition', 'Patient', 'Encounter'),
        fc.constantFrom('general', 'sensitive' as const),
        fc.constantFrom('read', 'write' as const),
        fc.integer({ min: 0, max: 250 }),
        (grants, type, cls, access, now) => {
          // The grantee is an active member: grants to anyone else are never honoured.
          const entries: Array<[string, unknown]> = [[StateKey.org(org), { did: org, status: 'active' }]];
          for (const g of grants) {
            const record: GrantRecord = {
              id: g.id,
              patient,
              grantee: org,
              scope: { resourceTypes: g.types, classes: g.classes },
              purpose: 'treatment',
              access: g.access,
              expiresAt: g.expiresAt,
              status: g.status,
              grantedAt: g.grantedAt,
              txId: 'tx',
            };
            entries.push(
              [StateKey.grant(g.id), record],
              [StateKey.orgPatientGrant(org, patient, g.id), g.id],
            );
          }
          const forward = mapReader(entries);
          const backward = mapReader([...entries].reverse());
          const result = findCoveringGrant(forward, patient, org, type, cls, access, now);
          assert.deepEqual(findCoveringGrant(backward, patient, org, type, cls, access, now), result);
          assert.deepEqual(findCoveringGrant(forward, patient, org, type, cls, access, now), result);
          const usable = grants.some(
            (g) =>
              g.status === 'active' &&
              (g.expiresAt === null || g.expiresAt > now) &&
              (g.types.includes('*') || g.types.includes(type)) &&
              g.classes.includes(cls) &&
              (g.access === 'write' || access === 'read'),
          );
          assert.equal(result.code === ResultCode.OK, usable);
          if (grants.length === 0) assert.equal(result.code, ResultCode.NO_GRANT);
        },
      ),
    );
  });
});

/** A reader over a Map filled in the given order; range sorts, as the ledger's does. */
function mapReader(entries: Array<[string, unknown]>): StateReader {
  const map = new Map(entries);
  return {
    get: <T>(key: string) => map.get(key) as T | undefined,
    range: <T>(prefix: string) =>
      [...map.entries()]
        .filter(([k]) => k.startsWith(prefix))
        .sort((x, y) => (x[0] < y[0] ? -1 : 1)) as Array<[string, T]>,
  };
}

test('every purpose maps to an HL7 v3 PurposeOfUse code', () => {
  assert.deepEqual(
    PURPOSES.map((p) => PURPOSE_OF_USE[p]),
    ['TREAT', 'ETREAT', 'HRESCH', 'HPAYMT', 'HOPERAT'],
  );
});
