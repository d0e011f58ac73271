/**
 * The web app's routes on a real node: `GET /vault/records` (a patient's own ciphertexts, for its
 * wallet to decrypt; patients only; audited) and the static app at `/` with its SPA fallback,
 * which leaves the API's own 404s alone.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import type { VaultRecordsResponse } from '../../src/wire/index.js';
import type { AuditRecord } from '../../src/contracts/index.js';
import { StateKey } from '../../src/ledger/index.js';
import { fromBase64Url } from '../../src/crypto/index.js';
import { decryptRecordAsync, deriveRecordKey } from '../../src/vault/index.js';
import { deriveRecordKeySeed, type Wallet } from '../../src/wallet/index.js';
import { registerWebRoutes } from '../../src/node/web/web-routes.js';
import {
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  observation,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  type FhirTestNode,
} from '../fhir-api/fixture.js';

describe('GET /vault/records', () => {
  let t: FhirTestNode;
  let patient: Wallet;
  let token: string;

  before(async () => {
    t = await openFhirNode();
    patient = await registeredPatient(t.node);
    await grantOrg(t, patient, { access: 'write', resourceTypes: ['*'] });
    token = await tokenOf(t, patient);
    const patientId = await createPatient(t, token);
    expectStatus(
      await fhir(t, token, 'POST', 'Observation', observation(patientId, '29463-7', '2026-01-02', 71)),
      201,
    );
  });
  after(async () => {
    await t.close();
  });

  it("gives a patient its own records as ciphertext, which its wallet's keys open", async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/vault/records',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<VaultRecordsResponse>();
    assert.equal(body.patient, patient.did);
    assert.deepEqual(body.records.map((r) => r.resourceType).sort(), ['Observation', 'Patient']);
    assert.ok(!res.body.includes('29463-7'), 'no plaintext code in the answer');
    const seed = deriveRecordKeySeed(patient);
    for (const record of body.records) {
      const resource = await decryptRecordAsync({
        recordId: record.recordId,
        version: record.version,
        patient: patient.did,
        class: record.class,
        epoch: record.epoch,
        blob: fromBase64Url(record.blob),
        wrappedDek: record.wrappedDek,
        kek: deriveRecordKey(seed, patient.did, record.class, record.epoch),
        expectedContentHash: record.contentHash,
      });
      assert.equal(resource['resourceType'], record.resourceType);
    }
    const only = await t.app.inject({
      method: 'GET',
      url: '/vault/records?type=Observation',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.deepEqual(
      only.json<VaultRecordsResponse>().records.map((r) => r.resourceType),
      ['Observation'],
    );
  });

  it('records the read on the ledger like any other access', async () => {
    await t.app.inject({
      method: 'GET',
      url: '/vault/records',
      headers: { authorization: `Bearer ${token}` },
    });
    await t.node.fhir.audit.flush();
    const entries = t.node.ledger
      .rangeState<AuditRecord>(StateKey.auditPrefix(patient.did))
      .map(([, e]) => e);
    assert.ok(
      entries.some(
        (e) =>
          e.actor === patient.did &&
          e.action === 'search' &&
          e.outcome === 'success' &&
          e.resourceType === undefined,
      ),
      JSON.stringify(entries),
    );
  });

  it('refuses practitioners (PATIENT_ONLY), missing tokens and bad queries', async () => {
    const practitioner = await registeredPractitioner(t);
    const other = await tokenOf(t, practitioner);
    const denied = await t.app.inject({
      method: 'GET',
      url: '/vault/records',
      headers: { authorization: `Bearer ${other}` },
    });
    assert.equal(denied.statusCode, 403);
    assert.equal(denied.json<{ error: { code: string } }>().error.code, 'PATIENT_ONLY');
    const none = await t.app.inject({ method: 'GET', url: '/vault/records' });
    assert.equal(none.statusCode, 401);
    const bad = await t.app.inject({
      method: 'GET',
      url: '/vault/records?type=../x',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(bad.statusCode, 400);
  });

  it('leaves the API prefixes to their own handlers', async () => {
    const ledger404 = await t.app.inject({ method: 'GET', url: '/ledger/nope' });
    assert.equal(ledger404.json<{ error: { code: string } }>().error.code, 'NOT_FOUND');
    const fhir404 = await t.app.inject({ method: 'GET', url: '/fhir/R4/metadata/x/y/z' });
    assert.equal(fhir404.json<{ resourceType: string }>().resourceType, 'OperationOutcome');
  });
});

describe('the web app at /', () => {
  const root = mkdtempSync(join(tmpdir(), 'roam-webroot-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('says to run npm run build when there is no build', async () => {
    const app = Fastify();
    registerWebRoutes(app, join(root, 'missing'));
    const res = await app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /npm run build/);
    await app.close();
  });

  it('serves index.html at / and the screens, assets by path, and nothing outside the build', async () => {
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Roam</title>');
    writeFileSync(join(root, 'assets', 'app-abc.js'), 'console.log(1)');
    writeFileSync(join(root, '..', 'roam-secret.txt'), 'secret');
    const app = Fastify();
    registerWebRoutes(app, root);
    for (const url of ['/', '/patient', '/provider', '/provider/anything', '/explorer']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.match(String(res.headers['content-security-policy']), /default-src 'self'/);
    }
    const asset = await app.inject({ method: 'GET', url: '/assets/app-abc.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(String(asset.headers['content-type']), /^text\/javascript/);
    for (const url of [
      '/assets/../../roam-secret.txt',
      '/assets/%2e%2e/%2e%2e/roam-secret.txt',
      '/assets/nope.js',
    ]) {
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 404, url);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/elsewhere' })).statusCode, 404);
    rmSync(join(root, '..', 'roam-secret.txt'), { force: true });
    await app.close();
  });

  it("widens connect-src to https: only on the SMART Health Link viewer's page, and only at /shl itself", async () => {
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Roam</title>');
    const app = Fastify();
    registerWebRoutes(app, root);
    const cspOf = async (url: string) => {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      return String(res.headers['content-security-policy']);
    };
    // The viewer fetches the manifest and files of links from other SHL servers, from the browser.
    // https anywhere, plain http only to this machine's loopback (a local node on another port).
    assert.match(await cspOf('/shl'), /connect-src 'self' https: http:\/\/127\.0\.0\.1:\* http:\/\/localhost:\*;/);
    assert.match(await cspOf('/shl'), /script-src 'self';/);
    // Where a wallet is unlocked, scripts may still talk to this node only.
    for (const url of ['/', '/patient', '/provider', '/explorer']) {
      assert.match(await cspOf(url), /connect-src 'self';/, url);
    }
    // The SHL API's paths below /shl are not the app's (they 404 here, where no API is registered).
    for (const url of ['/shl/links', '/shl/m/x', '/shl/anything']) {
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 404, url);
    }
    await app.close();
  });
});
