// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * Floods of sign-in, submission and FHIR requests (issue #9, finding 6): before, 2,000
 * `POST /auth/challenge` in a burst all answered 200, and the global cap of outstanding challenges
 * let one client evict everybody else's. Now each group of routes is limited per principal (or
 * IP), a refused request answers 429 with `Retry-After` and changes nothing, and one DID holds at
 * most a few outstanding challenges.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { ChallengeResponse } from '../../src/wire/index.js';
import { createNodeAuthService, MAX_OUTSTANDING_CHALLENGES_PER_DID } from '../../src/node/auth/index.js';
import { buildHttpServer, DEFAULT_RATE_LIMITS } from '../../src/node/http/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import {
  call,
  openTestNode,
  post,
  registeredPatient,
  signInThrough,
  signMessage,
  type TestNode,
} from '../auth/fixture.js';

const LIMIT = 20;
let t: TestNode;
let app: FastifyInstance;
let patient: Wallet;

before(async () => {
  t = await openTestNode();
  app = buildHttpServer(t.node, {
    rateLimits: {
      auth: { max: LIMIT, windowMs: 60_000 },
      ledgerTx: { max: LIMIT, windowMs: 60_000 },
      fhir: { max: LIMIT, windowMs: 60_000 },
    },
  });
  await app.ready();
  patient = await registeredPatient(t.node);
});

after(async () => {
  await app.close();
  await t.close();
});

describe('rate limits', () => {
  test('a burst of sign-in requests is cut at the limit with 429, Retry-After and RATE_LIMITED', async () => {
    const answers = await Promise.all(
      Array.from({ length: LIMIT * 3 }, () => post(app, '/auth/challenge', { did: patient.did })),
    );
    const ok = answers.filter((a) => a.status === 200).length;
    const limited = answers.filter((a) => a.status === 429);
    assert.equal(ok, LIMIT, 'exactly the limit answered 200');
    assert.equal(limited.length, LIMIT * 2);
    for (const answer of limited) {
      assert.equal((answer.body as { error: { code: string } }).error.code, 'RATE_LIMITED');
      assert.ok(Number(answer.headers['retry-after']) >= 1, 'Retry-After names seconds');
    }
  });

  test('a refused sign-in leaves everything as it was: its challenge is not consumed', async () => {
    const windowMs = 1_000;
    const fresh = buildHttpServer(t.node, { rateLimits: { auth: { max: 2, windowMs } } });
    try {
      await fresh.ready();
      const challenge = await post<ChallengeResponse>(fresh, '/auth/challenge', { did: patient.did });
      assert.equal(challenge.status, 200);
      assert.equal((await post(fresh, '/auth/challenge', { did: t.admin.did })).status, 200);
      const body = {
        did: patient.did,
        nonce: challenge.body.nonce,
        signature: signMessage(patient.signing.secretKey, challenge.body.message),
      };
      const refused = await post(fresh, '/auth/token', body);
      assert.equal(refused.status, 429);
      assert.equal((refused.body as { error: { code: string } }).error.code, 'RATE_LIMITED');
      await new Promise((resolve) => setTimeout(resolve, windowMs + 100));
      const accepted = await post(fresh, '/auth/token', body);
      assert.equal(accepted.status, 200, 'the challenge was still outstanding after the refusal');
    } finally {
      await fresh.close();
    }
  });

  test('a signed-in principal is counted apart from its IP', async () => {
    const limited = buildHttpServer(t.node, { rateLimits: { fhir: { max: 3, windowMs: 60_000 } } });
    try {
      await limited.ready();
      const token = (await signInThrough(limited, patient)).body.access_token;
      const anonymous = await Promise.all(
        Array.from({ length: 4 }, () => call(limited, { method: 'GET', url: '/fhir/R4/metadata' })),
      );
      assert.equal(anonymous.at(-1)?.status, 429, 'the IP spent its allowance');
      const signedIn = await call(limited, {
        method: 'GET',
        url: '/fhir/R4/metadata',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(signedIn.status, 200, 'the principal has its own allowance');
    } finally {
      await limited.close();
    }
  });

  test('on /fhir the refusal is an OperationOutcome (throttled)', async () => {
    const answers = await Promise.all(
      Array.from({ length: LIMIT + 1 }, () => call(app, { method: 'GET', url: '/fhir/R4/metadata' })),
    );
    const refused = answers.find((a) => a.status === 429);
    assert.ok(refused, 'one request past the limit is refused');
    const outcome = refused.body as {
      resourceType: string;
      issue: Array<{ code: string; details: { text: string } }>;
    };
    assert.equal(outcome.resourceType, 'OperationOutcome');
    assert.equal(outcome.issue[0]?.code, 'throttled');
    assert.match(outcome.issue[0]?.details.text ?? '', /^RATE_LIMITED/);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
  });

  test('POST /ledger/tx is limited; ledger reads are not in that group', async () => {
    const answers = await Promise.all(
      Array.from({ length: LIMIT + 1 }, () =>
        call(app, { method: 'POST', url: '/ledger/tx', payload: { txs: [] } }),
      ),
    );
    assert.equal(answers.filter((a) => a.status === 400).length, LIMIT, 'the limit reached the route');
    assert.equal(answers.filter((a) => a.status === 429).length, 1);
    assert.equal((await call(app, { method: 'GET', url: '/ledger/status' })).status, 200);
  });

  test('defaults are on and finite', () => {
    for (const limit of Object.values(DEFAULT_RATE_LIMITS)) {
      assert.ok(Number.isSafeInteger(limit.max) && limit.max > 0);
      assert.ok(Number.isSafeInteger(limit.windowMs) && limit.windowMs > 0);
    }
  });
});

describe('outstanding challenges per DID', () => {
  test('one DID flooding past the global bound does not evict the challenge of another', async () => {
    // A small global bound stands for the 10,000 of a node: the flood is 4 times the bound.
    const auth = createNodeAuthService(t.node, { maxOutstandingChallenges: 50 });
    const other = await registeredPatient(t.node);
    const victim = auth.createChallenge(other.did);
    for (let i = 0; i < 200; i++) auth.createChallenge(patient.did);
    const token = await auth.issueToken({
      did: other.did,
      nonce: victim.nonce,
      signature: signMessage(other.signing.secretKey, victim.message),
    });
    assert.equal(token.did, other.did, "the other party's challenge survived the flood");
  });

  test("a flood of challenges for one DID does not evict another party's challenge", async () => {
    const other = await registeredPatient(t.node);
    const flood = buildHttpServer(t.node, { rateLimits: { auth: { max: 10_000, windowMs: 60_000 } } });
    try {
      await flood.ready();
      const victim = await post<ChallengeResponse>(flood, '/auth/challenge', { did: other.did });
      assert.equal(victim.status, 200);
      const mine: ChallengeResponse[] = [];
      for (let i = 0; i < 200; i++) {
        const answer = await post<ChallengeResponse>(flood, '/auth/challenge', { did: patient.did });
        assert.equal(answer.status, 200);
        mine.push(answer.body);
      }
      const token = await post(flood, '/auth/token', {
        did: other.did,
        nonce: victim.body.nonce,
        signature: signMessage(other.signing.secretKey, victim.body.message),
      });
      assert.equal(token.status, 200, "the other party's challenge survived the flood");
      const oldest = mine[0]!;
      const stale = await post(flood, '/auth/token', {
        did: patient.did,
        nonce: oldest.nonce,
        signature: signMessage(patient.signing.secretKey, oldest.message),
      });
      assert.equal((stale.body as { error: { code: string } }).error.code, 'CHALLENGE_UNKNOWN');
      const newest = mine.at(-MAX_OUTSTANDING_CHALLENGES_PER_DID)!;
      const kept = await post(flood, '/auth/token', {
        did: patient.did,
        nonce: newest.nonce,
        signature: signMessage(patient.signing.secretKey, newest.message),
      });
      assert.equal(kept.status, 200, 'the newest challenges of the flooding DID are kept');
    } finally {
      await flood.close();
    }
  });
});
