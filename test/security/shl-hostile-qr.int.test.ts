/**
 * A hostile QR code in front of the viewer's camera, in Debian's Chromium (the fake capture device
 * films it, test/e2e/fake-camera.ts): a `shlink:/` whose label is HTML with a script handler and
 * whose server is plain http on another machine. The viewer shows the label as text (no element,
 * no script runs), stays on its page, refuses the link with a clear message and sends nothing to
 * the link's server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { base64url } from 'jose';
import type { Browser } from 'playwright-core';
import { generateShlKey } from '../../src/shl/index.js';
import { launchWithCamera, writeQrVideo } from '../e2e/fake-camera.js';
import { ensureWebBuild, STEP_MS } from '../e2e/support.js';
import { openFhirNode, type FhirTestNode } from '../fhir-api/fixture.js';

const HOSTILE_LABEL = '<img src=x onerror="document.title=\'pwned\'">';

describe('SMART Health Link viewer: a hostile QR code on camera', { timeout: 3 * 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'roam-shl-hostile-'));
  let viewerNode: FhirTestNode | undefined;
  let viewerUrl = '';
  let browser: Browser | undefined;

  before(async () => {
    ensureWebBuild();
    viewerNode = await openFhirNode();
    await viewerNode.app.listen({ host: '127.0.0.1', port: 0 });
    viewerUrl = `http://127.0.0.1:${(viewerNode.app.server.address() as AddressInfo).port}/shl`;
    // Written by hand (Roam's builder would refuse nothing here, but an attacker uses none).
    const payload = { url: `http://attacker.example/shl/m/${generateShlKey()}`, key: generateShlKey(), label: HOSTILE_LABEL, v: 1 };
    const hostile = `shlink:/${base64url.encode(JSON.stringify(payload))}`;
    const video = join(dir, 'hostile.y4m');
    writeQrVideo(video, hostile);
    browser = await launchWithCamera(video);
  });
  after(async () => {
    await browser?.close();
    await viewerNode?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the label as text, runs nothing, refuses the http link and sends nothing to its server', async () => {
    const context = await browser!.newContext();
    context.setDefaultTimeout(STEP_MS);
    await context.grantPermissions(['camera'], { origin: new URL(viewerUrl).origin });
    const page = await context.newPage();
    const sentTo: string[] = [];
    page.on('request', (request) => sentTo.push(new URL(request.url()).host));
    await page.goto(viewerUrl);
    const title = await page.title();
    await page.getByRole('button', { name: 'Scan the QR code with the camera' }).click();
    await page.getByTestId('shl-insecure').waitFor();
    assert.match((await page.getByTestId('shl-insecure').textContent()) ?? '', /attacker\.example.*https/);
    // The label is on the page as the characters it is made of.
    await page.getByText(HOSTILE_LABEL).first().waitFor();
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    assert.equal(await page.title(), title, 'no handler ran');
    assert.equal(page.url(), viewerUrl, 'the viewer did not navigate');
    assert.equal(await page.getByRole('button', { name: 'Open summary' }).isDisabled(), true);
    assert.equal(sentTo.includes('attacker.example'), false);
    await context.close();
  });
});
