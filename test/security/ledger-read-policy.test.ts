// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * The ledger API is not public (issue #9, finding 5): before, without a token,
 * `GET /ledger/patients/<did>/consents` listed a patient's grantees and scopes and
 * `GET /ledger/blocks` showed which patient had records at which organization, and every access.
 * Each test here is a cell of the read policy (src/node/http/ledger-access.ts) that denies, or
 * the allowed cell beside it, so that a refusal cannot pass by refusing everything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type {
  BlockResponse,
  BlocksResponse,
  ConsentsResponse,
  EmergencyResponse,
  SyncResponse,
  TxResponse,
} from '../../src/wire/index.js';
import { buildEmergencyEnable } from '../../src/client/emergency.js';
import { didFromSigningKey, generateSigningKeyPair } from '../../src/crypto/index.js';
import { txIdOf, type SignedTx } from '../../src/ledger/index.js';
import { buildHttpServer } from '../../src/node/http/index.js';
import { signNodeRequest } from '../../src/node/roaming/index.js';
import { StateKey, type OrgRecord } from '../../src/ledger/index.js';
import { deriveRecordKeySeed, type Wallet } from '../../src/wallet/index.js';
import {
  call,
  commit,
  openTestNode,
  registeredPatient,
  signInThrough,
  type Answer,
  type TestNode,
} from '../auth/fixture.js';
import { envelope, grant } from '../http/fixture.js';

let t: TestNode;
let app: FastifyInstance;
let alice: Wallet;
let bob: Wallet;
let aliceToken: string;
let memberToken: string;
/** Id of Alice's grant transaction (names Alice, signed by Alice). */
let aliceGrantTx: string;
/** Id of Bob's grant transaction. */
let bobGrantTx: string;

const madeUpDid = didFromSigningKey(generateSigningKeyPair().publicKey);
const madeUpTx = 'ab'.repeat(32);

before(async () => {
  t = await openTestNode();
  app = buildHttpServer(t.node);
  await app.ready();
  alice = await registeredPatient(t.node);
  bob = await registeredPatient(t.node);
  aliceGrantTx = await committedId(grant(alice, t.init.orgDid, 'grant-alice'));
  bobGrantTx = await committedId(grant(bob, t.init.orgDid, 'grant-bob'));
  // Alice allows break-glass, her organization as trustee: her emergency answer has a policy.
  const org = t.node.ledger.getState<OrgRecord>(StateKey.org(t.init.orgDid))!;
  const enable = await buildEmergencyEnable({
    patient: alice.did,
    recordKeySeed: deriveRecordKeySeed(alice),
    trustees: [org],
    epoch: 0,
  });
  await commit(t.node, envelope(alice, enable.type, enable.payload));
  aliceToken = (await signInThrough(app, alice)).body.access_token;
  memberToken = (await signInThrough(app, t.admin)).body.access_token;
});

after(async () => {
  await app.close();
  await t.close();
});

async function committedId(envelope: SignedTx): Promise<string> {
  await commit(t.node, envelope);
  return txIdOf(envelope.tx);
}

function get<T = unknown>(
  url: string,
  token?: string,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  return call<T>(app, {
    method: 'GET',
    url,
    headers: { ...headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
  });
}

function assertRefused(answer: Answer, status: 401 | 403, code: string): void {
  assert.equal(
    answer.status,
    status,
    `expected ${status} ${code}, got ${answer.status} ${JSON.stringify(answer.body)}`,
  );
  assert.deepEqual(Object.keys(answer.body as object), ['error'], 'a refusal carries no data');
  assert.equal((answer.body as { error: { code: string } }).error.code, code);
  if (status === 401) assert.match(String(answer.headers['www-authenticate']), /^Bearer realm="roam"/);
}

describe('anonymous visitor: status and block headers only', () => {
  test('status answers', async () => {
    assert.equal((await get('/ledger/status')).status, 200);
  });

  test("a patient's consents: 401 TOKEN_MISSING (was: grantees and scopes)", async () => {
    assertRefused(await get(`/ledger/patients/${alice.did}/consents`), 401, 'TOKEN_MISSING');
  });

  test('blocks: headers without transactions (was: every record anchor and access)', async () => {
    const page = await get<BlocksResponse>('/ledger/blocks?from=0&limit=100');
    assert.equal(page.status, 200);
    assert.ok(page.body.blocks.length > 2);
    for (const block of page.body.blocks) {
      assert.deepEqual(block.txs, []);
      assert.equal(block.redacted, true);
      assert.equal(typeof block.header.txRoot, 'string');
    }
    const text = JSON.stringify(page.body);
    assert.ok(!text.includes(alice.did) && !text.includes(bob.did), 'no patient DID is shown');
    const one = await get<BlockResponse>(`/ledger/blocks/${t.node.ledger.height}`);
    assert.deepEqual(one.body.txs, []);
  });

  for (const [what, url] of [
    ['a transaction', () => `/ledger/tx/${aliceGrantTx}`],
    ['sync', () => '/ledger/sync?from=1'],
    ['the directory', () => '/ledger/orgs'],
    ['an identity', () => `/ledger/identities/${alice.did}`],
    ["a patient's emergency policy and break-glass accesses", () => `/ledger/patients/${alice.did}/emergency`],
  ] as const) {
    test(`${what}: 401 TOKEN_MISSING`, async () => {
      assertRefused(await get(url()), 401, 'TOKEN_MISSING');
    });
  }
});

describe('patient: its own party record, grants, transactions and trail', () => {
  test("its own consents answer; another patient's and a made-up DID get the same 403", async () => {
    const own = await get<ConsentsResponse>(`/ledger/patients/${alice.did}/consents`, aliceToken);
    assert.equal(own.status, 200);
    assert.deepEqual(
      own.body.grants.map((g) => g.id),
      ['grant-alice'],
    );
    const other = await get(`/ledger/patients/${bob.did}/consents`, aliceToken);
    const madeUp = await get(`/ledger/patients/${madeUpDid}/consents`, aliceToken);
    assertRefused(other, 403, 'LEDGER_ACCESS_DENIED');
    assert.deepEqual(other.body, madeUp.body, 'existing and made-up patients answer alike');
    assert.equal(other.status, madeUp.status);
  });

  test("its own emergency policy answers, without shares or escrowed keys; another patient's and a made-up DID get the same 403", async () => {
    const own = await get<EmergencyResponse>(`/ledger/patients/${alice.did}/emergency`, aliceToken);
    assert.equal(own.status, 200);
    assert.equal(own.body.policy?.status, 'enabled');
    assert.deepEqual(own.body.accesses, []);
    const policy = own.body.policy.status === 'enabled' ? own.body.policy : undefined;
    assert.deepEqual(policy?.trustees, [t.init.orgDid]);
    assert.deepEqual(Object.keys(policy?.escrow ?? {}).sort(), ['commitment', 'epoch'], 'the escrowed keys stay out');
    const other = await get(`/ledger/patients/${bob.did}/emergency`, aliceToken);
    const madeUp = await get(`/ledger/patients/${madeUpDid}/emergency`, aliceToken);
    assertRefused(other, 403, 'LEDGER_ACCESS_DENIED');
    assert.deepEqual(other.body, madeUp.body, 'existing and made-up patients answer alike');
  });

  test("its own transaction answers with its proof; another's and a made-up id get the same 403", async () => {
    const own = await get<TxResponse>(`/ledger/tx/${aliceGrantTx}`, aliceToken);
    assert.equal(own.status, 200);
    assert.equal(own.body.tx.tx.signer, alice.did);
    const other = await get(`/ledger/tx/${bobGrantTx}`, aliceToken);
    const madeUp = await get(`/ledger/tx/${madeUpTx}`, aliceToken);
    assertRefused(other, 403, 'LEDGER_ACCESS_DENIED');
    assert.deepEqual(other.body, madeUp.body);
  });

  test('blocks show only its own transactions', async () => {
    const page = await get<BlocksResponse>('/ledger/blocks?from=0&limit=100', aliceToken);
    const shown = page.body.blocks.flatMap((b) => b.txs.map((tx) => tx.id));
    assert.ok(shown.includes(aliceGrantTx));
    assert.ok(!shown.includes(bobGrantTx));
    assert.ok(!JSON.stringify(page.body).includes(bob.did), "no other patient's DID");
  });

  test("identities: itself and the organization's parties; another patient and a made-up DID get the same 403", async () => {
    assert.equal((await get(`/ledger/identities/${alice.did}`, aliceToken)).status, 200);
    assert.equal((await get(`/ledger/identities/${t.admin.did}`, aliceToken)).status, 200);
    assert.equal(
      (await get(`/ledger/identities/${encodeURIComponent(t.init.orgDid)}`, aliceToken)).status,
      200,
    );
    const other = await get(`/ledger/identities/${bob.did}`, aliceToken);
    const madeUp = await get(`/ledger/identities/${madeUpDid}`, aliceToken);
    assertRefused(other, 403, 'LEDGER_ACCESS_DENIED');
    assert.deepEqual(other.body, madeUp.body);
  });

  test('the directory answers (a patient chooses grantees from it)', async () => {
    assert.equal((await get('/ledger/orgs', aliceToken)).status, 200);
  });

  test('sync: 403 (whole blocks are for members)', async () => {
    assertRefused(await get('/ledger/sync?from=1', aliceToken), 403, 'LEDGER_ACCESS_DENIED');
  });
});

describe('members: practitioners and admins of member organizations, member nodes', () => {
  test("an admin reads any patient's consents, whole blocks and transactions", async () => {
    assert.equal((await get(`/ledger/patients/${bob.did}/consents`, memberToken)).status, 200);
    const emergency = await get<EmergencyResponse>(`/ledger/patients/${bob.did}/emergency`, memberToken);
    assert.equal(emergency.status, 200);
    assert.deepEqual(emergency.body, { policy: null, accesses: [] });
    assert.equal((await get(`/ledger/tx/${bobGrantTx}`, memberToken)).status, 200);
    const page = await get<BlocksResponse>('/ledger/blocks?from=0&limit=100', memberToken);
    assert.ok(page.body.blocks.every((b) => b.redacted === undefined));
    assert.ok(page.body.blocks.some((b) => b.txs.some((tx) => tx.id === bobGrantTx)));
  });

  test('a member node syncs with a signed node request', async () => {
    const path = '/ledger/sync?from=1&limit=5';
    const { nodeDid, node } = t.node.config.keys;
    const headers = signNodeRequest({
      method: 'GET',
      path,
      body: '',
      node: nodeDid,
      secretKey: node.secretKey,
      audience: nodeDid,
    });
    const answer = await get<SyncResponse>(path, undefined, headers);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.ok(answer.body.blocks.length > 0);
  });

  test('a node request signed by a key that is no member node: 401 NODE_UNKNOWN; a tampered one: 401', async () => {
    const path = '/ledger/sync?from=1';
    const stranger = generateSigningKeyPair();
    const forged = signNodeRequest({
      method: 'GET',
      path,
      body: '',
      node: didFromSigningKey(stranger.publicKey),
      secretKey: stranger.secretKey,
      audience: t.node.did,
    });
    const refused = await get(path, undefined, forged);
    assert.equal(refused.status, 401);
    assert.equal((refused.body as { error: { code: string } }).error.code, 'NODE_UNKNOWN');
    const { nodeDid, node } = t.node.config.keys;
    const signedForOtherPath = signNodeRequest({
      method: 'GET',
      path: '/ledger/sync?from=2',
      body: '',
      node: nodeDid,
      secretKey: node.secretKey,
      audience: nodeDid,
    });
    const tampered = await get(path, undefined, signedForOtherPath);
    assert.equal(tampered.status, 401);
    assert.equal((tampered.body as { error: { code: string } }).error.code, 'NODE_SIGNATURE_INVALID');
  });

  test('a presented but invalid token is refused, not read as anonymous', async () => {
    assertRefused(await get('/ledger/blocks?from=0', `${memberToken}x`), 401, 'TOKEN_INVALID');
  });
});
