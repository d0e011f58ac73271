// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * Sign-in through Fastify inject on a real node: challenge → signature → access token →
 * GET /auth/me, and every way it is refused, each with its stable code.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import {
  authMessage,
  type ChallengeResponse,
  type PrincipalResponse,
  type TokenResponse,
} from '../../src/wire/index.js';
import { didFromSigningKey, generateSigningKeyPair, toBase64Url } from '../../src/crypto/index.js';
import { buildHttpServer } from '../../src/node/http/index.js';
import {
  ACCESS_TOKEN_TTL_S,
  ChallengeStore,
  CHALLENGE_TTL_MS,
  keyThumbprint,
  TOKEN_CLOCK_TOLERANCE_S,
} from '../../src/node/auth/index.js';
import { withRotatedSigningKey, type Wallet } from '../../src/wallet/index.js';
import { envelope } from '../http/fixture.js';
import {
  assertError,
  clockApp,
  commit,
  deactivate,
  me,
  openTestNode,
  post,
  registeredPatient,
  signInThrough,
  signMessage,
  type ClockApp,
  type TestNode,
} from './fixture.js';

let t: TestNode;
let app: FastifyInstance;
let patient: Wallet;

before(async () => {
  t = await openTestNode();
  app = buildHttpServer(t.node);
  await app.ready();
  patient = await registeredPatient(t.node);
});

after(async () => {
  await app.close();
  await t.close();
});

/** A token signed by `key` (a KeyObject or JWK-imported key) with the node's claims, altered by `edit`. */
async function tokenSignedWith(
  key: Parameters<SignJWT['sign']>[0],
  claims: { iss?: string; aud?: string; sub?: string; kind?: string; exp?: number; typ?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  // The key claim of a token issued to the patient's current key (the test's patient never rotates).
  const keyClaim = keyThumbprint(toBase64Url(patient.signing.publicKey));
  return new SignJWT({ kind: claims.kind ?? 'patient', roles: [], org: null, key: keyClaim })
    .setProtectedHeader({ alg: 'EdDSA', kid: t.node.did, typ: claims.typ ?? 'at+jwt' })
    .setIssuer(claims.iss ?? t.node.did)
    .setAudience(claims.aud ?? 'roam')
    .setSubject(claims.sub ?? patient.did)
    .setIssuedAt(now)
    .setExpirationTime(claims.exp ?? now + 600)
    .setJti('test-jti')
    .sign(key);
}

function nodeKeyObject() {
  const { publicKey, secretKey } = t.node.config.keys.node;
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(publicKey), d: toBase64Url(secretKey) },
    format: 'jwk',
  });
}

describe('sign-in: the happy path', () => {
  test('challenge → signature → token → /auth/me gives the principal', async () => {
    const challenge = await post<ChallengeResponse>(app, '/auth/challenge', { did: patient.did });
    assert.equal(challenge.status, 200);
    const { nonce, expiresAt, message } = challenge.body;
    assert.match(nonce, /^[A-Za-z0-9_-]{43}$/);
    const ttl = Date.parse(expiresAt) - Date.now();
    assert.ok(ttl > CHALLENGE_TTL_MS - 5_000 && ttl <= CHALLENGE_TTL_MS, `expires in ${ttl} ms`);
    assert.equal(message, `roam-auth-v1\n${t.node.did}\n${patient.did}\n${nonce}`);
    assert.equal(message, authMessage(t.node.did, patient.did, nonce));
    assert.equal(challenge.headers['cache-control'], 'no-store');

    const token = await post<TokenResponse>(app, '/auth/token', {
      did: patient.did,
      nonce,
      signature: signMessage(patient.signing.secretKey, message),
    });
    assert.equal(token.status, 200, JSON.stringify(token.body));
    assert.equal(token.headers['cache-control'], 'no-store');
    const { access_token, ...rest } = token.body;
    assert.deepEqual(rest, {
      token_type: 'Bearer',
      expires_in: 900,
      did: patient.did,
      kind: 'patient',
      roles: [],
      org: null,
    });

    const header = decodeProtectedHeader(access_token);
    assert.deepEqual(header, { alg: 'EdDSA', kid: t.node.did, typ: 'at+jwt' });
    const claims = decodeJwt(access_token);
    assert.equal(claims.iss, t.node.did);
    assert.equal(claims.aud, 'roam');
    assert.equal(claims.sub, patient.did);
    assert.equal(claims['kind'], 'patient');
    assert.deepEqual(claims['roles'], []);
    assert.equal(claims['org'], null);
    assert.equal(claims.exp! - claims.iat!, ACCESS_TOKEN_TTL_S);
    assert.match(String(claims.jti), /^[A-Za-z0-9_-]{22}$/);

    const who = await me<PrincipalResponse>(app, access_token);
    assert.equal(who.status, 200, JSON.stringify(who.body));
    assert.deepEqual(who.body, { did: patient.did, kind: 'patient', roles: [], org: null });
  });

  test('an org admin signs in as a practitioner with its roles and organization', async () => {
    const token = await signInThrough(app, t.admin);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const who = await me<PrincipalResponse>(app, token.body.access_token);
    assert.deepEqual(who.body, {
      did: t.admin.did,
      kind: 'practitioner',
      roles: ['admin'],
      org: t.init.orgDid,
    });
    assert.deepEqual(decodeJwt(token.body.access_token)['roles'], ['admin']);
  });

  test('after a key rotation, only the new key signs in', async () => {
    const party = await registeredPatient(t.node);
    const next = generateSigningKeyPair();
    await commit(
      t.node,
      envelope(party, 'identity.key.rotate', { newSigningKey: toBase64Url(next.publicKey) }),
    );
    assertError(await signInThrough(app, party), 401, 'BAD_SIGNATURE');
    const rotated = withRotatedSigningKey(party, next);
    assert.equal((await signInThrough(app, rotated)).status, 200);
  });
});

describe('sign-in: refusals', () => {
  test('a DID that is not a registered party: UNKNOWN_DID (404)', async () => {
    const stranger = generateSigningKeyPair();
    const res = await post(app, '/auth/challenge', { did: didFromSigningKey(stranger.publicKey) });
    assertError(res, 404, 'UNKNOWN_DID');
    // The organization itself is on the ledger but is not a party that signs in.
    assertError(await post(app, '/auth/challenge', { did: t.init.orgDid }), 404, 'UNKNOWN_DID');
  });

  test('malformed bodies: VALIDATION_FAILED naming the field', async () => {
    const cases: Array<[object, RegExp]> = [
      [{}, /"did" is required/],
      [{ did: 'alice' }, /"did" must be a DID/],
      [{ did: patient.did, extra: 1 }, /"extra" is not known/],
    ];
    for (const [body, message] of cases) {
      const res = await post<{ error: { message: string } }>(app, '/auth/challenge', body);
      assertError(res, 400, 'VALIDATION_FAILED');
      assert.match(res.body.error.message, message);
    }
    const bad = await post<{ error: { message: string } }>(app, '/auth/token', {
      did: patient.did,
      nonce: 'short',
      signature: 'x',
    });
    assertError(bad, 400, 'VALIDATION_FAILED');
    assert.match(bad.body.error.message, /"nonce"/);
  });

  test('a reused nonce: CHALLENGE_UNKNOWN', async () => {
    const { body } = await post<ChallengeResponse>(app, '/auth/challenge', { did: patient.did });
    const request = {
      did: patient.did,
      nonce: body.nonce,
      signature: signMessage(patient.signing.secretKey, body.message),
    };
    assert.equal((await post(app, '/auth/token', request)).status, 200);
    assertError(await post(app, '/auth/token', request), 401, 'CHALLENGE_UNKNOWN');
  });

  test('a nonce never issued, or issued for another DID: CHALLENGE_UNKNOWN', async () => {
    const nonce = toBase64Url(generateSigningKeyPair().publicKey);
    const message = authMessage(t.node.did, patient.did, nonce);
    const signature = signMessage(patient.signing.secretKey, message);
    assertError(
      await post(app, '/auth/token', { did: patient.did, nonce, signature }),
      401,
      'CHALLENGE_UNKNOWN',
    );

    const other = await registeredPatient(t.node);
    const { body } = await post<ChallengeResponse>(app, '/auth/challenge', { did: other.did });
    const mine = authMessage(t.node.did, patient.did, body.nonce);
    const res = await post(app, '/auth/token', {
      did: patient.did,
      nonce: body.nonce,
      signature: signMessage(patient.signing.secretKey, mine),
    });
    assertError(res, 401, 'CHALLENGE_UNKNOWN');
  });

  test('a signature by another key: BAD_SIGNATURE, and the challenge is spent', async () => {
    const { body } = await post<ChallengeResponse>(app, '/auth/challenge', { did: patient.did });
    const intruder = generateSigningKeyPair();
    const forged = {
      did: patient.did,
      nonce: body.nonce,
      signature: signMessage(intruder.secretKey, body.message),
    };
    const res = await post(app, '/auth/token', forged);
    assertError(res, 401, 'BAD_SIGNATURE');
    // One attempt per challenge: the right signature now finds no challenge.
    const genuine = { ...forged, signature: signMessage(patient.signing.secretKey, body.message) };
    assertError(await post(app, '/auth/token', genuine), 401, 'CHALLENGE_UNKNOWN');
  });

  test("a signature made for another node's DID: BAD_SIGNATURE", async () => {
    const { body } = await post<ChallengeResponse>(app, '/auth/challenge', { did: patient.did });
    const otherNode = `did:key:z6MkotherNode${'x'.repeat(30)}`;
    const signature = signMessage(patient.signing.secretKey, authMessage(otherNode, patient.did, body.nonce));
    assertError(
      await post(app, '/auth/token', { did: patient.did, nonce: body.nonce, signature }),
      401,
      'BAD_SIGNATURE',
    );
  });
});

describe('access tokens: refusals', () => {
  test('no token, another scheme, or an empty one: TOKEN_MISSING', async () => {
    for (const authorization of [undefined, 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer   ']) {
      const res = await app.inject({
        method: 'GET',
        url: '/auth/me',
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      });
      assertError({ status: res.statusCode, body: res.json(), headers: res.headers }, 401, 'TOKEN_MISSING');
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="roam"');
    }
  });

  test('garbage: TOKEN_INVALID with error="invalid_token"', async () => {
    for (const token of ['abc', 'a.b.c', 'x'.repeat(5000), 'two tokens']) {
      const res = await me(app, token);
      assertError(res, 401, 'TOKEN_INVALID');
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="roam", error="invalid_token"');
    }
  });

  test('a token forged with another key: TOKEN_INVALID', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    assertError(await me(app, await tokenSignedWith(privateKey)), 401, 'TOKEN_INVALID');
  });

  test('a tampered payload (another subject, another kind): TOKEN_INVALID', async () => {
    const other = await registeredPatient(t.node);
    const { body } = await signInThrough(app, other);
    const [head, payload, sig] = body.access_token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
    for (const edit of [
      { sub: patient.did },
      { kind: 'practitioner', roles: ['admin'] },
      { exp: 4_000_000_000 },
    ]) {
      const forged = Buffer.from(JSON.stringify({ ...claims, ...edit })).toString('base64url');
      assertError(await me(app, `${head}.${forged}.${sig}`), 401, 'TOKEN_INVALID');
    }
    assert.equal((await me(app, body.access_token)).status, 200, 'the untampered token still works');
  });

  test('signed by the node but for another audience, issuer or type, or with alg "none": TOKEN_INVALID', async () => {
    const key = nodeKeyObject();
    assert.equal(
      (await me(app, await tokenSignedWith(key))).status,
      200,
      'control: the claims as issued pass',
    );
    assertError(await me(app, await tokenSignedWith(key, { aud: 'fhir' })), 401, 'TOKEN_INVALID');
    assertError(
      await me(app, await tokenSignedWith(key, { iss: 'did:key:z6MkSomeoneElse' })),
      401,
      'TOKEN_INVALID',
    );
    assertError(await me(app, await tokenSignedWith(key, { typ: 'JWT' })), 401, 'TOKEN_INVALID');
    const none = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ iss: t.node.did, aud: 'roam', sub: patient.did, kind: 'patient', exp: 4_000_000_000 }),
    ).toString('base64url')}.`;
    assertError(await me(app, none), 401, 'TOKEN_INVALID');
  });

  test('a token whose kind no longer matches the ledger: IDENTITY_REVOKED', async () => {
    const token = await tokenSignedWith(nodeKeyObject(), { kind: 'practitioner' });
    assertError(await me(app, token), 401, 'IDENTITY_REVOKED');
  });

  test('after identity.deactivate: IDENTITY_REVOKED at once, and no new challenge', async () => {
    const party = await registeredPatient(t.node);
    const { body } = await signInThrough(app, party);
    assert.equal((await me(app, body.access_token)).status, 200);
    await deactivate(t.node, party);
    const res = await me(app, body.access_token);
    assertError(res, 401, 'IDENTITY_REVOKED');
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="roam", error="invalid_token"');
    assertError(await post(app, '/auth/challenge', { did: party.did }), 404, 'UNKNOWN_DID');
  });

  test('a challenge answered after the party was deactivated: UNKNOWN_DID', async () => {
    const party = await registeredPatient(t.node);
    const { body } = await post<ChallengeResponse>(app, '/auth/challenge', { did: party.did });
    await deactivate(t.node, party);
    const res = await post(app, '/auth/token', {
      did: party.did,
      nonce: body.nonce,
      signature: signMessage(party.signing.secretKey, body.message),
    });
    assertError(res, 404, 'UNKNOWN_DID');
  });
});

describe('with a movable clock', () => {
  let c: ClockApp;
  before(async () => {
    c = await clockApp(t.node);
  });
  after(async () => {
    await c.app.close();
  });

  test('a challenge answered after 5 minutes: CHALLENGE_UNKNOWN; just before: accepted', async () => {
    const answer = async (delayMs: number) => {
      const { body } = await post<ChallengeResponse>(c.app, '/auth/challenge', { did: patient.did });
      c.clock.advance(delayMs);
      return post(c.app, '/auth/token', {
        did: patient.did,
        nonce: body.nonce,
        signature: signMessage(patient.signing.secretKey, body.message),
      });
    };
    assert.equal((await answer(CHALLENGE_TTL_MS - 1)).status, 200);
    assertError(await answer(CHALLENGE_TTL_MS), 401, 'CHALLENGE_UNKNOWN');
  });

  test('a token past exp + 5 s: TOKEN_EXPIRED; within the tolerance: accepted', async () => {
    const { body } = await signInThrough(c.app, patient);
    const token = body.access_token;
    c.clock.advance((ACCESS_TOKEN_TTL_S + TOKEN_CLOCK_TOLERANCE_S - 1) * 1000);
    assert.equal((await me(c.app, token)).status, 200);
    c.clock.advance(2000);
    const res = await me(c.app, token);
    assertError(res, 401, 'TOKEN_EXPIRED');
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="roam", error="invalid_token"');
  });

  test('the service straight: verifyAccessToken gives the principal', async () => {
    const { body } = await signInThrough(c.app, patient);
    assert.deepEqual(await c.auth.verifyAccessToken(body.access_token), {
      did: patient.did,
      kind: 'patient',
      roles: [],
      org: null,
    });
    await assert.rejects(c.auth.verifyAccessToken(''), { code: 'TOKEN_MISSING' });
  });

  test('tokens and signatures are never logged', async () => {
    const { body: challenge } = await post<ChallengeResponse>(c.app, '/auth/challenge', { did: patient.did });
    const signature = signMessage(patient.signing.secretKey, challenge.message);
    const { body } = await post<TokenResponse>(c.app, '/auth/token', {
      did: patient.did,
      nonce: challenge.nonce,
      signature,
    });
    await me(c.app, body.access_token);
    await me(c.app, `${body.access_token}x`);
    const logs = c.logs();
    assert.match(logs, /\/auth\/me/, 'the app did log the requests');
    for (const secret of [body.access_token, signature, body.access_token.split('.')[2]!]) {
      assert.ok(!logs.includes(secret), 'a credential appears in the log');
    }
  });
});

describe('the challenge store', () => {
  test('holds at most its bound, dropping the oldest', () => {
    const store = new ChallengeStore({ ttlMs: 60_000, maxOutstanding: 3, maxOutstandingPerDid: 3 });
    const issued = [1, 2, 3, 4].map(() => store.issue('did:key:zA', 1000));
    assert.equal(store.size, 3);
    assert.equal(store.take('did:key:zA', issued[0]!.nonce, 1000), false, 'the oldest was dropped');
    assert.equal(store.take('did:key:zA', issued[3]!.nonce, 1000), true);
    assert.equal(store.take('did:key:zA', issued[3]!.nonce, 1000), false, 'single use');
  });

  test('drops expired challenges when issuing', () => {
    const store = new ChallengeStore({ ttlMs: 1000, maxOutstanding: 10, maxOutstandingPerDid: 10 });
    store.issue('did:key:zA', 0);
    store.issue('did:key:zA', 500);
    store.issue('did:key:zA', 1200);
    assert.equal(store.size, 2);
    assert.equal(store.take('did:key:zA', 'not a nonce', 0), false);
  });
});
