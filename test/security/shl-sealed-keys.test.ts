/**
 * SMART Health Links kept with the wallet, sealed (src/client/share-link-keys.ts), against a real
 * node listening on 127.0.0.1 (real SQLite files): the node never holds a link's key in clear; only
 * the link's patient gets its sealed key, and only their wallet opens it, for that link only; a
 * sealed key moved onto another link does not open; another patient can neither read, replace nor
 * refresh it; a deactivated link is neither refreshed nor resealed; a link made without a sealed
 * key says "QR not available"; a malformed sealed key is refused and nothing changes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { RoamApiError } from '../../src/client/errors.js';
import { ShareLinkKeyError, ShareLinkKeyErrorCode, openLinkSecret } from '../../src/client/share-link-keys.js';
import { syncShareLinks } from '../../src/client/share-link-sync.js';
import { ShareLinkClient } from '../../src/client/share-links.js';
import { DataFiles } from '../../src/node/config.js';
import { ShareLinkStore } from '../../src/store/index.js';
import type { ShareLinkView } from '../../src/wire/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import { openFhirNode, registeredPatient, tokenOf, type FhirTestNode } from '../fhir-api/fixture.js';

const DOCUMENT = { resourceType: 'Bundle', type: 'document', id: 'ips-sealed-marker' };
const DIGEST_A = 'a'.repeat(64);
const DIGEST_B = 'b'.repeat(64);

describe('SMART Health Links: link keys sealed by the wallet', () => {
  let t: FhirTestNode;
  let baseUrl: string;
  let alice: Wallet;
  let bob: Wallet;
  let aliceLinks: ShareLinkClient;
  let bobLinks: ShareLinkClient;
  let aliceToken: string;
  let bobToken: string;

  before(async () => {
    t = await openFhirNode();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    alice = await registeredPatient(t.node);
    bob = await registeredPatient(t.node);
    aliceToken = await tokenOf(t, alice);
    bobToken = await tokenOf(t, bob);
    aliceLinks = new ShareLinkClient({ baseUrl, accessToken: aliceToken, holder: alice });
    bobLinks = new ShareLinkClient({ baseUrl, accessToken: bobToken, holder: bob });
  });
  after(async () => {
    await t.close();
  });

  async function viewOf(client: ShareLinkClient, id: string): Promise<ShareLinkView> {
    const view = (await client.list()).find((l) => l.id === id);
    assert.ok(view !== undefined, `link ${id} is listed`);
    return view;
  }

  function putSealedKey(id: string, sealedKey: unknown, token: string): Promise<Response> {
    return fetch(`${baseUrl}/shl/links/${id}/sealed-key`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sealedKey }),
    });
  }

  it('the node keeps the link sealed (its key is nowhere in shl.sqlite); the wallet rebuilds exactly the link', async () => {
    const created = await aliceLinks.create({ document: DOCUMENT, flags: { longTerm: true }, label: 'Sealed', builtFrom: DIGEST_A });
    const view = await viewOf(aliceLinks, created.view.id);
    assert.match(view.sealedKey ?? '', /^v1\./);
    const rebuilt = await aliceLinks.rebuild(view);
    assert.equal(rebuilt.link, created.link);
    assert.equal(rebuilt.secret.builtFrom, DIGEST_A);
    const file = readFileSync(DataFiles.shareLinks(t.dataDir));
    assert.equal(file.includes(created.key), false, 'the link key is not in the node file');
    assert.equal(file.includes(new URL(rebuilt.secret.url).pathname.split('/').pop() ?? ''), false, 'the manifest secret is not either');
  });

  it('another patient neither sees my sealed keys nor replaces one (the same 404 as an unknown link)', async () => {
    const created = await aliceLinks.create({ document: DOCUMENT, label: 'Mine' });
    const before = await viewOf(aliceLinks, created.view.id);
    assert.equal((await bobLinks.list()).some((l) => l.id === created.view.id || l.sealedKey === before.sealedKey), false);
    const bobsOwn = await bobLinks.create({ document: DOCUMENT });
    const bobsSealed = (await viewOf(bobLinks, bobsOwn.view.id)).sealedKey;
    const onMine = await putSealedKey(created.view.id, bobsSealed, bobToken);
    const onNone = await putSealedKey(crypto.randomUUID(), bobsSealed, bobToken);
    assert.equal(onMine.status, 404);
    assert.deepEqual(await onMine.json(), await onNone.json());
    assert.equal((await viewOf(aliceLinks, created.view.id)).sealedKey, before.sealedKey, 'nothing changed');
    // Even handed my sealed key, another wallet cannot open it.
    await assert.rejects(
      openLinkSecret({ holder: bob, linkId: created.view.id, sealedKey: before.sealedKey }),
      (error: unknown) => error instanceof ShareLinkKeyError && error.code === ShareLinkKeyErrorCode.INVALID,
    );
  });

  it("a sealed key of another link swapped in does not open (it does not show the other link's QR)", async () => {
    const first = await aliceLinks.create({ document: DOCUMENT, label: 'First' });
    const second = await aliceLinks.create({ document: DOCUMENT, label: 'Second' });
    const secondSealed = (await viewOf(aliceLinks, second.view.id)).sealedKey;
    // The patient's own token (or a node that answers what it likes) swaps the second's onto the first.
    assert.equal((await putSealedKey(first.view.id, secondSealed, aliceToken)).status, 200);
    const swapped = await viewOf(aliceLinks, first.view.id);
    assert.equal(swapped.sealedKey, secondSealed);
    await assert.rejects(
      aliceLinks.rebuild(swapped),
      (error: unknown) => error instanceof ShareLinkKeyError && error.code === ShareLinkKeyErrorCode.INVALID,
    );
    // A long-term link with a swapped key is left alone by a sync, not refreshed with the other's key.
    const longTerm = await aliceLinks.create({ document: DOCUMENT, flags: { longTerm: true }, builtFrom: DIGEST_A });
    assert.equal((await putSealedKey(longTerm.view.id, secondSealed, aliceToken)).status, 200);
    const outcomes = await syncShareLinks({
      client: aliceLinks,
      holder: alice,
      currentDigest: DIGEST_B,
      buildDocument: () => Promise.resolve(DOCUMENT),
    });
    assert.equal(outcomes.find((o) => o.id === longTerm.view.id)?.outcome, 'key-invalid');
  });

  it('a refresh by another patient is refused, and a deactivated link is neither refreshed nor resealed', async () => {
    const created = await aliceLinks.create({ document: DOCUMENT, flags: { longTerm: true }, builtFrom: DIGEST_A });
    const view = await viewOf(aliceLinks, created.view.id);
    // Bob's wallet cannot open it; the node refuses his upload whatever key he uses.
    await assert.rejects(bobLinks.refreshSealed({ view, document: DOCUMENT }), ShareLinkKeyError);
    await assert.rejects(
      bobLinks.refresh(view.id, created.key, DOCUMENT),
      (error: unknown) => error instanceof RoamApiError && error.status === 404 && error.code === 'SHL_LINK_NOT_FOUND',
    );
    await aliceLinks.deactivate(view.id);
    await assert.rejects(
      aliceLinks.refreshSealed({ view, document: DOCUMENT, builtFrom: DIGEST_B }),
      (error: unknown) => error instanceof RoamApiError && error.code === 'SHL_LINK_INACTIVE',
    );
    const sealed = (await viewOf(aliceLinks, view.id)).sealedKey;
    assert.equal((await putSealedKey(view.id, sealed, aliceToken)).status, 409);
    const after = await viewOf(aliceLinks, view.id);
    assert.equal(after.sealedKey, sealed);
    assert.equal(after.updatedAt, (await viewOf(aliceLinks, view.id)).updatedAt);
    assert.equal((await aliceLinks.rebuild(after)).secret.builtFrom, DIGEST_A, 'still the first digest');
  });

  it('a malformed or oversized sealed key is refused with a clear code; nothing is stored', async () => {
    const created = await aliceLinks.create({ document: DOCUMENT });
    const sealed = (await viewOf(aliceLinks, created.view.id)).sealedKey;
    for (const bad of ['garbage', `v2.${'A'.repeat(16)}.${'B'.repeat(40)}`, `v1.${'A'.repeat(16)}.${'B'.repeat(5000)}`, 42]) {
      const res = await putSealedKey(created.view.id, bad, aliceToken);
      assert.ok(res.status === 400 || res.status === 413, `status ${res.status}`);
      const body = (await res.json()) as { error: { code: string } };
      assert.match(body.error.code, /^(SHL_SEALED_KEY_INVALID|VALIDATION_FAILED|PAYLOAD_TOO_LARGE)$/);
    }
    assert.equal((await viewOf(aliceLinks, created.view.id)).sealedKey, sealed);
  });

  it('a link made without a sealed key says "QR not available" and is not auto-refreshed', async () => {
    const plain = await new ShareLinkClient({ baseUrl, accessToken: aliceToken }).create({ document: DOCUMENT, flags: { longTerm: true } });
    const view = await viewOf(aliceLinks, plain.view.id);
    assert.equal(view.sealedKey, null);
    await assert.rejects(
      aliceLinks.rebuild(view),
      (error: unknown) => error instanceof ShareLinkKeyError && error.code === ShareLinkKeyErrorCode.NOT_SEALED && /QR not available/.test(error.message),
    );
    const outcomes = await syncShareLinks({ client: aliceLinks, holder: alice, currentDigest: DIGEST_B, buildDocument: () => Promise.resolve(DOCUMENT) });
    assert.equal(outcomes.find((o) => o.id === view.id)?.outcome, 'not-sealed');
  });

  it('a share-link file from before sealed keys opens, its links with no sealed key', () => {
    // An old file: the table without the sealed_key column (what nodes wrote before).
    const path = `${t.dataDir}/old-shl.sqlite`;
    const old = ShareLinkStore.open(path);
    old.close();
    const db = new Database(path);
    db.exec('ALTER TABLE shl_links DROP COLUMN sealed_key');
    db.prepare(
      `INSERT INTO shl_links (id, manifest_hash, patient, flag, label, expires_at, passcode_hash, attempts_left, active, content_type, jwe, created_at, updated_at)
       VALUES ('old', 'h', 'did:key:z', '', NULL, NULL, NULL, NULL, 1, 'application/fhir+json', 'x', 1, 1)`,
    ).run();
    db.close();
    const reopened = ShareLinkStore.open(path);
    assert.equal(reopened.linkById('old')?.sealedKey, null);
    reopened.close();
  });
});
