// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { toBase64Url, signingKeyFromDid } from '../crypto/index.js';
import { ResultCode } from '../ledger/codes.js';
import { StateKey } from '../ledger/keys.js';
import type { GenesisDocument, OrgRecord } from '../ledger/types.js';
import {
  applyGenesis,
  requiredYesVotes,
  tallyVotes,
  validateGenesis,
  type OrgProposePayload,
  type ProposalRecord,
} from './index.js';
import {
  TestLedger,
  createTestNetwork,
  expectCode,
  expectOk,
  makeGenesis,
  makeOrg,
  makeWallet,
  registerPatient,
  registerPractitioner,
  type TestOrg,
} from './testing.js';

function proposal(id: string, newOrg: TestOrg = makeOrg('New')): OrgProposePayload {
  return {
    proposalId: id,
    org: {
      did: newOrg.org.did,
      name: newOrg.name,
      region: 'ap-south',
      encryptionKey: newOrg.org.encryptionKey,
    },
    admin: { did: newOrg.admin.did, encryptionKey: newOrg.admin.encryptionKey },
  };
}

describe('genesis', () => {
  test('writes founders, admins as practitioners with role admin, nodes, and indexes', () => {
    const { ledger, orgs } = createTestNetwork({ orgs: 2 });
    const [a] = orgs;
    assert.ok(a);
    const org = ledger.get<OrgRecord>(StateKey.org(a.org.did));
    assert.deepEqual(org, {
      did: a.org.did,
      name: 'Org0',
      region: 'eu-west',
      encryptionKey: a.org.encryptionKey,
      status: 'active',
      joinedAt: 0,
    });
    assert.deepEqual(ledger.party(a.admin.did), {
      did: a.admin.did,
      kind: 'practitioner',
      roles: ['admin'],
      org: a.org.did,
      signingKey: toBase64Url(signingKeyFromDid(a.admin.did)),
      encryptionKey: a.admin.encryptionKey,
      status: 'active',
      registeredAt: 0,
    });
    assert.deepEqual(ledger.party(a.node.did), {
      did: a.node.did,
      kind: 'node',
      org: a.org.did,
      url: 'https://org0.example.org',
      region: 'eu-west',
      signingKey: toBase64Url(signingKeyFromDid(a.node.did)),
      encryptionKey: a.org.encryptionKey,
      status: 'active',
      registeredAt: 0,
    });
    assert.equal(ledger.get(StateKey.orgPractitioner(a.org.did, a.admin.did)), a.admin.did);
    assert.equal(ledger.get(StateKey.orgNode(a.org.did, a.node.did)), a.node.did);
    assert.equal(ledger.range(StateKey.ORG_PREFIX).length, 2);
  });

  test('rejects an invalid document with a plain Error naming the field', () => {
    const good = makeGenesis([makeOrg('A')]);
    const cases: Array<[unknown, RegExp]> = [
      [{ ...good, format: 'other' }, /"genesis\.format"/],
      [{ ...good, params: { ...good.params, joinQuorum: 0 } }, /"genesis\.params\.joinQuorum"/],
      [{ ...good, params: { ...good.params, joinQuorum: 1.5 } }, /"genesis\.params\.joinQuorum"/],
      [{ ...good, founders: [] }, /"genesis\.founders"/],
      [
        {
          ...good,
          founders: [{ ...good.founders[0], org: { ...good.founders[0]?.org, did: 'did:web:example.org' } }],
        },
        /"genesis\.founders\[0\]\.org\.did" expected an Ed25519 did:key/,
      ],
      [
        {
          ...good,
          founders: [{ ...good.founders[0], admins: [{ did: makeWallet().did, encryptionKey: 'AAAA' }] }],
        },
        /"genesis\.founders\[0\]\.admins\[0\]\.encryptionKey"/,
      ],
      [{ ...good, extra: 1 }, /"genesis\.extra" is not a known field/],
    ];
    for (const [doc, message] of cases) {
      assert.throws(
        () => validateGenesis(doc),
        (error: unknown) => {
          assert.ok(error instanceof Error && !(error.name === 'TxRejected'));
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });

  test('rejects a DID named twice, within the document or already in state', () => {
    const a = makeOrg('A');
    const doc = makeGenesis([a, a]);
    assert.throws(
      () => validateGenesis(doc),
      /"genesis\.founders\[1\]\.org\.did" names an organization twice/,
    );
    const sameNode = makeGenesis([a]);
    const twice: GenesisDocument = {
      ...sameNode,
      founders: sameNode.founders.map((f) => ({ ...f, nodes: [...f.nodes, ...f.nodes] })),
    };
    assert.throws(
      () => validateGenesis(twice),
      /"genesis\.founders\[0\]\.nodes\[1\]\.did" names a party twice/,
    );
    const state = new Map<string, unknown>();
    const ctx = {
      get: <T>(k: string) => state.get(k) as T | undefined,
      put: (k: string, v: unknown) => void state.set(k, v),
    };
    applyGenesis(ctx, sameNode);
    assert.throws(() => applyGenesis(ctx, sameNode), /names an organization twice/);
  });
});

describe('gov.org.propose', () => {
  test('a one-organization network admits the proposed organization at once, with its admin', () => {
    const { ledger, orgs } = createTestNetwork({ orgs: 1 });
    const [a] = orgs;
    assert.ok(a);
    const newOrg = makeOrg('New');
    expectOk(ledger.submit(a.admin, 'gov.org.propose', proposal('proposal-1', newOrg)));
    const stored = ledger.get<ProposalRecord>(StateKey.proposal('proposal-1'));
    assert.equal(stored?.status, 'accepted');
    assert.equal(stored?.proposer, a.org.did);
    assert.deepEqual(stored?.votes, { [a.org.did]: true });
    assert.equal(stored?.closedAt, ledger.time);
    assert.equal(ledger.get<OrgRecord>(StateKey.org(newOrg.org.did))?.joinedAt, ledger.time);
    const admin = ledger.party(newOrg.admin.did);
    assert.equal(admin?.kind, 'practitioner');
    assert.deepEqual(admin?.roles, ['admin']);
    assert.equal(admin?.org, newOrg.org.did);
    assert.equal(ledger.get(StateKey.orgPractitioner(newOrg.org.did, newOrg.admin.did)), newOrg.admin.did);
    // The new admin acts for its organization at once.
    expectOk(
      ledger.submit(newOrg.admin, 'gov.node.register', {
        node: newOrg.node.did,
        url: 'https://new.example.org',
        region: 'ap-south',
        encryptionKey: newOrg.org.encryptionKey,
      }),
    );
  });

  test('with three members and quorum 2/3 the proposal stays open until a second yes-vote', () => {
    const { ledger, orgs } = createTestNetwork({ orgs: 3, joinQuorum: 2 / 3 });
    const [a, b] = orgs;
    assert.ok(a && b);
    const newOrg = makeOrg('New');
    expectOk(ledger.submit(a.admin, 'gov.org.propose', proposal('proposal-1', newOrg)));
    assert.equal(ledger.get<ProposalRecord>(StateKey.proposal('proposal-1'))?.status, 'open');
    assert.equal(ledger.get(StateKey.org(newOrg.org.did)), undefined);
    ledger.nextBlock();
    expectOk(ledger.submit(b.admin, 'gov.org.vote', { proposalId: 'proposal-1', approve: true }));
    assert.equal(ledger.get<ProposalRecord>(StateKey.proposal('proposal-1'))?.status, 'accepted');
    assert.ok(ledger.get(StateKey.org(newOrg.org.did)));
  });

  test('NOT_ORG_ADMIN: a patient, a non-admin practitioner or a node cannot propose', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    const patient = registerPatient(ledger);
    const physician = registerPractitioner(ledger, a, ['physician']);
    for (const signer of [patient, physician, a.node]) {
      expectCode(ledger.submit(signer, 'gov.org.propose', proposal('proposal-1')), ResultCode.NOT_ORG_ADMIN);
    }
  });

  test('PROPOSAL_EXISTS: a proposal id is used once', () => {
    const { ledger, orgs } = createTestNetwork({ orgs: 3 });
    const [a] = orgs;
    assert.ok(a);
    expectOk(ledger.submit(a.admin, 'gov.org.propose', proposal('proposal-1')));
    expectCode(ledger.submit(a.admin, 'gov.org.propose', proposal('proposal-1')), ResultCode.PROPOSAL_EXISTS);
  });

  test('ORG_EXISTS: a member cannot be proposed again', () => {
    const { ledger, orgs } = createTestNetwork({ orgs: 2 });
    const [a, b] = orgs;
    assert.ok(a && b);
    expectCode(ledger.submit(a.admin, 'gov.org.propose', proposal('proposal-1', b)), ResultCode.ORG_EXISTS);
  });

  test('ALREADY_REGISTERED: the proposed admin must not be a party yet', () => {
    const { ledger, orgs } = createTestNetwork({ orgs: 2 });
    const [a] = orgs;
    assert.ok(a);
    const newOrg = makeOrg('New');
    registerPatient(ledger, newOrg.admin);
    expectCode(
      ledger.submit(a.admin, 'gov.org.propose', proposal('proposal-1', newOrg)),
      ResultCode.ALREADY_REGISTERED,
    );
  });

  test('INVALID_PAYLOAD names the bad field', () => {
    const { ledger, orgs } = createTestNetwork({ orgs: 1 });
    const [a] = orgs;
    assert.ok(a);
    const bad = proposal('short');
    const result = expectCode(ledger.submitRaw(a.admin, 'gov.org.propose', bad), ResultCode.INVALID_PAYLOAD);
    assert.equal(result.message, '"payload.proposalId" expected a length >= 8 characters');
    const badName = expectCode(
      ledger.submitRaw(a.admin, 'gov.org.propose', {
        ...proposal('proposal-1'),
        org: { ...proposal('x').org, name: '' },
      }),
      ResultCode.INVALID_PAYLOAD,
    );
    assert.match(badName.message ?? '', /"payload\.org\.name"/);
  });
});

describe('gov.org.vote', () => {
  test('the proposal is rejected once no-votes make acceptance impossible', () => {
    const { ledger, orgs } = createTestNetwork({ orgs: 3, joinQuorum: 1 });
    const [a, b, c] = orgs;
    assert.ok(a && b && c);
    const newOrg = makeOrg('New');
    expectOk(ledger.submit(a.admin, 'gov.org.propose', proposal('proposal-1', newOrg)));
    expectOk(ledger.submit(b.admin, 'gov.org.vote', { proposalId: 'proposal-1', approve: false }));
    const stored = ledger.get<ProposalRecord>(StateKey.proposal('proposal-1'));
    assert.equal(stored?.status, 'rejected');
    assert.deepEqual(stored?.votes, { [a.org.did]: true, [b.org.did]: false });
    assert.equal(ledger.get(StateKey.org(newOrg.org.did)), undefined);
    assert.equal(ledger.party(newOrg.admin.did), undefined);
  });

  test('PROPOSAL_CLOSED: no vote after the proposal is decided', () => {
    const { ledger, orgs } = createTestNetwork({ orgs: 3, joinQuorum: 1 });
    const [a, b, c] = orgs;
    assert.ok(a && b && c);
    expectOk(ledger.submit(a.admin, 'gov.org.propose', proposal('proposal-1')));
    expectOk(ledger.submit(b.admin, 'gov.org.vote', { proposalId: 'proposal-1', approve: false }));
    expectCode(
      ledger.submit(c.admin, 'gov.org.vote', { proposalId: 'proposal-1', approve: true }),
      ResultCode.PROPOSAL_CLOSED,
    );
  });

  test('ALREADY_VOTED: one vote per organization, not per admin', () => {
    const { ledger, orgs } = createTestNetwork({ orgs: 4, joinQuorum: 1 });
    const [a, b] = orgs;
    assert.ok(a && b);
    const secondAdmin = registerPractitioner(ledger, b, ['admin']);
    expectOk(ledger.submit(a.admin, 'gov.org.propose', proposal('proposal-1')));
    expectCode(
      ledger.submit(a.admin, 'gov.org.vote', { proposalId: 'proposal-1', approve: true }),
      ResultCode.ALREADY_VOTED,
    );
    expectOk(ledger.submit(b.admin, 'gov.org.vote', { proposalId: 'proposal-1', approve: true }));
    expectCode(
      ledger.submit(secondAdmin, 'gov.org.vote', { proposalId: 'proposal-1', approve: true }),
      ResultCode.ALREADY_VOTED,
    );
  });

  test('PROPOSAL_NOT_FOUND for an unknown proposal id', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    expectCode(
      ledger.submit(a.admin, 'gov.org.vote', { proposalId: 'no-such-proposal', approve: true }),
      ResultCode.PROPOSAL_NOT_FOUND,
    );
  });

  test('NOT_ORG_ADMIN: only admins of member organizations vote', () => {
    const { ledger, orgs } = createTestNetwork({ orgs: 3 });
    const [a, b] = orgs;
    assert.ok(a && b);
    expectOk(ledger.submit(a.admin, 'gov.org.propose', proposal('proposal-1')));
    const nurse = registerPractitioner(ledger, b, ['nurse']);
    expectCode(
      ledger.submit(nurse, 'gov.org.vote', { proposalId: 'proposal-1', approve: true }),
      ResultCode.NOT_ORG_ADMIN,
    );
  });

  test('ORG_EXISTS on the deciding vote when a competing proposal admitted the org first', () => {
    const { ledger, orgs } = createTestNetwork({ orgs: 3, joinQuorum: 0.5 });
    const [a, b, c] = orgs;
    assert.ok(a && b && c);
    const newOrg = makeOrg('New');
    const otherAdmin = makeWallet();
    expectOk(ledger.submit(a.admin, 'gov.org.propose', proposal('proposal-1', newOrg)));
    expectOk(
      ledger.submit(b.admin, 'gov.org.propose', {
        ...proposal('proposal-2', newOrg),
        admin: { did: otherAdmin.did, encryptionKey: otherAdmin.encryptionKey },
      }),
    );
    expectOk(ledger.submit(c.admin, 'gov.org.vote', { proposalId: 'proposal-2', approve: true }));
    expectCode(
      ledger.submit(c.admin, 'gov.org.vote', { proposalId: 'proposal-1', approve: true }),
      ResultCode.ORG_EXISTS,
    );
    assert.equal(ledger.get<ProposalRecord>(StateKey.proposal('proposal-1'))?.status, 'open');
  });
});

describe('tally', () => {
  test('requiredYesVotes is ceil(quorum × N), without binary rounding surprises, within [1, N]', () => {
    assert.equal(requiredYesVotes(1, 2 / 3), 1);
    assert.equal(requiredYesVotes(3, 2 / 3), 2);
    assert.equal(requiredYesVotes(4, 2 / 3), 3);
    assert.equal(requiredYesVotes(10, 0.7), 7);
    assert.equal(requiredYesVotes(10, 0.51), 6);
    assert.equal(requiredYesVotes(5, 1), 5);
    assert.equal(requiredYesVotes(5, 0.01), 1);
  });

  test('tallyVotes ignores non-members and decides as soon as the outcome is certain', () => {
    const members = ['did:a', 'did:b', 'did:c'];
    assert.equal(tallyVotes(members, { 'did:a': true }, 2 / 3), 'open');
    assert.equal(tallyVotes(members, { 'did:a': true, 'did:x': true }, 2 / 3), 'open');
    assert.equal(tallyVotes(members, { 'did:a': true, 'did:b': true }, 2 / 3), 'accepted');
    assert.equal(tallyVotes(members, { 'did:a': true, 'did:b': false }, 2 / 3), 'open');
    assert.equal(tallyVotes(members, { 'did:a': false, 'did:b': false }, 2 / 3), 'rejected');
  });

  test('tallyVotes is deterministic: independent of the order of members and of votes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.boolean(), { nil: undefined }), { minLength: 1, maxLength: 12 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.integer(),
        (ballot, quorum, shuffleSeed) => {
          const members = ballot.map((_, i) => `did:org:${String(i).padStart(2, '0')}`);
          const votes: Record<string, boolean> = {};
          ballot.forEach((v, i) => {
            if (v !== undefined) votes[members[i]!] = v;
          });
          const shuffled = [...members].sort((x, y) => (hash(x, shuffleSeed) - hash(y, shuffleSeed)) | 0);
          const reversedVotes = Object.fromEntries(Object.entries(votes).reverse());
          const status = tallyVotes(members, votes, quorum);
          assert.equal(tallyVotes(shuffled, reversedVotes, quorum), status);
          const yes = ballot.filter((v) => v === true).length;
          const no = ballot.filter((v) => v === false).length;
          const needed = requiredYesVotes(members.length, quorum);
          assert.equal(
            status,
            yes >= needed ? 'accepted' : members.length - no < needed ? 'rejected' : 'open',
          );
        },
      ),
    );
  });
});

function hash(text: string, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h;
}

describe('gov.node.register', () => {
  test('registers a node of the admin’s organization, with its index', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    const node = makeWallet();
    expectOk(
      ledger.submit(a.admin, 'gov.node.register', {
        node: node.did,
        url: 'https://10.0.0.7:8443/',
        region: 'eu-north',
        encryptionKey: a.org.encryptionKey,
      }),
    );
    const party = ledger.party(node.did);
    assert.equal(party?.kind, 'node');
    assert.equal(party?.org, a.org.did);
    assert.equal(party?.url, 'https://10.0.0.7:8443/');
    assert.equal(party?.registeredAt, ledger.time);
    assert.equal(ledger.get(StateKey.orgNode(a.org.did, node.did)), node.did);
  });

  test('re-registering a node of the same organization moves it (url and region)', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    const before = ledger.party(a.node.did);
    expectOk(
      ledger.submit(a.admin, 'gov.node.register', {
        node: a.node.did,
        url: 'https://moved.example.org',
        region: 'us-east',
        encryptionKey: a.org.encryptionKey,
      }),
    );
    assert.deepEqual(ledger.party(a.node.did), {
      ...before,
      url: 'https://moved.example.org',
      region: 'us-east',
    });
  });

  test('NODE_EXISTS: the DID is another organization’s node or another kind of party', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a, b] = orgs;
    assert.ok(a && b);
    const patient = registerPatient(ledger);
    for (const did of [b.node.did, patient.did, a.admin.did]) {
      expectCode(
        ledger.submit(a.admin, 'gov.node.register', {
          node: did,
          url: 'https://x.example.org',
          region: 'eu',
          encryptionKey: a.org.encryptionKey,
        }),
        ResultCode.NODE_EXISTS,
      );
    }
  });

  test('PARTY_DEACTIVATED: a deactivated node is not re-registered', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    expectOk(ledger.submit(a.admin, 'identity.deactivate', { did: a.node.did }));
    expectCode(
      ledger.submit(a.admin, 'gov.node.register', {
        node: a.node.did,
        url: 'https://x.example.org',
        region: 'eu',
        encryptionKey: a.org.encryptionKey,
      }),
      ResultCode.PARTY_DEACTIVATED,
    );
  });

  test('NOT_ORG_ADMIN: a node cannot register nodes', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    expectCode(
      ledger.submit(a.node, 'gov.node.register', {
        node: makeWallet().did,
        url: 'https://x.example.org',
        region: 'eu',
        encryptionKey: a.org.encryptionKey,
      }),
      ResultCode.NOT_ORG_ADMIN,
    );
  });

  test('INVALID_PAYLOAD: url must be http(s) and at most 2048 characters', () => {
    const { ledger, orgs } = createTestNetwork();
    const [a] = orgs;
    assert.ok(a);
    const base = { node: makeWallet().did, region: 'eu', encryptionKey: a.org.encryptionKey };
    for (const url of [
      'ftp://x.example.org',
      'https://',
      'https://exa mple.org',
      `https://x.example.org/${'a'.repeat(2048)}`,
      'javascript:alert(1)',
    ]) {
      const result = expectCode(
        ledger.submitRaw(a.admin, 'gov.node.register', { ...base, url }),
        ResultCode.INVALID_PAYLOAD,
      );
      assert.match(result.message ?? '', /^"payload\.url"/);
    }
  });
});

describe('harness', () => {
  test('UNKNOWN_SIGNER comes from the runner, before any contract', () => {
    const ledger = new TestLedger(makeGenesis([makeOrg('A')]));
    assert.equal(
      ledger.submit(makeWallet(), 'gov.org.vote', { proposalId: 'proposal-1', approve: true }).code,
      ResultCode.UNKNOWN_SIGNER,
    );
  });
});
