// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * Proposals other than admission (`gov.proposal.open`): suspending, reinstating and expelling a
 * member organization, rotating an organization's or a node's keys; and the per-organization
 * node cap of `gov.node.register`. The real contracts on the in-memory harness.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResultCode } from '../ledger/codes.js';
import { StateKey } from '../ledger/keys.js';
import type { OrgRecord } from '../ledger/types.js';
import { findCoveringGrant, validateGenesis, type ProposalOpenPayload, type ProposalRecord } from './index.js';
import {
  TestLedger,
  createTestNetwork,
  expectCode,
  expectOk,
  makeGenesis,
  makeOrg,
  makeWallet,
  randomKey,
  registerPatient,
  registerPractitioner,
  type TestOrg,
} from './testing.js';

let proposalCount = 0;
function nextProposalId(): string {
  return `proposal-${String(++proposalCount).padStart(4, '0')}`;
}

/** Three founding organizations, quorum 2/3. */
function threeOrgs(): { ledger: TestLedger; a: TestOrg; b: TestOrg; c: TestOrg } {
  const { ledger, orgs } = createTestNetwork({ orgs: 3 });
  const [a, b, c] = orgs;
  assert.ok(a && b && c);
  return { ledger, a, b, c };
}

type OpenBody = ProposalOpenPayload extends infer P ? (P extends unknown ? Omit<P, 'proposalId'> : never) : never;

/** Opens a proposal signed by `by`'s admin; returns its id. */
function open(ledger: TestLedger, by: TestOrg, body: OpenBody, code: ResultCode = ResultCode.OK): string {
  const proposalId = nextProposalId();
  expectCode(ledger.submit(by.admin, 'gov.proposal.open', { proposalId, ...body }), code);
  return proposalId;
}

function vote(ledger: TestLedger, by: TestOrg, proposalId: string, approve = true) {
  return ledger.submit(by.admin, 'gov.org.vote', { proposalId, approve });
}

function orgStatus(ledger: TestLedger, org: TestOrg): OrgRecord['status'] | undefined {
  return ledger.get<OrgRecord>(StateKey.org(org.org.did))?.status;
}

function proposalOf(ledger: TestLedger, id: string): ProposalRecord | undefined {
  return ledger.get<ProposalRecord>(StateKey.proposal(id));
}

/** Suspends `target` by the votes of `a` and `b`. */
function suspend(ledger: TestLedger, a: TestOrg, b: TestOrg, target: TestOrg): void {
  const id = open(ledger, a, { kind: 'org.suspend', org: target.org.did });
  expectOk(vote(ledger, b, id));
}

describe('org.suspend', () => {
  test('the organization concerned is not among the voters: 2 of the 2 others accept it', () => {
    const { ledger, a, b, c } = threeOrgs();
    const id = open(ledger, a, { kind: 'org.suspend', org: c.org.did });
    assert.equal(proposalOf(ledger, id)?.status, 'open');
    expectCode(vote(ledger, c, id, false), ResultCode.NOT_AUTHORIZED);
    expectOk(vote(ledger, b, id));
    assert.equal(proposalOf(ledger, id)?.status, 'accepted');
    assert.equal(orgStatus(ledger, c), 'suspended');
    assert.equal(ledger.get<OrgRecord>(StateKey.org(c.org.did))?.statusChangedAt, ledger.time);
  });

  test('NOT_AUTHORIZED: an organization does not propose its own suspension or expulsion', () => {
    const { ledger, c } = threeOrgs();
    open(ledger, c, { kind: 'org.suspend', org: c.org.did }, ResultCode.NOT_AUTHORIZED);
    open(ledger, c, { kind: 'org.expel', org: c.org.did }, ResultCode.NOT_AUTHORIZED);
  });

  test('UNKNOWN_ORG and WRONG_ORG_STATUS: only an active member is suspended', () => {
    const { ledger, a, b, c } = threeOrgs();
    open(ledger, a, { kind: 'org.suspend', org: makeWallet().did }, ResultCode.UNKNOWN_ORG);
    open(ledger, a, { kind: 'org.reinstate', org: c.org.did }, ResultCode.WRONG_ORG_STATUS);
    suspend(ledger, a, b, c);
    open(ledger, a, { kind: 'org.suspend', org: c.org.did }, ResultCode.WRONG_ORG_STATUS);
  });

  test('a suspended organization is no member: its admins, practitioners and nodes cannot act, grants to it are refused and not honoured', () => {
    const { ledger, a, b, c } = threeOrgs();
    const patient = registerPatient(ledger);
    const doctor = registerPractitioner(ledger, c);
    const scope = { resourceTypes: ['Observation'], classes: ['general' as const] };
    expectOk(
      ledger.submit(patient, 'consent.grant', {
        grantId: 'grant-to-c-1',
        grantee: c.org.did,
        scope,
        purpose: 'treatment',
        access: 'write',
        expiresAt: null,
      }),
    );
    const covering = () =>
      findCoveringGrant(ledger, patient.did, c.org.did, 'Observation', 'general', 'read', ledger.time).code;
    assert.equal(covering(), ResultCode.OK);
    suspend(ledger, a, b, c);

    assert.equal(covering(), ResultCode.NO_GRANT);
    expectCode(registerPractitionerRaw(ledger, c), ResultCode.NOT_ORG_ADMIN);
    expectCode(vote(ledger, c, open(ledger, a, { kind: 'org.rotate-key', org: a.org.did, encryptionKey: randomKey() })), ResultCode.NOT_ORG_ADMIN);
    expectCode(
      ledger.submit(doctor, 'consent.request', { requestId: 'request-c-1', patient: patient.did, scope, purpose: 'treatment', access: 'read' }),
      ResultCode.NOT_PRACTITIONER,
    );
    expectCode(
      ledger.submit(c.node, 'records.anchor', {
        recordId: 'record-c-0001',
        version: 1,
        patient: patient.did,
        resourceType: 'Observation',
        class: 'general',
        contentHash: 'a'.repeat(64),
        author: doctor.did,
        epoch: 0,
      }),
      ResultCode.NOT_NODE,
    );
    expectCode(
      ledger.submit(patient, 'consent.grant', { grantId: 'grant-to-c-2', grantee: c.org.did, scope, purpose: 'treatment', access: 'read', expiresAt: null }),
      ResultCode.UNKNOWN_ORG,
    );
  });

  test('org.reinstate restores a suspended organization, and its grants with it', () => {
    const { ledger, a, b, c } = threeOrgs();
    const patient = registerPatient(ledger);
    expectOk(
      ledger.submit(patient, 'consent.grant', {
        grantId: 'grant-to-c-3',
        grantee: c.org.did,
        scope: { resourceTypes: ['*'], classes: ['general'] },
        purpose: 'treatment',
        access: 'read',
        expiresAt: null,
      }),
    );
    suspend(ledger, a, b, c);
    const id = open(ledger, b, { kind: 'org.reinstate', org: c.org.did });
    expectOk(vote(ledger, a, id));
    assert.equal(orgStatus(ledger, c), 'active');
    assert.equal(findCoveringGrant(ledger, patient.did, c.org.did, 'Condition', 'general', 'read', ledger.time).code, ResultCode.OK);
    registerPractitioner(ledger, c);
  });
});

function registerPractitionerRaw(ledger: TestLedger, org: TestOrg) {
  const wallet = makeWallet();
  return ledger.submit(org.admin, 'identity.practitioner.register', {
    practitioner: wallet.did,
    roles: ['physician'],
    encryptionKey: wallet.encryptionKey,
  });
}

describe('org.expel', () => {
  test('expels an active or suspended organization for good and deactivates its nodes', () => {
    const { ledger, a, b, c } = threeOrgs();
    suspend(ledger, a, b, c);
    const id = open(ledger, a, { kind: 'org.expel', org: c.org.did });
    expectOk(vote(ledger, b, id));
    assert.equal(orgStatus(ledger, c), 'expelled');
    assert.equal(ledger.party(c.node.did)?.status, 'deactivated');
    assert.equal(ledger.party(a.node.did)?.status, 'active');
    open(ledger, a, { kind: 'org.reinstate', org: c.org.did }, ResultCode.WRONG_ORG_STATUS);
  });

  test('no-votes of the other members reject it; the organization concerned is not counted', () => {
    const { ledger, a, b, c } = threeOrgs();
    const id = open(ledger, a, { kind: 'org.expel', org: c.org.did });
    expectOk(vote(ledger, b, id, false));
    assert.equal(proposalOf(ledger, id)?.status, 'rejected');
    assert.equal(orgStatus(ledger, c), 'active');
  });
});

describe('org.rotate-key', () => {
  test("replaces the organization's encryption key once accepted; the organization concerned votes too", () => {
    const { ledger, a, b, c } = threeOrgs();
    const newKey = randomKey();
    const id = open(ledger, c, { kind: 'org.rotate-key', org: c.org.did, encryptionKey: newKey });
    assert.equal(ledger.get<OrgRecord>(StateKey.org(c.org.did))?.encryptionKey, c.org.encryptionKey);
    expectOk(vote(ledger, a, id));
    assert.equal(ledger.get<OrgRecord>(StateKey.org(c.org.did))?.encryptionKey, newKey);
    open(ledger, b, { kind: 'org.rotate-key', org: c.org.did, encryptionKey: newKey }, ResultCode.SAME_KEY);
  });
});

describe('node.rotate-key', () => {
  test("replaces a node's signing and encryption keys; its DID stays", () => {
    const { ledger, a, b } = threeOrgs();
    const signingKey = randomKey();
    const encryptionKey = randomKey();
    const id = open(ledger, a, { kind: 'node.rotate-key', node: b.node.did, signingKey, encryptionKey });
    const proposal = proposalOf(ledger, id);
    assert.equal(proposal?.kind === 'node.rotate-key' ? proposal.target : undefined, b.org.did);
    expectOk(vote(ledger, b, id));
    const node = ledger.party(b.node.did);
    assert.equal(node?.signingKey, signingKey);
    assert.equal(node?.encryptionKey, encryptionKey);
    assert.equal(node?.did, b.node.did);
  });

  test('UNKNOWN_PARTY, SAME_KEY, INVALID_PAYLOAD', () => {
    const { ledger, a, b } = threeOrgs();
    open(ledger, a, { kind: 'node.rotate-key', node: b.admin.did, signingKey: randomKey() }, ResultCode.UNKNOWN_PARTY);
    open(ledger, a, { kind: 'node.rotate-key', node: makeWallet().did, signingKey: randomKey() }, ResultCode.UNKNOWN_PARTY);
    const current = ledger.party(b.node.did)?.signingKey;
    assert.ok(current);
    open(ledger, a, { kind: 'node.rotate-key', node: b.node.did, signingKey: current }, ResultCode.SAME_KEY);
    open(ledger, a, { kind: 'node.rotate-key', node: b.node.did }, ResultCode.INVALID_PAYLOAD);
    expectCode(
      ledger.submitRaw(a.admin, 'gov.proposal.open', { proposalId: nextProposalId(), kind: 'org.dissolve', org: b.org.did }),
      ResultCode.INVALID_PAYLOAD,
    );
  });

  test('PARTY_DEACTIVATED on the deciding vote when the node was deactivated meanwhile; the proposal stays open', () => {
    const { ledger, a, b } = threeOrgs();
    const id = open(ledger, a, { kind: 'node.rotate-key', node: b.node.did, encryptionKey: randomKey() });
    expectOk(ledger.submit(b.admin, 'identity.deactivate', { did: b.node.did }));
    expectCode(vote(ledger, b, id), ResultCode.PARTY_DEACTIVATED);
    assert.equal(proposalOf(ledger, id)?.status, 'open');
  });
});

describe('gov.node.register: at most maxNodesPerOrg active nodes per organization', () => {
  function register(ledger: TestLedger, org: TestOrg) {
    const node = makeWallet();
    return ledger.submit(org.admin, 'gov.node.register', {
      node: node.did,
      url: 'https://extra.example.org',
      region: 'eu-west',
      encryptionKey: node.encryptionKey,
    });
  }

  test('NODE_LIMIT_REACHED past the default of 2; a deactivated node frees its place', () => {
    const { ledger, a } = threeOrgs();
    expectOk(register(ledger, a));
    const refused = expectCode(register(ledger, a), ResultCode.NODE_LIMIT_REACHED);
    assert.match(refused.message ?? '', /maxNodesPerOrg 2/);
    expectOk(ledger.submit(a.admin, 'identity.deactivate', { did: a.node.did }));
    expectOk(register(ledger, a));
  });

  test('the genesis parameter sets the cap', () => {
    const a = makeOrg('A');
    const ledger = new TestLedger(makeGenesis([a], { maxNodesPerOrg: 1 }));
    expectCode(register(ledger, a), ResultCode.NODE_LIMIT_REACHED);
  });

  test('a genesis whose founder lists more nodes than the cap is invalid', () => {
    const a = makeOrg('A');
    const genesis = makeGenesis([a]);
    const founder = genesis.founders[0];
    assert.ok(founder);
    const extra = (i: number) => ({ did: makeWallet().did, url: `https://n${i}.example.org`, region: 'eu', encryptionKey: randomKey() });
    const three = { ...genesis, founders: [{ ...founder, nodes: [...founder.nodes, extra(1), extra(2)] }] };
    assert.throws(() => validateGenesis(three), /"genesis\.founders\[0\]\.nodes" lists more than maxNodesPerOrg \(2\) nodes/);
    assert.doesNotThrow(() => validateGenesis({ ...three, params: { ...three.params, maxNodesPerOrg: 3 } }));
    assert.throws(() => validateGenesis({ ...three, params: { ...three.params, maxNodesPerOrg: 0 } }), /"genesis\.params\.maxNodesPerOrg"/);
  });
});
