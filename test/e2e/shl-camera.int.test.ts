/**
 * The SMART Health Link viewer across origins and through the camera, in Debian's Chromium
 * (playwright-core): the viewer is served by one node (one port: one origin) and the link is
 * hosted by another node (another port: another origin), so the manifest request and the file
 * fetch cross origins (CORS at the host, `connect-src` at the viewer). The doctor opens the link
 * from the URL fragment, then from the camera: Chromium's fake capture device films a QR code of
 * the real link (test/e2e/fake-camera.ts), the viewer decodes the frames (BarcodeDetector, or the
 * `qr` library's decoder) and shows the summary. A link whose server is plain http to a host that
 * is not this machine is refused with a clear message before anything is sent.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import type { Browser } from 'playwright-core';
import { ShareLinkClient } from '../../src/client/share-links.js';
import { buildOwnSummary } from '../../src/fhir/ips/index.js';
import { buildShlink, generateShlKey, viewerLink } from '../../src/shl/index.js';
import { registeredPatient } from '../auth/fixture.js';
import { openFhirNode, tokenOf, type FhirTestNode } from '../fhir-api/fixture.js';
import { startLinkHost, type LinkHost } from '../shl/link-host.js';
import { launchWithCamera, writeQrVideo } from './fake-camera.js';
import { ensureWebBuild, SHOTS, STEP_MS } from './support.js';

const DOCTOR = 'Dr. Keita, Hôpital Principal, Dakar';
const LABEL = 'Summary for my trip to Senegal';

describe('SMART Health Link viewer: another origin, and the camera', { timeout: 5 * 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'roam-shl-camera-'));
  let viewerNode: FhirTestNode | undefined;
  let viewerUrl = '';
  let host: LinkHost | undefined;
  let hostLinks: ShareLinkClient;
  let link = '';
  let browser: Browser | undefined;

  before(async () => {
    ensureWebBuild();
    mkdirSync(SHOTS, { recursive: true });
    viewerNode = await openFhirNode();
    await viewerNode.app.listen({ host: '127.0.0.1', port: 0 });
    viewerUrl = `http://127.0.0.1:${(viewerNode.app.server.address() as AddressInfo).port}/shl`;
    host = await startLinkHost('Clinic Hosting Links');
    const patient = await registeredPatient(host.t.node);
    hostLinks = new ShareLinkClient({ baseUrl: host.baseUrl, accessToken: await tokenOf(host.t, patient), holder: patient });
    const resources = [
      { resourceType: 'Patient', id: 'p1', name: [{ family: 'Ndiaye', given: ['Awa'] }], birthDate: '1984-02-11' },
      {
        resourceType: 'Condition',
        id: 'c1',
        subject: { reference: 'Patient/p1' },
        clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006', display: 'Diabetes mellitus type 2' }] },
      },
    ] as Resource[];
    const document = buildOwnSummary({ resources, patientDid: patient.did, language: 'en', now: new Date(), newUuid: randomUUID, incomplete: false });
    // The host hands out links behind its own viewer; the doctor here opens it in another node's.
    const created = await hostLinks.create({ document, label: LABEL, exp: Math.floor(Date.now() / 1000) + 3600 });
    link = viewerLink(viewerUrl, created.shlink);
    const video = join(dir, 'qr.y4m');
    writeQrVideo(video, link);
    browser = await launchWithCamera(video);
  });
  after(async () => {
    await browser?.close();
    await host?.close();
    await viewerNode?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Openings of the link by the doctor the host recorded (one manifest request each). */
  async function accessesByDoctor(): Promise<number> {
    const links = await hostLinks.list();
    return links.flatMap((l) => l.accesses).filter((a) => a.recipient === DOCTOR && a.kind === 'manifest' && a.outcome === 'success').length;
  }

  it("opens a link hosted by another origin (the host's CORS, the viewer's connect-src)", async () => {
    assert.notEqual(new URL(viewerUrl).origin, new URL(host!.baseUrl).origin);
    const context = await browser!.newContext({ locale: 'en-GB' });
    context.setDefaultTimeout(STEP_MS);
    const page = await context.newPage();
    const refusedByPolicy: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|CORS/i.test(message.text())) refusedByPolicy.push(message.text());
    });
    await page.goto(link);
    await page.getByText(LABEL).first().waitFor();
    await page.getByLabel(/^Your name/).fill(DOCTOR);
    await page.getByRole('button', { name: 'Open summary' }).click();
    await page.getByTestId('ips-summary').getByText(/Diabetes mellitus type 2/).first().waitFor();
    assert.deepEqual(refusedByPolicy, []);
    assert.equal(await accessesByDoctor(), 1, 'the host recorded the opening');
    await page.screenshot({ path: join(SHOTS, 'shl-10-cross-origin.png'), fullPage: true });
    await context.close();
  });

  it('reads the link from the camera and shows the summary', async () => {
    const context = await browser!.newContext({ locale: 'en-GB' });
    context.setDefaultTimeout(STEP_MS);
    await context.grantPermissions(['camera'], { origin: new URL(viewerUrl).origin });
    const page = await context.newPage();
    await page.goto(viewerUrl);
    await page.getByRole('button', { name: 'Scan the QR code with the camera' }).click();
    // Decoded from the camera's frames: the link's label and the recipient form appear.
    await page.getByText(LABEL).first().waitFor();
    await page.getByLabel(/^Your name/).fill(DOCTOR);
    await page.getByRole('button', { name: 'Open summary' }).click();
    await page.getByTestId('ips-summary').getByText(/Diabetes mellitus type 2/).first().waitFor();
    assert.equal(await accessesByDoctor(), 2);
    await page.screenshot({ path: join(SHOTS, 'shl-11-camera.png'), fullPage: true });
    await context.close();
  });

  it('refuses a link whose server is plain http to another machine, before sending anything', async () => {
    const insecure = viewerLink(
      viewerUrl,
      buildShlink({ url: `http://health.example.org/shl/m/${generateShlKey()}`, key: generateShlKey(), label: 'In the clear' }),
    );
    const context = await browser!.newContext();
    context.setDefaultTimeout(STEP_MS);
    const page = await context.newPage();
    const sentTo: string[] = [];
    page.on('request', (request) => sentTo.push(new URL(request.url()).host));
    await page.goto(insecure);
    const message = page.getByTestId('shl-insecure');
    await message.waitFor();
    assert.match((await message.textContent()) ?? '', /health\.example\.org.*https/);
    assert.equal(await page.getByRole('button', { name: 'Open summary' }).isDisabled(), true);
    assert.equal(sentTo.includes('health.example.org'), false);
    await context.close();
  });
});
