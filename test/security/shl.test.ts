/**
 * SMART Health Links against a real node (real SQLite files, the node's HTTP server through
 * `inject`): the passcode's lifetime limit under 20 parallel wrong guesses, expiry, deactivation,
 * `U` links, replayed and expired `location`s, oversized uploads, `P` with `U`, another patient
 * deactivating, malformed input. Each refusal is a clear error that exposes no ciphertext and
 * changes nothing; every link that no longer answers answers the same 404.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { StateKey } from '../../src/ledger/index.js';
import { DataFiles } from '../../src/node/config.js';
import { buildHttpServer } from '../../src/node/http/server.js';
import { HttpError } from '../../src/node/http/errors.js';
import { MAX_SHL_JWE_CHARS, redactShareLinkSecrets, SHL_PASSCODE_ATTEMPTS, ShareLinks } from '../../src/node/shl/index.js';
import { decryptShlFile, encryptShlFile, generateShlKey, parseShlink, ShlErrorCode } from '../../src/shl/index.js';
import { ShareLinkStore } from '../../src/store/index.js';
import type { ShareLinkCreated, ShareLinkListResponse, ShareLinkView } from '../../src/wire/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import { deactivate } from '../auth/fixture.js';
import {
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  waitForAudit,
  type FhirTestNode,
} from '../fhir-api/fixture.js';

const PASSCODE = 'blue-harbour-42';
const RECIPIENT = 'Dr. Ana Ruiz, Hospital del Mar';
const DOCUMENT = JSON.stringify({ resourceType: 'Bundle', type: 'document', id: 'ips-secret-marker' });

interface Created {
  readonly key: string;
  readonly jwe: string;
  readonly url: string;
  /** `/shl/m/<id>` (the path of the manifest URL). */
  readonly path: string;
  readonly id: string;
}

describe('SMART Health Links: limits and refusals against a real node', () => {
  let t: FhirTestNode;
  let app: FastifyInstance;
  let alice: Wallet;
  let aliceToken: string;
  let bobToken: string;
  let doctorToken: string;

  before(async () => {
    t = await openFhirNode();
    app = t.app;
    alice = await registeredPatient(t.node);
    aliceToken = await tokenOf(t, alice);
    bobToken = await tokenOf(t, await registeredPatient(t.node));
    doctorToken = await tokenOf(t, await registeredPractitioner(t));
  });
  after(async () => {
    await t.close();
  });

  /** `POST /shl/links` as it comes. */
  function upload(payload: Record<string, unknown>, token = aliceToken): Promise<LightMyRequestResponse> {
    return app.inject({ method: 'POST', url: '/shl/links', headers: { authorization: `Bearer ${token}` }, payload });
  }

  async function create(body: Record<string, unknown> = {}, token = aliceToken): Promise<Created> {
    const key = generateShlKey();
    const jwe = await encryptShlFile({ key, plaintext: DOCUMENT });
    const res = await upload({ jwe, ...body }, token);
    assert.equal(res.statusCode, 201, res.body);
    const created = res.json<ShareLinkCreated>();
    return { key, jwe, url: created.url, path: new URL(created.url).pathname, id: created.link.id };
  }

  function manifest(path: string, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
    return app.inject({ method: 'POST', url: path, payload: { recipient: RECIPIENT, ...body } });
  }

  async function links(token = aliceToken): Promise<ShareLinkView[]> {
    const res = await app.inject({ method: 'GET', url: '/shl/links', headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.statusCode, 200, res.body);
    return [...res.json<ShareLinkListResponse>().links];
  }

  async function linkOf(id: string): Promise<ShareLinkView> {
    const link = (await links()).find((l) => l.id === id);
    assert.ok(link, `link ${id} is listed`);
    return link;
  }

  /** The one answer of every link that does not answer: 404, the same body, no ciphertext. */
  async function assertGone(res: LightMyRequestResponse | Promise<LightMyRequestResponse>): Promise<void> {
    const answer = await res;
    assert.equal(answer.statusCode, 404, answer.body);
    assert.deepEqual(answer.json(), { error: { code: 'SHL_LINK_NOT_FOUND', message: 'no active SMART Health Link here' } });
  }

  it('20 parallel passcode guesses: exactly the lifetime limit is checked, then the link is gone, even for the right passcode', async () => {
    const link = await create({ flag: 'P', passcode: PASSCODE });
    // 19 wrong guesses and, last, the right passcode: the limit is spent before the right one is checked.
    const guesses = [...Array.from({ length: 19 }, (_, i) => `wrong-guess-${i}`), PASSCODE];
    const answers = await Promise.all(guesses.map((passcode) => manifest(link.path, { passcode })));
    assert.equal(answers.at(-1)?.statusCode, 404, 'the right passcode after the limit opens nothing');
    const refused = answers.filter((a) => a.statusCode === 401);
    const gone = answers.filter((a) => a.statusCode === 404);
    assert.equal(refused.length, SHL_PASSCODE_ATTEMPTS, 'one 401 per lifetime attempt, no more');
    assert.equal(gone.length, 20 - SHL_PASSCODE_ATTEMPTS);
    const remaining = refused.map((a) => a.json<{ remainingAttempts: number }>().remainingAttempts).sort((a, b) => a - b);
    assert.deepEqual(remaining, Array.from({ length: SHL_PASSCODE_ATTEMPTS }, (_, i) => i), 'each attempt counted once');
    for (const answer of refused) {
      assert.equal(answer.json<{ error: { code: string } }>().error.code, 'SHL_PASSCODE_INVALID');
      assert.equal(answer.headers['access-control-allow-origin'], '*', 'a viewer on any origin reads remainingAttempts');
      assert.doesNotMatch(answer.body, new RegExp(link.jwe.slice(-20)));
    }
    await assertGone(manifest(link.path, { passcode: PASSCODE }));
    const view = await linkOf(link.id);
    assert.equal(view.status, 'exhausted');
    assert.equal(view.remainingAttempts, 0);
    assert.equal(view.accesses.filter((a) => a.outcome === 'denied').length, SHL_PASSCODE_ATTEMPTS);
    assert.equal(view.accesses.filter((a) => a.outcome === 'success').length, 0);
  });

  it('a P link: missing passcode is a 401 that spends nothing; the right one gives the manifest and keeps its attempt', async () => {
    const link = await create({ flag: 'P', passcode: PASSCODE });
    const missing = await manifest(link.path, {});
    assert.equal(missing.statusCode, 401);
    assert.equal(missing.json<{ remainingAttempts: number }>().remainingAttempts, SHL_PASSCODE_ATTEMPTS);
    const wrong = await manifest(link.path, { passcode: 'nope' });
    assert.equal(wrong.json<{ remainingAttempts: number }>().remainingAttempts, SHL_PASSCODE_ATTEMPTS - 1);
    const right = await manifest(link.path, { passcode: PASSCODE, embeddedLengthMax: 10_000_000 });
    assert.equal(right.statusCode, 200, right.body);
    const file = right.json<{ files: Array<{ contentType: string; embedded: string }> }>().files[0];
    assert.equal(file?.contentType, 'application/fhir+json');
    assert.equal(new TextDecoder().decode((await decryptShlFile({ key: link.key, jwe: file.embedded })).plaintext), DOCUMENT);
    assert.equal((await linkOf(link.id)).remainingAttempts, SHL_PASSCODE_ATTEMPTS - 1);
  });

  it('expiry: the link answers until exp, then the same 404 as an unknown link', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const link = await create({ exp });
    assert.equal((await manifest(link.path, {})).statusCode, 200);
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 50));
    await assertGone(manifest(link.path, {}));
    await assertGone(manifest(`/shl/m/${'A'.repeat(42)}Q`, {}));
    assert.equal((await linkOf(link.id)).status, 'expired');
    const past = await upload({ jwe: link.jwe, exp: Math.floor(Date.now() / 1000) - 1 });
    assert.equal(past.statusCode, 400);
  });

  it('deactivation: the manifest and an already issued location stop at once', async () => {
    const link = await create();
    const first = await manifest(link.path, { embeddedLengthMax: 0 });
    const location = first.json<{ files: Array<{ location: string }> }>().files[0]?.location ?? '';
    assert.match(location, /\/shl\/file\/[A-Za-z0-9_-]{43}$/);
    const off = await app.inject({ method: 'DELETE', url: `/shl/links/${link.id}`, headers: { authorization: `Bearer ${aliceToken}` } });
    assert.equal(off.statusCode, 200, off.body);
    assert.equal(off.json<ShareLinkView>().status, 'deactivated');
    await assertGone(manifest(link.path, {}));
    await assertGone(app.inject({ method: 'GET', url: new URL(location).pathname }));
  });

  it('a location is single-use and short-lived: a replay and a late fetch answer 404', async () => {
    const link = await create();
    const locationOf = async (): Promise<string> =>
      new URL((await manifest(link.path, { embeddedLengthMax: 0 })).json<{ files: Array<{ location: string }> }>().files[0]?.location ?? '').pathname;
    const once = await locationOf();
    const fetched = await app.inject({ method: 'GET', url: once });
    assert.equal(fetched.statusCode, 200);
    assert.match(String(fetched.headers['content-type']), /^application\/jose/);
    assert.equal(fetched.headers['access-control-allow-origin'], '*');
    assert.equal(fetched.body, link.jwe);
    await assertGone(app.inject({ method: 'GET', url: once }));

    // The same node's links, read with a clock 61 s ahead: a location is valid for at most 60 s.
    const later = await locationOf();
    const store = ShareLinkStore.open(DataFiles.shareLinks(t.dataDir));
    try {
      const late = new ShareLinks({ store, audit: { record: () => undefined }, nodeDid: t.node.did, publicUrl: 'http://x', now: () => Date.now() + 61_000 });
      assert.throws(() => late.file(later.split('/').pop() ?? ''), (error: unknown) => error instanceof HttpError && error.code === 'SHL_LINK_NOT_FOUND');
    } finally {
      store.close();
    }
    await assertGone(app.inject({ method: 'GET', url: later }));
  });

  it('U links answer GET ?recipient= with the JWE; a link without U never does; P with U is refused', async () => {
    const direct = await create({ flag: 'U' });
    const res = await app.inject({ method: 'GET', url: `${direct.path}?recipient=${encodeURIComponent(RECIPIENT)}` });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/jose/);
    assert.equal(new TextDecoder().decode((await decryptShlFile({ key: direct.key, jwe: res.body })).plaintext), DOCUMENT);
    const noRecipient = await app.inject({ method: 'GET', url: direct.path });
    assert.equal(noRecipient.statusCode, 400);
    assert.equal(noRecipient.json<{ error: { code: string } }>().error.code, 'VALIDATION_FAILED');

    const protectedLink = await create({ flag: 'P', passcode: PASSCODE });
    await assertGone(app.inject({ method: 'GET', url: `${protectedLink.path}?recipient=x` }));
    assert.equal((await linkOf(protectedLink.id)).accesses.length, 0, 'the refused GET is no access');

    const before = (await links()).length;
    const both = await upload({ jwe: direct.jwe, flag: 'PU', passcode: PASSCODE });
    assert.equal(both.statusCode, 400);
    assert.equal(both.json<{ error: { code: string } }>().error.code, 'SHL_FLAGS_INVALID');
    assert.equal((await links()).length, before, 'nothing was stored');
  });

  it('an oversized or malformed upload is refused and stores nothing', async () => {
    const before = (await links()).length;
    const key = generateShlKey();
    const jwe = await encryptShlFile({ key, plaintext: DOCUMENT });
    const huge = await upload({ jwe: `${jwe}${'A'.repeat(MAX_SHL_JWE_CHARS + 32 * 1024)}` });
    assert.equal(huge.statusCode, 413);
    assert.equal(huge.json<{ error: { code: string } }>().error.code, 'PAYLOAD_TOO_LARGE');
    for (const [payload, code] of [
      [{ jwe: 'plain text, not encrypted' }, 'SHL_FILE_INVALID'],
      [{ jwe: jwe.replace(/^[^.]+/, Buffer.from('{"alg":"A256KW","enc":"A256GCM"}').toString('base64url')) }, 'SHL_FILE_INVALID'],
      [{ jwe, flag: 'P' }, 'SHL_FLAGS_INVALID'],
      [{ jwe, passcode: PASSCODE }, 'SHL_FLAGS_INVALID'],
      [{ jwe, flag: 'X' }, 'VALIDATION_FAILED'],
      [{ jwe, label: 'x'.repeat(81) }, 'VALIDATION_FAILED'],
    ] as const) {
      const res = await upload(payload);
      assert.equal(res.json<{ error: { code: string } }>().error.code, code, JSON.stringify(payload).slice(0, 80));
      assert.equal(res.statusCode, 400);
    }
    assert.equal((await links()).length, before);
  });

  it("another patient cannot deactivate, replace or list a patient's link: the 404 of an unknown id, nothing changed", async () => {
    const link = await create({ flag: 'L' });
    const asBob = { authorization: `Bearer ${bobToken}` };
    const theirs = await app.inject({ method: 'DELETE', url: `/shl/links/${link.id}`, headers: asBob });
    const unknown = await app.inject({ method: 'DELETE', url: `/shl/links/${crypto.randomUUID()}`, headers: asBob });
    assert.equal(theirs.statusCode, 404);
    assert.deepEqual(theirs.json(), unknown.json());
    const replace = await app.inject({
      method: 'PUT',
      url: `/shl/links/${link.id}/file`,
      headers: asBob,
      payload: { jwe: await encryptShlFile({ key: generateShlKey(), plaintext: '{}' }) },
    });
    assert.equal(replace.statusCode, 404);
    assert.equal((await links(bobToken)).some((l) => l.id === link.id), false);
    assert.equal((await linkOf(link.id)).status, 'active');
    const still = await manifest(link.path, { embeddedLengthMax: 10_000_000 });
    assert.equal(still.json<{ files: Array<{ embedded: string }> }>().files[0]?.embedded, link.jwe);

    const doctor = await app.inject({ method: 'GET', url: '/shl/links', headers: { authorization: `Bearer ${doctorToken}` } });
    assert.equal(doctor.statusCode, 403);
    assert.equal(doctor.json<{ error: { code: string } }>().error.code, 'PATIENT_ONLY');
    assert.equal((await app.inject({ method: 'GET', url: '/shl/links' })).statusCode, 401);
  });

  it("an L link's file is replaced by its patient (fresh IV required); other links' files are not", async () => {
    const link = await create({ flag: 'L' });
    const put = (jwe: string): Promise<LightMyRequestResponse> =>
      app.inject({ method: 'PUT', url: `/shl/links/${link.id}/file`, headers: { authorization: `Bearer ${aliceToken}` }, payload: { jwe } });
    const reused = await put(link.jwe);
    assert.equal(reused.json<{ error: { code: string } }>().error.code, 'SHL_FILE_INVALID');
    const fresh = await encryptShlFile({ key: link.key, plaintext: '{"resourceType":"Bundle","type":"document","id":"v2"}' });
    assert.equal((await put(fresh)).statusCode, 200);
    const served = await manifest(link.path, { embeddedLengthMax: 10_000_000 });
    assert.equal(served.json<{ files: Array<{ embedded: string }> }>().files[0]?.embedded, fresh);
    const once = await create();
    const notLong = await app.inject({
      method: 'PUT',
      url: `/shl/links/${once.id}/file`,
      headers: { authorization: `Bearer ${aliceToken}` },
      payload: { jwe: fresh },
    });
    assert.equal(notLong.statusCode, 409);
    assert.equal(notLong.json<{ error: { code: string } }>().error.code, 'SHL_NOT_LONG_TERM');
  });

  it('malformed links and requests: clear errors, nothing served', async () => {
    assert.throws(() => parseShlink('shlink:/%%%'), { code: ShlErrorCode.MALFORMED });
    assert.throws(() => parseShlink(`shlink:/${Buffer.from('{"url":"https://x.org/a","key":"k"}').toString('base64url')}`), {
      code: ShlErrorCode.MALFORMED,
    });
    const link = await create();
    await assertGone(manifest('/shl/m/short', {}));
    await assertGone(manifest(`${link.path}x`, {}));
    const noRecipient = await app.inject({ method: 'POST', url: link.path, payload: { passcode: 'x' } });
    assert.equal(noRecipient.statusCode, 400);
    assert.doesNotMatch(noRecipient.body, new RegExp(link.jwe.slice(-20)));
    const notJson = await app.inject({ method: 'POST', url: link.path, headers: { 'content-type': 'application/json' }, payload: '{"recipient":' });
    assert.equal(notJson.statusCode, 400);
    const preflight = await app.inject({ method: 'OPTIONS', url: link.path });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], '*');
    assert.equal((await linkOf(link.id)).accesses.length, 0);
  });

  it('the spec routes are rate-limited per client like the other anonymous routes (429, Retry-After)', async () => {
    const link = await create();
    const limited = buildHttpServer(t.node, { rateLimits: { shl: { max: 3, windowMs: 60_000 } } });
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) {
        answers.push(await limited.inject({ method: 'POST', url: link.path, payload: { recipient: RECIPIENT } }));
      }
      assert.deepEqual(answers.map((a) => a.statusCode), [200, 200, 200, 429]);
      assert.equal(answers[3]?.json<{ error: { code: string } }>().error.code, 'RATE_LIMITED');
      assert.ok(Number(answers[3]?.headers['retry-after']) >= 1);
    } finally {
      await limited.close();
    }
  });

  it("a deactivated patient's links stop answering", async () => {
    const carol = await registeredPatient(t.node);
    const link = await create({}, await tokenOf(t, carol));
    assert.equal((await manifest(link.path, {})).statusCode, 200);
    await deactivate(t.node, carol);
    await assertGone(manifest(link.path, {}));
  });

  it('the secret path segments of manifests and tickets are cut out of logged URLs', async () => {
    const link = await create();
    const segment = link.path.split('/').pop() ?? '';
    assert.equal(redactShareLinkSecrets(link.path), '/shl/m/…');
    assert.equal(redactShareLinkSecrets(`${link.path}?recipient=x`), '/shl/m/…?recipient=x');
    assert.equal(redactShareLinkSecrets(`/shl/file/${segment}`), '/shl/file/…');
    assert.equal(redactShareLinkSecrets('/shl/links'), '/shl/links');
  });

  it('accesses reach the ledger as share-link entries by the node; the recipient stays off the ledger', async () => {
    const link = await create();
    assert.equal((await manifest(link.path, {})).statusCode, 200);
    const entries = await waitForAudit(t, alice.did, (all) => all.some((e) => e.action === 'share-link' && e.outcome === 'success'));
    const shared = entries.filter((e) => e.action === 'share-link');
    assert.ok(shared.every((e) => e.actor === t.node.did && e.patient === alice.did));
    assert.ok(shared.some((e) => e.outcome === 'denied'), 'wrong passcodes are on the trail too');
    const ledgerText = JSON.stringify(t.node.ledger.rangeState(StateKey.auditPrefix(alice.did)));
    assert.doesNotMatch(ledgerText, /Hospital del Mar/);
    assert.ok((await linkOf(link.id)).accesses.some((a) => a.recipient === RECIPIENT && a.kind === 'manifest'));
  });
});
