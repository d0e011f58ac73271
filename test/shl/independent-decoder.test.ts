/**
 * A SMART Health Link made by Roam, opened by an implementation written here from the spec alone
 * (HL7 SMART Health Cards and Links IG): base64url JSON after `shlink:/` → `POST {url}` with
 * `{ recipient, passcode, embeddedLengthMax }` → `GET` each `location` → `jose.compactDecrypt`
 * with the payload's key. None of Roam's SHL code reads the link. The node listens on 127.0.0.1
 * at the public URL it hands out; the patient's summary comes from an imported Synthea record
 * through the CLI's own function. The document must pass the IPS checker; Roam's QR code (PNG)
 * must decode, with `qr`'s decoder, to exactly the link.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import { base64url } from 'jose';
import decodeQR from 'qr/decode.js';
import { signIn } from '../../src/client/auth.js';
import { FhirClient } from '../../src/client/fhir.js';
import { ShareLinkClient } from '../../src/client/share-links.js';
import { patientSummaryFor, writeShlQrPng } from '../../src/cli/shl.js';
import { checkIpsDocument } from '../../src/fhir/ips/index.js';
import { parseShlink, resolveShlink, ShlError, ShlErrorCode } from '../../src/shl/index.js';
import { buildHttpServer } from '../../src/node/http/server.js';
import { initNetwork } from '../../src/node/init.js';
import { RoamNode } from '../../src/node/roam-node.js';
import { loadWallet, type Wallet } from '../../src/wallet/index.js';
import { registeredPatient } from '../auth/fixture.js';
import { expectStatus, fhir, grantOrg, tokenOf, type FhirTestNode } from '../fhir-api/fixture.js';
import { useChain } from '../http/fixture.js';
import { freePort } from '../support/ports.js';
import { SYNTHEA_SAMPLE } from '../support/testdata.js';
import { specDecodePayload, specOpen } from './spec-decoder.js';

/** pngjs (the PNG codec `qrcode` itself uses) has no type declarations of its own. */
const { PNG } = createRequire(import.meta.url)('pngjs') as {
  PNG: { sync: { read(data: Buffer): { width: number; height: number; data: Uint8Array } } };
};

describe('SMART Health Links: a Roam link opened by an independent decoder', () => {
  let dataDir: string;
  let node: RoamNode;
  let app: FastifyInstance;
  let baseUrl: string;
  let patient: Wallet;
  let link: string;
  const passcode = 'kestrel-7319';

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'roam-shl-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const init = await initNetwork({
      dataDir,
      orgName: 'Clinic of Test',
      region: 'eu-west',
      adminPassphrase: 'correct horse battery staple',
      host: '127.0.0.1',
      port,
      publicUrl: baseUrl,
      walletKdf: { N: 32768, r: 8, p: 1 },
    });
    node = await RoamNode.open({ dataDir, blockLimits: { timeoutMs: 5 } });
    useChain(node.ledger.chainId);
    app = buildHttpServer(node);
    await app.listen({ host: '127.0.0.1', port });
    const admin = await loadWallet(init.adminWalletPath, 'correct horse battery staple');
    const t = { node, init, admin, app, dataDir, close: () => Promise.resolve() } satisfies FhirTestNode;
    patient = await registeredPatient(node);
    await grantOrg(t, patient, { classes: ['general', 'sensitive'] });
    const imported = await fhir<Bundle>(t, await tokenOf(t, patient), 'POST', '?_import=true', JSON.parse(readFileSync(SYNTHEA_SAMPLE, 'utf8')));
    expectStatus(imported, 200);

    // What `roam shl create --passcode-file … --label …` does, through the CLI's own functions.
    const { access_token, org } = await signIn({ baseUrl }, patient);
    const session = { wallet: patient, fhir: new FhirClient(baseUrl, access_token), patientDid: patient.did, node: baseUrl, org, accessToken: access_token };
    const document = await patientSummaryFor(session);
    const created = await new ShareLinkClient({ baseUrl, accessToken: access_token }).create({
      document,
      flags: { passcode: true },
      passcode,
      exp: Math.floor(Date.now() / 1000) + 3600,
      label: 'Summary for the doctor abroad',
    });
    link = created.link;
  });
  after(async () => {
    await app?.close();
    await node?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('hands out <publicUrl>/shl#shlink:/… with a payload as the spec defines it', () => {
    assert.ok(link.startsWith(`${baseUrl}/shl#shlink:/`), link);
    const payload = specDecodePayload(link);
    assert.equal(payload.flag, 'P');
    assert.equal(payload.label, 'Summary for the doctor abroad');
    assert.ok(payload.url.length <= 128);
    assert.match(payload.url, /\/[A-Za-z0-9_-]{43}$/, 'a 256-bit random path segment');
    assert.equal(base64url.decode(payload.key).length, 32);
    assert.ok(typeof payload.exp === 'number' && payload.exp * 1000 > Date.now());
  });

  it('decodes, fetches and decrypts to an International Patient Summary that passes the checker', async () => {
    const files = await specOpen(link, 'Dr. Sato, Tokyo Clinic', passcode);
    assert.equal(files.length, 1);
    assert.equal(files[0]?.contentType, 'application/fhir+json');
    const bundle = JSON.parse(files[0]?.body ?? '{}') as Bundle;
    assert.equal(bundle.type, 'document');
    assert.deepEqual(checkIpsDocument(bundle).issues, []);
  });

  it("Roam's own viewer library opens it too, and reports a wrong passcode with the attempts left", async () => {
    const payload = parseShlink(link);
    await assert.rejects(
      resolveShlink({ payload, recipient: 'Dr. Sato', passcode: 'not-it' }),
      (error: unknown) => error instanceof ShlError && error.code === ShlErrorCode.PASSCODE_WRONG && error.remainingAttempts === 9,
    );
    await assert.rejects(resolveShlink({ payload, recipient: 'Dr. Sato' }), { code: ShlErrorCode.PASSCODE_REQUIRED });
    const [file] = await resolveShlink({ payload, recipient: 'Dr. Sato', passcode, embeddedLengthMax: 1_000_000_000 });
    assert.equal(file?.contentType, 'application/fhir+json');
    assert.deepEqual(checkIpsDocument(JSON.parse(file?.text ?? '{}') as Bundle).issues, []);
  });

  it("Roam's QR code (PNG, error correction M) decodes to exactly the link", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roam-shl-qr-'));
    try {
      const file = join(dir, 'link.png');
      await writeShlQrPng(file, link);
      const png = PNG.sync.read(readFileSync(file));
      assert.equal(decodeQR({ width: png.width, height: png.height, data: png.data }), link);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
