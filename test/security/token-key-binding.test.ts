// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * An access token is bound to the key that signed in (issue #9, finding 7): before, a token
 * issued before `identity.key.rotate` kept working until it expired, so a stolen key's holder
 * kept access after the patient rotated it away. Now the token names a thumbprint of the key and
 * every request checks it against the party's current key on the ledger.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { generateSigningKeyPair, toBase64Url } from '../../src/crypto/index.js';
import { buildHttpServer } from '../../src/node/http/index.js';
import { withRotatedSigningKey } from '../../src/wallet/index.js';
import { envelope } from '../http/fixture.js';
import {
  assertError,
  call,
  commit,
  me,
  openTestNode,
  registeredPatient,
  signInThrough,
  type TestNode,
} from '../auth/fixture.js';

let t: TestNode;
let app: FastifyInstance;

before(async () => {
  t = await openTestNode();
  app = buildHttpServer(t.node);
  await app.ready();
});

after(async () => {
  await app.close();
  await t.close();
});

test('a token issued before identity.key.rotate is refused with TOKEN_KEY_ROTATED', async () => {
  const patient = await registeredPatient(t.node);
  const before = (await signInThrough(app, patient)).body.access_token;
  assert.equal((await me(app, before)).status, 200, 'the token works before the rotation');

  const next = generateSigningKeyPair();
  await commit(
    t.node,
    envelope(patient, 'identity.key.rotate', { newSigningKey: toBase64Url(next.publicKey) }),
  );

  assertError(await me(app, before), 401, 'TOKEN_KEY_ROTATED');
  const onLedger = await call(app, {
    method: 'GET',
    url: `/ledger/patients/${patient.did}/consents`,
    headers: { authorization: `Bearer ${before}` },
  });
  assertError(onLedger, 401, 'TOKEN_KEY_ROTATED');
  const onFhir = await call<{ resourceType: string; issue: Array<{ details: { text: string } }> }>(app, {
    method: 'GET',
    url: '/fhir/R4/Patient',
    headers: { authorization: `Bearer ${before}` },
  });
  assert.equal(onFhir.status, 401);
  assert.match(onFhir.body.issue[0]?.details.text ?? '', /TOKEN_KEY_ROTATED/);

  const after = (await signInThrough(app, withRotatedSigningKey(patient, next))).body.access_token;
  assert.equal((await me(app, after)).status, 200, 'a token of the new key works');
});
