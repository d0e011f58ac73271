// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * Issue #9, part 3 and 7: what a stranger can make every node store for good, and transactions
 * replayed from another network. Through POST /ledger/tx of a real node (Fastify inject).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { toBase64Url } from '../../src/crypto/index.js';
import { txIdOf, type SignedTx } from '../../src/ledger/index.js';
import { buildHttpServer } from '../../src/node/http/index.js';
import { envelope, newPatient, openTestNode, type TestNode } from '../http/fixture.js';

let home: TestNode;
let elsewhere: TestNode;
let app: FastifyInstance;

before(async () => {
  home = await openTestNode();
  elsewhere = await openTestNode();
  app = buildHttpServer(home.node);
  await app.ready();
});

after(async () => {
  await app.close();
  await home.close();
  await elsewhere.close();
});

async function submit(tx: SignedTx): Promise<{ status: number; code: string | undefined }> {
  const res = await app.inject({ method: 'POST', url: '/ledger/tx?wait=commit', payload: tx });
  const body = res.json<{ code?: string; error?: { code: string } }>();
  return { status: res.statusCode, code: body.error?.code ?? body.code };
}

/** A self-registration for `home`'s chain, with `extra` beside the encryption key. */
function registration(extra: Record<string, unknown> = {}, chainId = home.node.ledger.chainId): SignedTx {
  const patient = newPatient();
  return envelope(
    patient,
    'identity.patient.register',
    { encryptionKey: toBase64Url(patient.encryption.publicKey), ...extra },
    { chainId },
  );
}

/** Commits a good transaction, then checks that none of `refused` reached any block. */
async function assertNeverStored(refused: readonly SignedTx[]): Promise<void> {
  const good = await submit(registration());
  assert.deepEqual(good, { status: 200, code: 'OK' });
  for (const tx of refused) assert.equal(home.node.ledger.getTx(txIdOf(tx.tx)), undefined, 'refused tx is in a block');
}

describe('admission refuses what no contract would take, and stores nothing of it', () => {
  test('a new did:key registering with a 3,000,000-character extra field: 400 TX_TOO_LARGE', async () => {
    const huge = registration({ note: 'x'.repeat(3_000_000) });
    const heightBefore = home.node.ledger.height;
    assert.deepEqual(await submit(huge), { status: 400, code: 'TX_TOO_LARGE' });
    assert.equal(home.node.ledger.height, heightBefore);
    await assertNeverStored([huge]);
  });

  test('a small payload that fails its schema: 400 INVALID_PAYLOAD, not ordered', async () => {
    const extra = registration({ note: 'hello' });
    const badKey = registration({ encryptionKey: 'not a key' });
    assert.deepEqual(await submit(extra), { status: 400, code: 'INVALID_PAYLOAD' });
    assert.deepEqual(await submit(badKey), { status: 400, code: 'INVALID_PAYLOAD' });
    await assertNeverStored([extra, badKey]);
  });

  test('a transaction committed on another network is refused here: 400 WRONG_CHAIN', async () => {
    const other = elsewhere.node.ledger.chainId;
    assert.notEqual(other, home.node.ledger.chainId);
    const theirs = registration({}, other);
    const accepted = await elsewhere.node.submit([theirs]);
    assert.equal(accepted.accepted.length, 1);
    assert.equal((await elsewhere.node.waitForCommit(accepted.accepted[0]!.id, 10_000)).code, 'OK');
    assert.deepEqual(await submit(theirs), { status: 400, code: 'WRONG_CHAIN' });
    await assertNeverStored([theirs]);
  });

  test('forged and replayed transactions get a clear error and leave the ledger as it was', async () => {
    const good = registration();
    const forged: SignedTx = { ...good, sig: toBase64Url(new Uint8Array(64).fill(7)) };
    assert.deepEqual(await submit(forged), { status: 400, code: 'BAD_SIGNATURE' });
    assert.deepEqual(await submit(good), { status: 200, code: 'OK' });
    const height = home.node.ledger.height;
    assert.deepEqual(await submit(good), { status: 409, code: 'REPLAY' });
    assert.equal(home.node.ledger.height, height);
  });
});
