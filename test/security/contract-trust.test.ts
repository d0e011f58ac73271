// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * Issue #9, parts 2, 4, 5 and 7: what a member node (or a deactivated patient's grantees) could do
 * that the contracts now refuse. The real contracts, on the in-memory contract harness.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findCoveringGrant, type RecordAnchorPayload } from '../../src/contracts/index.js';
import {
  createTestNetwork,
  expectOk,
  registerPatient,
  registerPractitioner,
  type TestLedger,
  type TestOrg,
  type TestWallet,
} from '../../src/contracts/testing.js';
import { sha256Hex } from '../../src/crypto/index.js';
import { StateKey, type GrantRecord, type SensitivityClass } from '../../src/ledger/index.js';

interface World {
  ledger: TestLedger;
  a: TestOrg;
  b: TestOrg;
  patient: TestWallet;
}

function world(): World {
  const { ledger, orgs } = createTestNetwork({ orgs: 2 });
  const [a, b] = orgs;
  assert.ok(a && b);
  return { ledger, a, b, patient: registerPatient(ledger) };
}

function grant(w: World, grantId: string, grantee: TestOrg, classes: SensitivityClass[], access: 'read' | 'write') {
  expectOk(
    w.ledger.submit(w.patient, 'consent.grant', {
      grantId,
      grantee: grantee.org.did,
      scope: { resourceTypes: ['*'], classes },
      purpose: 'treatment',
      access,
      expiresAt: null,
    }),
  );
}

function anchor(w: World, overrides: Partial<RecordAnchorPayload>): RecordAnchorPayload {
  return {
    recordId: 'record-0001',
    version: 1,
    patient: w.patient.did,
    resourceType: 'Observation',
    class: 'general',
    contentHash: sha256Hex('ciphertext'),
    author: w.patient.did,
    epoch: 0,
    ...overrides,
  };
}

describe('records.anchor does not take a member node at its word', () => {
  test('author = patient: no anchor at a custodian the patient never granted write to', () => {
    const w = world();
    grant(w, 'grant-read', w.a, ['general'], 'read');
    const result = w.ledger.submit(w.a.node, 'records.anchor', anchor(w, {}));
    assert.equal(result.code, 'SCOPE_NOT_COVERED');
    assert.equal(w.ledger.get(StateKey.record('record-0001')), undefined);
  });

  test("author = patient: no anchor under an epoch older than the patient's current one", () => {
    const w = world();
    grant(w, 'grant-write', w.a, ['general'], 'write');
    grant(w, 'grant-gone', w.b, ['general'], 'read');
    expectOk(w.ledger.submit(w.patient, 'consent.revoke', { grantId: 'grant-gone' }));
    // Epoch 0 keys are what the revoked org B still holds.
    assert.equal(w.ledger.submit(w.a.node, 'records.anchor', anchor(w, { epoch: 0 })).code, 'STALE_EPOCH');
    expectOk(w.ledger.submit(w.a.node, 'records.anchor', anchor(w, { epoch: 1 })));
  });

  test('no sensitivity downgrade by overwrite: changing a sensitive record to general needs write on sensitive', () => {
    const w = world();
    const physician = registerPractitioner(w.ledger, w.a);
    grant(w, 'grant-all-w', w.a, ['general', 'sensitive'], 'write');
    expectOk(w.ledger.submit(w.a.node, 'records.anchor', anchor(w, { author: physician.did, class: 'sensitive' })));
    expectOk(w.ledger.submit(w.patient, 'consent.revoke', { grantId: 'grant-all-w' }));
    grant(w, 'grant-general-w', w.a, ['general'], 'write');
    const downgrade = anchor(w, { author: physician.did, version: 2, class: 'general', epoch: 1 });
    assert.equal(w.ledger.submit(w.a.node, 'records.anchor', downgrade).code, 'GRANT_REVOKED');
    assert.equal(w.ledger.get<{ class: string }>(StateKey.record('record-0001'))?.class, 'sensitive');
  });
});

describe('audit.batch does not let a node write accesses in the name of others', () => {
  test("node A cannot put org B's practitioner, org B's node or another patient in a patient's trail", () => {
    const w = world();
    const foreignDoctor = registerPractitioner(w.ledger, w.b);
    const otherPatient = registerPatient(w.ledger);
    for (const actor of [foreignDoctor.did, w.b.node.did, otherPatient.did]) {
      const result = w.ledger.submit(w.a.node, 'audit.batch', {
        entries: [{ id: 'forged-1', actor, patient: w.patient.did, action: 'read', outcome: 'success', at: 1 }],
      });
      assert.equal(result.code, 'FOREIGN_ACTOR', actor);
    }
    assert.deepEqual(w.ledger.range(StateKey.auditPrefix(w.patient.did)), []);
  });
});

describe('no free text on the chain', () => {
  test('consent.request carries no note', () => {
    const w = world();
    const physician = registerPractitioner(w.ledger, w.a);
    const result = w.ledger.submitRaw(physician, 'consent.request', {
      requestId: 'request-01',
      patient: w.patient.did,
      scope: { resourceTypes: ['*'], classes: ['general'] },
      purpose: 'treatment',
      access: 'read',
      note: 'x'.repeat(500),
    });
    assert.equal(result.code, 'INVALID_PAYLOAD');
    assert.equal(w.ledger.get(StateKey.request('request-01')), undefined);
  });

  test('a grant carries sealed keys and nothing else beside them', () => {
    const w = world();
    const result = w.ledger.submitRaw(w.patient, 'consent.grant', {
      grantId: 'grant-0001',
      grantee: w.a.org.did,
      scope: { resourceTypes: ['*'], classes: ['general'] },
      purpose: 'treatment',
      access: 'read',
      expiresAt: null,
      keys: [{ diagnosis: 'a story about the patient' }],
    });
    assert.equal(result.code, 'INVALID_PAYLOAD');
    assert.equal(w.ledger.get(StateKey.grant('grant-0001')), undefined);
  });

  test('audit entries carry coded purposes only', () => {
    const w = world();
    const result = w.ledger.submitRaw(w.a.node, 'audit.batch', {
      entries: [
        { id: 'e-1', actor: w.a.node.did, patient: w.patient.did, action: 'read', outcome: 'success', at: 1, purpose: 'a story about the patient' },
      ],
    });
    assert.equal(result.code, 'INVALID_PAYLOAD');
  });
});

describe("a deactivated patient's grants end", () => {
  test('deactivation revokes them: the grantee no longer reads, nothing is left to revoke', () => {
    const w = world();
    grant(w, 'grant-live', w.a, ['general'], 'read');
    expectOk(w.ledger.submit(w.patient, 'identity.deactivate', { did: w.patient.did }));
    assert.equal(w.ledger.get<GrantRecord>(StateKey.grant('grant-live'))?.status, 'revoked');
    const access = findCoveringGrant(w.ledger, w.patient.did, w.a.org.did, 'Observation', 'general', 'read', w.ledger.time);
    assert.notEqual(access.code, 'OK');
  });
});
