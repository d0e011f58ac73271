// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { toBase64Url } from '../../crypto/index.js';
import { createWallet } from '../../wallet/index.js';
import { scrubLogText } from './log-hygiene.js';

describe('scrubLogText', () => {
  test('removes DIDs, tokens and long encoded values; keeps the rest of the message', () => {
    const did = createWallet('patient').wallet.did;
    const jwt = `${toBase64Url(randomBytes(20))}.${toBase64Url(randomBytes(40))}.${toBase64Url(randomBytes(64))}`;
    const key = toBase64Url(randomBytes(32));
    const hex = randomBytes(32).toString('hex');
    const text = `patient ${did} refused: Authorization: Bearer ${jwt}; key ${key}; hash ${hex}; at height 42`;
    const scrubbed = scrubLogText(text);
    for (const secret of [did, jwt, key, hex, did.slice(8)])
      assert.ok(!scrubbed.includes(secret), `${secret.slice(0, 16)}… left in: ${scrubbed}`);
    assert.match(
      scrubbed,
      /^patient did:… refused: Authorization: Bearer <token>; key <redacted>; hash <redacted>; at height 42$/,
    );
  });

  test('leaves ordinary operational messages alone', () => {
    for (const line of [
      'waiting for JetStream: connection refused',
      'caught up from peers to height 1200 in 3.2 s',
      'request failed',
    ]) {
      assert.equal(scrubLogText(line), line);
    }
  });
});
