// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type {
  BatchSubmitResponse,
  BlockResponse,
  BlocksResponse,
  ConsentsResponse,
  IdentityResponse,
  OrgsResponse,
  StatusResponse,
  SubmitAccepted,
  SubmitCommitted,
  TxResponse,
} from '../../src/wire/index.js';
import { verifyTxResponse } from '../../src/client/index.js';
import { canonicalJson, fromBase64Url, toBase64Url } from '../../src/crypto/index.js';
import { blockHash, verifyTxInclusion, type SignedTx } from '../../src/ledger/index.js';
import { testSealedKey } from '../../src/contracts/testing.js';
import { buildHttpServer, MAX_BATCH_TXS } from '../../src/node/http/index.js';
import { signInThrough } from '../auth/fixture.js';
import { envelope, grant, newPatient, openTestNode, registerPatient, type TestNode } from './fixture.js';

let t: TestNode;
let app: FastifyInstance;
/** The organization admin's token: a member of the network reads the whole ledger. */
let memberToken: string;

before(async () => {
  t = await openTestNode();
  app = buildHttpServer(t.node);
  await app.ready();
  memberToken = (await signInThrough(app, t.admin)).body.access_token;
});

after(async () => {
  await app.close();
  await t.close();
});

/** A request; a bare URL is a GET as the organization's admin (the read policy has its own tests in test/security). */
async function call<T = unknown>(
  options: InjectOptions | string,
): Promise<{ status: number; body: T; headers: Record<string, unknown> }> {
  const res = await app.inject(
    typeof options === 'string'
      ? { method: 'GET', url: options, headers: { authorization: `Bearer ${memberToken}` } }
      : options,
  );
  return { status: res.statusCode, body: res.json<T>(), headers: res.headers };
}

function post<T = unknown>(url: string, payload: unknown) {
  return call<T>({ method: 'POST', url, payload: payload as string | object });
}

interface ErrorJson {
  error: { code: string; message: string };
}

function assertError(
  res: { status: number; body: unknown },
  status: number,
  code: string,
  messagePart?: string,
): void {
  const body = res.body as ErrorJson;
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${JSON.stringify(body)}`);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  if (messagePart !== undefined)
    assert.match(body.error.message, new RegExp(messagePart.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
}

/** Head of the ledger, to check that a refused request changed nothing. */
async function head(): Promise<Pick<StatusResponse, 'height' | 'headHash' | 'stateRoot'>> {
  const { status, body } = await call<StatusResponse>('/ledger/status');
  assert.equal(status, 200);
  return { height: body.height, headHash: body.headHash, stateRoot: body.stateRoot };
}

/** Waits past the block timeout and checks that the head (height, hash, state root) is `before`. */
async function assertUnchanged(before: Awaited<ReturnType<typeof head>>): Promise<void> {
  await delay(30);
  assert.deepEqual(await head(), before);
}

async function commit(envelope: SignedTx): Promise<SubmitCommitted> {
  const res = await post<SubmitCommitted>('/ledger/tx?wait=commit', envelope);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

describe('ledger API: reads', () => {
  test('GET /ledger/status describes the chain and this node', async () => {
    const { status, body } = await call<StatusResponse>('/ledger/status');
    assert.equal(status, 200);
    assert.equal(body.chainId, t.init.chainId);
    assert.equal(body.chainId, t.node.ledger.chainId);
    assert.equal(body.genesisHash, t.node.ledger.genesisHash);
    assert.match(body.headHash, /^[0-9a-f]{64}$/);
    assert.equal(body.nodeDid, t.init.nodeDid);
    assert.deepEqual(body.org, { did: t.init.orgDid, name: 'Clinic of Test' });
    assert.equal(body.region, 'eu-west');
    assert.equal(body.url, 'https://clinic.test:8080');
    assert.equal(body.ordering, 'local');
    assert.equal(body.version, '0.1.0');
    assert.equal(typeof body.headTime, 'number');
  });

  test('GET /ledger/orgs lists the founder and its node', async () => {
    const { status, body } = await call<OrgsResponse>('/ledger/orgs');
    assert.equal(status, 200);
    assert.equal(body.orgs.length, 1);
    const org = body.orgs[0]!;
    assert.equal(org.did, t.init.orgDid);
    assert.equal(org.name, 'Clinic of Test');
    assert.equal(org.region, 'eu-west');
    assert.equal(org.status, 'active');
    assert.equal(fromBase64Url(org.encryptionKey).length, 32);
    assert.deepEqual(org.nodes, [
      { did: t.init.nodeDid, url: 'https://clinic.test:8080', region: 'eu-west', status: 'active' },
    ]);
  });

  test('GET /ledger/blocks/0 and /ledger/blocks page through the chain', async () => {
    const zero = await call<BlockResponse>('/ledger/blocks/0');
    assert.equal(zero.status, 200);
    assert.equal(zero.body.header.height, 0);
    assert.equal(blockHash(zero.body.header), zero.body.hash);
    assert.deepEqual(zero.body.txs, []);

    const page = await call<BlocksResponse>('/ledger/blocks?from=0&limit=2');
    assert.equal(page.status, 200);
    assert.ok(page.body.blocks.length >= 1 && page.body.blocks.length <= 2);
    assert.deepEqual(page.body.blocks[0], zero.body);
    const past = await call<BlocksResponse>(`/ledger/blocks?from=${t.node.ledger.height + 1}`);
    assert.deepEqual(past.body, { blocks: [] });
  });

  test('bad or unknown parameters are named', async () => {
    assertError(await call('/ledger/blocks?limit=101'), 400, 'VALIDATION_FAILED', 'query parameter "limit"');
    assertError(await call('/ledger/blocks?from=-1'), 400, 'VALIDATION_FAILED', 'query parameter "from"');
    assertError(await call('/ledger/blocks?form=1'), 400, 'VALIDATION_FAILED', '"form" is not known');
    assertError(await call('/ledger/blocks/abc'), 400, 'VALIDATION_FAILED', 'path parameter "height"');
    assertError(await call('/ledger/blocks/999999'), 404, 'NOT_FOUND', 'block 999999');
    assertError(await call('/ledger/tx/xyz'), 400, 'VALIDATION_FAILED', 'path parameter "id"');
    assertError(await call(`/ledger/tx/${'ab'.repeat(32)}`), 404, 'NOT_FOUND');
    assertError(await call('/ledger/identities/not-a-did'), 400, 'VALIDATION_FAILED', 'path parameter "did"');
    assertError(await call('/ledger/identities/did:key:z6MkUnknownUnknownUnknown'), 404, 'UNKNOWN_DID');
    assertError(await call('/ledger/nothing-here'), 404, 'NOT_FOUND', 'no route GET /ledger/nothing-here');
    assertError(await post('/ledger/tx?wait=soon', {}), 400, 'VALIDATION_FAILED', 'query parameter "wait"');
    assertError(
      await post('/ledger/tx?wait=commit&timeoutMs=0', {}),
      400,
      'VALIDATION_FAILED',
      'query parameter "timeoutMs"',
    );
    assertError(
      await post('/ledger/tx?wait=commit&timeoutMs=120001', {}),
      400,
      'VALIDATION_FAILED',
      '"timeoutMs"',
    );
  });
});

describe('ledger API: submit', () => {
  test('submit with wait=commit, then GET /ledger/tx/:id with a valid inclusion proof', async () => {
    const patient = newPatient();
    const env = registerPatient(patient);
    const committed = await commit(env);
    assert.equal(committed.status, 'committed');
    assert.equal(committed.code, 'OK');
    assert.equal(committed.message, undefined);
    assert.ok(committed.height >= 1);
    assert.equal(committed.index, 0);
    assert.match(committed.id, /^[0-9a-f]{64}$/);

    const { status, body } = await call<TxResponse>(`/ledger/tx/${committed.id}`);
    assert.equal(status, 200);
    assert.equal(body.id, committed.id);
    assert.equal(body.height, committed.height);
    assert.equal(body.code, 'OK');
    assert.deepEqual(body.tx, env);
    assert.equal(blockHash(body.header), body.blockHash);
    assert.ok(verifyTxInclusion(canonicalJson(body.tx), body.proof, body.header));
    assert.ok(verifyTxResponse(body));
    // A changed byte of the envelope no longer proves.
    const forged = { ...body.tx, tx: { ...body.tx.tx, nonce: body.tx.tx.nonce + 'x' } };
    assert.equal(verifyTxInclusion(canonicalJson(forged), body.proof, body.header), false);

    const block = await call<BlockResponse>(`/ledger/blocks/${committed.height}`);
    assert.equal(block.body.hash, body.blockHash);
    assert.deepEqual(block.body.txs[committed.index], { id: committed.id, envelope: env, code: 'OK' });
  });

  test('submit without wait answers 202 accepted; the tx then commits', async () => {
    const res = await post<SubmitAccepted>('/ledger/tx', registerPatient(newPatient()));
    assert.equal(res.status, 202);
    assert.equal(res.body.status, 'accepted');
    const committed = await t.node.waitForCommit(res.body.id, 5000);
    assert.equal(committed.code, 'OK');
  });

  test('a tx committed with a rejection code is still 200, and the body says the code', async () => {
    const patient = newPatient();
    await commit(registerPatient(patient));
    const again = await commit(registerPatient(patient));
    assert.equal(again.status, 'committed');
    assert.equal(again.code, 'ALREADY_REGISTERED');
    assert.match(again.message ?? '', /already registered/);
  });

  test('a batch: accepted and rejected per envelope, then committed with wait', async () => {
    const a = registerPatient(newPatient());
    const b = registerPatient(newPatient());
    const bad = { tx: { ...a.tx, nonce: 12345678 }, sig: a.sig };
    const res = await post<BatchSubmitResponse>('/ledger/tx', { txs: [a, bad, b, a] });
    assert.equal(res.status, 202);
    const [ra, rbad, rb, rdup] = res.body.results;
    assert.equal(res.body.results.length, 4);
    assert.deepEqual(ra && { index: ra.index, status: ra.status }, { index: 0, status: 'accepted' });
    assert.deepEqual(rbad && rbad.status === 'rejected' && [rbad.index, rbad.error.code], [
      1,
      'MALFORMED_TX',
    ]);
    assert.deepEqual(rb && { index: rb.index, status: rb.status }, { index: 2, status: 'accepted' });
    assert.deepEqual(rdup && rdup.status === 'rejected' && [rdup.index, rdup.error.code], [3, 'REPLAY']);

    const c = registerPatient(newPatient());
    const d = registerPatient(newPatient());
    const waited = await post<BatchSubmitResponse>('/ledger/tx?wait=commit&timeoutMs=10000', { txs: [c, d] });
    assert.equal(waited.status, 200);
    for (const [i, result] of waited.body.results.entries()) {
      assert.equal(result.index, i);
      assert.equal(result.status, 'committed');
      if (result.status !== 'committed') continue;
      assert.equal(result.code, 'OK');
      assert.equal(typeof result.height, 'number');
      assert.equal(typeof result.blockIndex, 'number');
      const view = await call<TxResponse>(`/ledger/tx/${result.id}`);
      assert.equal(view.body.index, result.blockIndex);
      assert.ok(verifyTxResponse(view.body));
    }
  });

  test('a commit wait that runs out answers 504 COMMIT_TIMEOUT; the tx still commits', async () => {
    const env = registerPatient(newPatient());
    const res = await post('/ledger/tx?wait=commit&timeoutMs=1', env);
    assertError(res, 504, 'COMMIT_TIMEOUT');
    const ids = (res.body as ErrorJson).error.message.match(/[0-9a-f]{64}/);
    assert.ok(ids);
    assert.equal((await t.node.waitForCommit(ids[0], 5000)).code, 'OK');
  });
});

describe('ledger API: identities and consents', () => {
  test('a patient registers and grants; identities and consents show it', async () => {
    const patient = newPatient();
    await commit(registerPatient(patient));
    // A grant's keys must have a sealed key's shape (the ledger does not open them).
    const sealed = testSealedKey(0);
    const granted = await commit(grant(patient, t.init.orgDid, 'grant-0001', [sealed]));
    assert.equal(granted.code, 'OK', granted.message);
    // A practitioner's (here: the org admin's) access request addressed to the patient.
    const requested = await commit(
      envelope(t.admin, 'consent.request', {
        requestId: 'request-0001',
        patient: patient.did,
        scope: { resourceTypes: ['*'], classes: ['general', 'sensitive'] },
        purpose: 'treatment',
        access: 'read',
      }),
    );
    assert.equal(requested.code, 'OK', requested.message);

    const identity = await call<IdentityResponse>(`/ledger/identities/${patient.did}`);
    assert.equal(identity.status, 200);
    assert.equal(identity.body.kind, 'patient');
    assert.equal(identity.body.did, patient.did);
    assert.equal(identity.body.status, 'active');

    const org = await call<IdentityResponse>(`/ledger/identities/${encodeURIComponent(t.init.orgDid)}`);
    assert.equal(org.status, 200);
    assert.equal(org.body.kind, 'org');
    assert.ok(org.body.kind === 'org' && org.body.name === 'Clinic of Test');

    const admin = await call<IdentityResponse>(`/ledger/identities/${t.admin.did}`);
    assert.ok(admin.body.kind === 'practitioner' && admin.body.roles?.includes('admin'));

    const consents = await call<ConsentsResponse>(`/ledger/patients/${patient.did}/consents`);
    assert.equal(consents.status, 200);
    assert.equal(consents.body.grants.length, 1);
    const g = consents.body.grants[0]!;
    assert.equal(g.id, 'grant-0001');
    assert.equal(g.patient, patient.did);
    assert.equal(g.grantee, t.init.orgDid);
    assert.equal(g.status, 'active');
    assert.equal(g.keyCount, 1);
    assert.equal('keys' in g, false);
    assert.equal(g.txId, granted.id);
    assert.equal(consents.body.requests.length, 1);
    assert.equal(consents.body.requests[0]!.id, 'request-0001');
    assert.equal(consents.body.requests[0]!.status, 'pending');

    assertError(await call(`/ledger/patients/${t.admin.did}/consents`), 404, 'UNKNOWN_PATIENT');
    assertError(await call(`/ledger/patients/${newPatient().did}/consents`), 404, 'UNKNOWN_PATIENT');
  });
});

describe('ledger API: bad input changes nothing', () => {
  async function refused(
    _name: string,
    request: () => Promise<{ status: number; body: unknown }>,
    status: number,
    code: string,
    messagePart?: string,
  ): Promise<void> {
    const before = await head();
    const res = await request();
    assertError(res, status, code, messagePart);
    await assertUnchanged(before);
  }

  test('malformed JSON → 400 MALFORMED_JSON', async () => {
    await refused(
      'malformed',
      () =>
        call({
          method: 'POST',
          url: '/ledger/tx',
          headers: { 'content-type': 'application/json' },
          payload: '{"tx": ',
        }),
      400,
      'MALFORMED_JSON',
    );
    await refused(
      'empty',
      () =>
        call({
          method: 'POST',
          url: '/ledger/tx',
          headers: { 'content-type': 'application/json' },
          payload: '',
        }),
      400,
      'MALFORMED_JSON',
    );
    await refused(
      'proto',
      () =>
        call({
          method: 'POST',
          url: '/ledger/tx',
          headers: { 'content-type': 'application/json' },
          payload: '{"__proto__": {"x": 1}}',
        }),
      400,
      'MALFORMED_JSON',
    );
  });

  test('wrong content type → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const body = JSON.stringify(registerPatient(newPatient()));
    await refused(
      'text/plain',
      () =>
        call({ method: 'POST', url: '/ledger/tx', headers: { 'content-type': 'text/plain' }, payload: body }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'text/plain',
    );
    await refused(
      'none',
      () =>
        call({ method: 'POST', url: '/ledger/tx', payload: body, headers: { 'content-type': undefined } }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  test('body over the limit → 413 PAYLOAD_TOO_LARGE; too many txs → 413 BATCH_TOO_LARGE', async () => {
    const huge = JSON.stringify({ txs: ['x'.repeat(9 * 1024 * 1024)] });
    await refused(
      'huge',
      () =>
        call({
          method: 'POST',
          url: '/ledger/tx',
          headers: { 'content-type': 'application/json' },
          payload: huge,
        }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    const many = { txs: Array.from({ length: MAX_BATCH_TXS + 1 }, () => ({})) };
    await refused('many', () => post('/ledger/tx', many), 413, 'BATCH_TOO_LARGE', String(MAX_BATCH_TXS));
    await refused('not an array', () => post('/ledger/tx', { txs: 'no' }), 400, 'VALIDATION_FAILED', '"txs"');
    await refused('empty batch', () => post('/ledger/tx', { txs: [] }), 400, 'VALIDATION_FAILED', '"txs"');
    await refused(
      'extra field',
      () => post('/ledger/tx', { txs: [], more: 1 }),
      400,
      'VALIDATION_FAILED',
      '"more"',
    );
  });

  test('wrong types → 400 MALFORMED_TX naming the field', async () => {
    const env = registerPatient(newPatient());
    await refused(
      'nonce',
      () => post('/ledger/tx', { tx: { ...env.tx, nonce: 12345678 }, sig: env.sig }),
      400,
      'MALFORMED_TX',
      'tx.nonce',
    );
    await refused('not an object', () => post('/ledger/tx', [env]), 400, 'MALFORMED_TX');
    await refused('no sig', () => post('/ledger/tx', { tx: env.tx }), 400, 'MALFORMED_TX', '"sig"');
  });

  test('a flipped signature byte → 400 BAD_SIGNATURE', async () => {
    const env = registerPatient(newPatient());
    const sig = fromBase64Url(env.sig);
    sig[10] = sig[10]! ^ 0x01;
    await refused(
      'sig',
      () => post('/ledger/tx', { tx: env.tx, sig: toBase64Url(sig) }),
      400,
      'BAD_SIGNATURE',
    );
  });

  test('the same tx twice → 409 REPLAY', async () => {
    const env = registerPatient(newPatient());
    await commit(env);
    await refused('committed', () => post('/ledger/tx', env), 409, 'REPLAY');
    // Also while the first is still pending (admitted, not yet in a block).
    const pending = registerPatient(newPatient());
    const first = await post<SubmitAccepted>('/ledger/tx', pending);
    assert.equal(first.status, 202);
    assertError(await post('/ledger/tx', pending), 409, 'REPLAY');
    await t.node.waitForCommit(first.body.id, 5000);
  });

  test('an unregistered signer sending consent.grant → 403 UNKNOWN_SIGNER', async () => {
    await refused(
      'signer',
      () => post('/ledger/tx', grant(newPatient(), t.init.orgDid, 'grant-unreg-1')),
      403,
      'UNKNOWN_SIGNER',
    );
  });

  test('an unknown tx type → 400 UNKNOWN_TX_TYPE', async () => {
    await refused(
      'type',
      () => post('/ledger/tx', envelope(t.admin, 'identity.patient.adopt', {})),
      400,
      'UNKNOWN_TX_TYPE',
      'identity.patient.adopt',
    );
  });

  test('an expired issuedAt → 400 TX_EXPIRED; one from the future → 400 TX_FROM_FUTURE', async () => {
    const patient = newPatient();
    const payload = { encryptionKey: toBase64Url(patient.encryption.publicKey) };
    const old = envelope(patient, 'identity.patient.register', payload, {
      issuedAt: Date.now() - 24 * 60 * 60 * 1000,
    });
    await refused('expired', () => post('/ledger/tx', old), 400, 'TX_EXPIRED');
    const future = envelope(patient, 'identity.patient.register', payload, {
      issuedAt: Date.now() + 24 * 60 * 60 * 1000,
    });
    await refused('future', () => post('/ledger/tx', future), 400, 'TX_FROM_FUTURE');
  });

  test('the node still answers after all of it', async () => {
    const { status, body } = await call<StatusResponse>('/ledger/status');
    assert.equal(status, 200);
    assert.equal(body.height, t.node.ledger.height);
  });
});
