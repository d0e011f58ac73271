// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { signIn } from '../../src/client/auth.js';
import { RoamApiError, RoamClient, renewingToken, signedTx, verifyTxResponse } from '../../src/client/index.js';
import { canonicalJson, toBase64Url } from '../../src/crypto/index.js';
import { TxType, verifyTxInclusion } from '../../src/ledger/index.js';
import { startHttp, type RunningHttp } from '../../src/node/http/index.js';
import { newPatient, openTestNode, type TestNode } from './fixture.js';

let t: TestNode;
let http: RunningHttp;
let client: RoamClient;

before(async () => {
  t = await openTestNode();
  http = await startHttp(t.node, { host: '127.0.0.1', port: 0 });
  // Ledger reads as the organization's admin, a member of the network (reads the whole ledger).
  const url = http.url;
  client = new RoamClient(url, {
    timeoutMs: 10_000,
    accessToken: renewingToken({ signIn: () => signIn({ baseUrl: url }, t.admin) }),
  });
});

after(async () => {
  await http.close();
  await t.close();
});

/** A URL nothing listens at: a port that was free a moment ago. */
async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

async function rejectsWith(
  promise: Promise<unknown>,
  status: number,
  code: string,
  messagePart?: RegExp,
): Promise<RoamApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RoamApiError, `expected RoamApiError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, status);
    if (messagePart) assert.match(error.message, messagePart);
    return error;
  }
  assert.fail(`expected ${code}`);
}

test('startHttp listens on a free port and names its URL', async () => {
  assert.match(http.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const status = await client.status();
  assert.equal(status.chainId, t.init.chainId);
  assert.equal(status.nodeDid, t.init.nodeDid);
});

test('submit with wait, then getTx with the proof verified client-side', async () => {
  const patient = newPatient();
  const envelope = signedTx(
    patient,
    TxType.PatientRegister,
    { encryptionKey: toBase64Url(patient.encryption.publicKey) },
    { chainId: t.init.chainId },
  );
  assert.equal(envelope.tx.signer, patient.did);
  const committed = await client.submit(envelope, { wait: 'commit', timeoutMs: 10_000 });
  assert.equal(committed.status, 'committed');
  assert.equal(committed.code, 'OK');

  const view = await client.getTx(committed.id);
  assert.deepEqual(view.tx, envelope);
  assert.ok(verifyTxInclusion(canonicalJson(view.tx), view.proof, view.header));
  assert.ok(verifyTxResponse(view));
  assert.equal(verifyTxResponse({ ...view, blockHash: '0'.repeat(64) }), false);
  assert.equal(verifyTxResponse({ ...view, index: view.index + 1 }), false);

  const block = await client.getBlock(committed.height);
  assert.equal(block.hash, view.blockHash);
  const blocks = await client.getBlocks(committed.height, 1);
  assert.deepEqual(blocks.blocks, [block]);

  const identity = await client.identity(patient.did);
  assert.equal(identity.kind, 'patient');
  const consents = await client.consents(patient.did);
  assert.deepEqual(consents, { grants: [], requests: [], rotations: 0 });
  const orgs = await client.orgs();
  assert.equal(orgs.orgs[0]?.did, t.init.orgDid);
});

test('submit without wait, and a batch', async () => {
  const p1 = newPatient();
  const p2 = newPatient();
  const e1 = signedTx(p1, TxType.PatientRegister, { encryptionKey: toBase64Url(p1.encryption.publicKey) }, { chainId: t.init.chainId });
  const e2 = signedTx(p2, TxType.PatientRegister, { encryptionKey: toBase64Url(p2.encryption.publicKey) }, { chainId: t.init.chainId });
  const accepted = await client.submit(e1);
  assert.equal(accepted.status, 'accepted');
  const batch = await client.submit([e1, e2], { wait: 'commit' });
  assert.deepEqual(
    batch.results.map((r) => [
      r.index,
      r.status,
      r.status === 'rejected' ? r.error.code : r.status === 'committed' ? r.code : '',
    ]),
    [
      [0, 'rejected', 'REPLAY'],
      [1, 'committed', 'OK'],
    ],
  );
});

test("an error answer becomes RoamApiError with the node's code and status", async () => {
  const stranger = newPatient();
  const envelope = signedTx(stranger, TxType.ConsentRevoke, { grantId: 'grant-0000001' }, { chainId: t.init.chainId });
  await rejectsWith(client.submit(envelope), 403, 'UNKNOWN_SIGNER');
  await rejectsWith(client.getTx('ab'.repeat(32)), 404, 'NOT_FOUND');
  await rejectsWith(client.identity(stranger.did), 404, 'UNKNOWN_DID');
  await rejectsWith(client.consents(stranger.did), 404, 'UNKNOWN_PATIENT');
  await rejectsWith(client.getBlock(10 ** 9), 404, 'NOT_FOUND');
  // Bad arguments are refused before anything is sent, as a rejected promise.
  await rejectsWith(client.getBlock(-1), 0, 'INVALID_ARGUMENT', /"height"/);
  await rejectsWith(client.getTx('nope'), 0, 'INVALID_ARGUMENT', /"id"/);
  assert.throws(() => new RoamClient('ftp://x'), /"baseUrl"/);
});

test('a connection-refused URL → NETWORK_ERROR naming the URL', async () => {
  const url = await refusedUrl();
  const offline = new RoamClient(url, { timeoutMs: 5_000 });
  await rejectsWith(
    offline.status(),
    0,
    'NETWORK_ERROR',
    new RegExp(`${url.replace(/[.:/]/g, '\\$&')}/ledger/status.*ECONNREFUSED`),
  );
});

test('no answer in time → TIMEOUT naming the URL; a non-JSON answer → BAD_RESPONSE', async () => {
  const hanging: typeof fetch = (_input, init) =>
    new Promise((_resolve, reject) => {
      init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
    });
  await rejectsWith(
    new RoamClient('http://node.test', { fetch: hanging, timeoutMs: 20 }).status(),
    0,
    'TIMEOUT',
    /http:\/\/node\.test\/ledger\/status/,
  );
  const html: typeof fetch = () => Promise.resolve(new Response('<html>bad gateway</html>', { status: 502 }));
  await rejectsWith(new RoamClient('http://node.test', { fetch: html }).orgs(), 502, 'BAD_RESPONSE');
});
