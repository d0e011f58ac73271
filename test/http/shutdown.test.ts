// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { RoamApiError, RoamClient } from '../../src/client/index.js';
import { startHttp } from '../../src/node/http/index.js';
import { newPatient, openTestNode, registerPatient } from './fixture.js';

test('closing the server ends open commit waits with 503 UNAVAILABLE instead of holding shutdown', async () => {
  // Blocks are cut only after a minute: the wait below cannot end by a commit.
  const t = await openTestNode(60_000);
  try {
    const http = await startHttp(t.node, { host: '127.0.0.1', port: 0 });
    const client = new RoamClient(http.url);
    const waiting = client.submit(registerPatient(newPatient()), { wait: 'commit', timeoutMs: 3_000 }).then(
      () => assert.fail('expected the wait to end with an error'),
      (error: unknown) => error,
    );
    // Time for the submission to reach its commit wait; a loaded machine (the whole suite on 2
    // cores) needed more than 100 ms, and the connection was then closed before any answer.
    await delay(500);
    const started = Date.now();
    await http.close();
    const error = await waiting;
    assert.ok(error instanceof RoamApiError, String(error));
    assert.equal(error.status, 503);
    assert.equal(error.code, 'UNAVAILABLE');
    assert.match(error.message, /shutting down/);
    assert.ok(Date.now() - started < 2_000, 'close did not wait for the commit timeout');
  } finally {
    await t.close();
  }
});
