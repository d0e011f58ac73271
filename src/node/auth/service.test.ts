// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { authMessage } from '../../wire/index.js';
import {
  didFromSigningKey,
  generateSigningKeyPair,
  sign,
  toBase64Url,
  utf8ToBytes,
} from '../../crypto/index.js';
import type { PartyRecord } from '../../ledger/index.js';
import { ACCESS_TOKEN_TTL_S, TOKEN_CLOCK_TOLERANCE_S, createAuthService } from './service.js';

/** An auth service over one patient whose record the test changes, on a movable clock. */
async function signedIn() {
  const nodeKey = generateSigningKeyPair();
  const nodeDid = didFromSigningKey(nodeKey.publicKey);
  const key = generateSigningKeyPair();
  const did = didFromSigningKey(key.publicKey);
  let party: PartyRecord | undefined = {
    did,
    kind: 'patient',
    signingKey: toBase64Url(key.publicKey),
    encryptionKey: toBase64Url(generateSigningKeyPair().publicKey),
    status: 'active',
    registeredAt: 0,
  };
  let lookups = 0;
  let now = 1_800_000_000_000;
  const auth = createAuthService({
    nodeDid,
    nodeKey,
    parties: () => {
      lookups++;
      return party;
    },
    now: () => now,
  });
  const { nonce } = auth.createChallenge(did);
  const signature = toBase64Url(sign(key.secretKey, utf8ToBytes(authMessage(nodeDid, did, nonce))));
  const { access_token: token } = await auth.issueToken({ did, nonce, signature });
  return {
    auth,
    token,
    did,
    lookups: () => lookups,
    advance: (ms: number) => (now += ms),
    setParty: (next: PartyRecord | undefined) => (party = next),
    party: () => party!,
  };
}

describe('verifyAccessToken: a verified token is remembered, not trusted blindly', () => {
  test('the party is looked up on the ledger at every request, also for a remembered token', async () => {
    const s = await signedIn();
    const before = s.lookups();
    for (let i = 0; i < 3; i++) assert.equal((await s.auth.verifyAccessToken(s.token)).did, s.did);
    assert.equal(s.lookups() - before, 3);
    s.setParty({ ...s.party(), status: 'deactivated' });
    await assert.rejects(s.auth.verifyAccessToken(s.token), { code: 'IDENTITY_REVOKED' });
  });

  test('a remembered token expires as jose would refuse it: past exp + tolerance', async () => {
    const s = await signedIn();
    await s.auth.verifyAccessToken(s.token);
    s.advance((ACCESS_TOKEN_TTL_S + TOKEN_CLOCK_TOLERANCE_S - 1) * 1000);
    assert.equal((await s.auth.verifyAccessToken(s.token)).did, s.did);
    s.advance(1000);
    await assert.rejects(s.auth.verifyAccessToken(s.token), { code: 'TOKEN_EXPIRED' });
    await assert.rejects(s.auth.verifyAccessToken(s.token), { code: 'TOKEN_EXPIRED' });
  });

  test('another string than the verified token is checked in full: a changed signature fails', async () => {
    const s = await signedIn();
    await s.auth.verifyAccessToken(s.token);
    const [header, payload, signature] = s.token.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    await assert.rejects(s.auth.verifyAccessToken(`${header}.${payload}.${flipped}`), {
      code: 'TOKEN_INVALID',
    });
    await assert.rejects(s.auth.verifyAccessToken(`${header}.${payload}x.${signature}`), {
      code: 'TOKEN_INVALID',
    });
    assert.equal((await s.auth.verifyAccessToken(s.token)).did, s.did);
  });
});
