// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { signingKeyFromDid, toBase64Url } from '../crypto/index.js';
import { ResultCode } from '../ledger/codes.js';
import { StateKey } from '../ledger/keys.js';
import type { GrantRecord } from '../ledger/types.js';
import { findCoveringGrant } from './index.js';
import {
  TEST_BLOCK_MS,
  createTestNetwork,
  expectCode,
  expectOk,
  makeWallet,
  randomKey,
  registerPatient,
  registerPractitioner,
} from './testing.js';

describe('identity.patient.register', () => {
  test('an unregistered signer registers itself as a patient with the key inside its did:key', () => {
    const { ledger } = createTestNetwork();
    const wallet = makeWallet();
    expectOk(ledger.submit(wallet, 'identity.patient.register', { encryptionKey: wallet.encryptionKey }));
    assert.deepEqual(ledger.party(wallet.did), {
      did: wallet.did,
      kind: 'patient',
      signingKey: toBase64Url(wallet.signing.publicKey),
      encryptionKey: wallet.encryptionKey,
      status: 'active',
      registeredAt: ledger.time,
    });
  });

  test('ALREADY_REGISTERED: a DID registers once, whatever kind of party it is', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    const wallet = registerPatient(ledger);
    expectCode(
      ledger.submit(wallet, 'identity.patient.register', { encryptionKey: wallet.encryptionKey }),
      ResultCode.ALREADY_REGISTERED,
    );
    expectCode(
      ledger.submit(a.admin, 'identity.patient.register', { encryptionKey: wallet.encryptionKey }),
      ResultCode.ALREADY_REGISTERED,
    );
  });

  test('INVALID_PAYLOAD: the encryption key must be base64url of exactly 32 bytes', () => {
    const { ledger } = createTestNetwork();
    const wallet = makeWallet();
    const short = toBase64Url(new Uint8Array(31));
    for (const encryptionKey of [short, `${wallet.encryptionKey}A`, 'not base64!', 42]) {
      const result = expectCode(
        ledger.submitRaw(wallet, 'identity.patient.register', { encryptionKey }),
        ResultCode.INVALID_PAYLOAD,
      );
      assert.match(result.message ?? '', /^"payload\.encryptionKey"/);
    }
    assert.equal(
      expectCode(ledger.submitRaw(wallet, 'identity.patient.register', {}), ResultCode.INVALID_PAYLOAD)
        .message,
      '"payload.encryptionKey" expected string',
    );
    assert.equal(ledger.party(wallet.did), undefined);
  });
});

describe('identity.practitioner.register', () => {
  test('an org admin registers a practitioner of its organization, with its index', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    const wallet = makeWallet();
    expectOk(
      ledger.submit(a.admin, 'identity.practitioner.register', {
        practitioner: wallet.did,
        roles: ['physician', 'emergency'],
        encryptionKey: wallet.encryptionKey,
      }),
    );
    assert.deepEqual(ledger.party(wallet.did), {
      did: wallet.did,
      kind: 'practitioner',
      signingKey: toBase64Url(signingKeyFromDid(wallet.did)),
      encryptionKey: wallet.encryptionKey,
      status: 'active',
      org: a.org.did,
      roles: ['physician', 'emergency'],
      registeredAt: ledger.time,
    });
    assert.equal(ledger.get(StateKey.orgPractitioner(a.org.did, wallet.did)), wallet.did);
  });

  test('NOT_ORG_ADMIN: a practitioner without the admin role cannot register others', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    const physician = registerPractitioner(ledger, a, ['physician']);
    const wallet = makeWallet();
    expectCode(
      ledger.submit(physician, 'identity.practitioner.register', {
        practitioner: wallet.did,
        roles: ['nurse'],
        encryptionKey: wallet.encryptionKey,
      }),
      ResultCode.NOT_ORG_ADMIN,
    );
  });

  test('ALREADY_REGISTERED: the practitioner DID must be new', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a, b] = orgs;
    assert.ok(a && b);
    expectCode(
      ledger.submit(a.admin, 'identity.practitioner.register', {
        practitioner: b.admin.did,
        roles: ['nurse'],
        encryptionKey: randomKey(),
      }),
      ResultCode.ALREADY_REGISTERED,
    );
  });

  test('INVALID_PAYLOAD: roles are a non-empty set of known roles', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    const wallet = makeWallet();
    const base = { practitioner: wallet.did, encryptionKey: wallet.encryptionKey };
    const cases: Array<[unknown, string]> = [
      [[], '"payload.roles" expected >= 1 items'],
      [['nurse', 'nurse'], '"payload.roles" expected each role at most once'],
      [['surgeon'], '"payload.roles[0]" expected one of "physician", "nurse", "emergency", "admin"'],
    ];
    for (const [roles, message] of cases) {
      assert.equal(
        expectCode(
          ledger.submitRaw(a.admin, 'identity.practitioner.register', { ...base, roles }),
          ResultCode.INVALID_PAYLOAD,
        ).message,
        message,
      );
    }
    assert.equal(
      expectCode(
        ledger.submitRaw(a.admin, 'identity.practitioner.register', {
          ...base,
          practitioner: 'did:key:zNotAKey',
          roles: ['nurse'],
        }),
        ResultCode.INVALID_PAYLOAD,
      ).message,
      '"payload.practitioner" expected an Ed25519 did:key',
    );
  });
});

describe('identity.key.rotate', () => {
  test('any party replaces its signing key; its DID stays its id', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    const patient = registerPatient(ledger);
    for (const did of [patient.did, a.node.did, a.admin.did]) {
      const newSigningKey = randomKey();
      expectOk(ledger.submit(did, 'identity.key.rotate', { newSigningKey }));
      assert.equal(ledger.party(did)?.signingKey, newSigningKey);
      assert.equal(ledger.party(did)?.did, did);
    }
  });

  test('SAME_KEY: rotating to the current key is rejected', () => {
    const { ledger } = createTestNetwork();
    const patient = registerPatient(ledger);
    expectCode(
      ledger.submit(patient, 'identity.key.rotate', {
        newSigningKey: toBase64Url(patient.signing.publicKey),
      }),
      ResultCode.SAME_KEY,
    );
  });
});

describe('identity.deactivate', () => {
  test('a party deactivates itself; it can no longer sign (SIGNER_DEACTIVATED from the runner)', () => {
    const { ledger } = createTestNetwork();
    const patient = registerPatient(ledger);
    expectOk(ledger.submit(patient, 'identity.deactivate', { did: patient.did }));
    assert.equal(ledger.party(patient.did)?.status, 'deactivated');
    assert.equal(
      ledger.submit(patient, 'identity.key.rotate', { newSigningKey: randomKey() }).code,
      ResultCode.SIGNER_DEACTIVATED,
    );
  });

  test("a patient's deactivation ends its active grants (revoked at that block); no grant covers any more", () => {
    const { ledger, orgs } = createTestNetwork();
    const org = orgs[0]!.org.did;
    const patient = registerPatient(ledger);
    const grant = (grantId: string) =>
      expectOk(
        ledger.submit(patient, 'consent.grant', {
          grantId,
          grantee: org,
          scope: { resourceTypes: ['*'], classes: ['general'] },
          purpose: 'treatment',
          access: 'write',
          expiresAt: null,
        }),
      );
    grant('grant-live');
    grant('grant-gone');
    expectOk(ledger.submit(patient, 'consent.revoke', { grantId: 'grant-gone' }));
    ledger.nextBlock();
    expectOk(ledger.submit(patient, 'identity.deactivate', { did: patient.did }));
    const live = ledger.get<GrantRecord>(StateKey.grant('grant-live'));
    assert.equal(live?.status, 'revoked');
    assert.equal(live?.revokedAt, ledger.time);
    // The grant revoked before keeps its own revocation time.
    assert.equal(ledger.get<GrantRecord>(StateKey.grant('grant-gone'))?.revokedAt, ledger.time - TEST_BLOCK_MS);
    assert.equal(
      findCoveringGrant(ledger, patient.did, org, 'Observation', 'general', 'read', ledger.time).code,
      ResultCode.GRANT_REVOKED,
    );
  });

  test('an org admin deactivates its own organization’s practitioners and nodes', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    const nurse = registerPractitioner(ledger, a, ['nurse']);
    expectOk(ledger.submit(a.admin, 'identity.deactivate', { did: nurse.did }));
    expectOk(ledger.submit(a.admin, 'identity.deactivate', { did: a.node.did }));
    assert.equal(ledger.party(nurse.did)?.status, 'deactivated');
    assert.equal(ledger.party(a.node.did)?.status, 'deactivated');
  });

  test('NOT_AUTHORIZED: not another org’s parties, not patients, not by non-admins', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a, b] = orgs;
    assert.ok(a && b);
    const patient = registerPatient(ledger);
    const otherPatient = registerPatient(ledger);
    const nurse = registerPractitioner(ledger, a, ['nurse']);
    const physician = registerPractitioner(ledger, a, ['physician']);
    expectCode(ledger.submit(a.admin, 'identity.deactivate', { did: b.node.did }), ResultCode.NOT_AUTHORIZED);
    expectCode(
      ledger.submit(a.admin, 'identity.deactivate', { did: patient.did }),
      ResultCode.NOT_AUTHORIZED,
    );
    expectCode(
      ledger.submit(otherPatient, 'identity.deactivate', { did: patient.did }),
      ResultCode.NOT_AUTHORIZED,
    );
    expectCode(
      ledger.submit(physician, 'identity.deactivate', { did: nurse.did }),
      ResultCode.NOT_AUTHORIZED,
    );
    expectCode(ledger.submit(a.node, 'identity.deactivate', { did: nurse.did }), ResultCode.NOT_AUTHORIZED);
  });

  test('UNKNOWN_PARTY: the DID must be registered', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    expectCode(
      ledger.submit(a.admin, 'identity.deactivate', { did: makeWallet().did }),
      ResultCode.UNKNOWN_PARTY,
    );
  });

  test('PARTY_DEACTIVATED: a party is deactivated once', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    const nurse = registerPractitioner(ledger, a, ['nurse']);
    expectOk(ledger.submit(nurse, 'identity.deactivate', { did: nurse.did }));
    expectCode(
      ledger.submit(a.admin, 'identity.deactivate', { did: nurse.did }),
      ResultCode.PARTY_DEACTIVATED,
    );
  });
});
