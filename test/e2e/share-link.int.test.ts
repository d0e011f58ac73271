/**
 * SMART Health Links end to end, in Debian's Chromium driven by playwright-core, against a real
 * demo node (`roam demo`, a child process): the demo's first patient (with an imported Synthea
 * chart) imports their wallet file in the portal, creates a passcode link to the summary built in
 * their browser, and prints the emergency card (print media, screenshot). A second browser context
 * (the doctor abroad: no wallet, nothing stored) opens the link, gets a wrong passcode refused with
 * the attempts left, then the right one, and reads the summary. The patient sees both accesses in
 * My links and the node's `share-link` entries in Who saw my record, and shows the link's QR code
 * and card again from the key the wallet sealed; deactivating the link stops it for the doctor.
 * Screenshots go to test-results/.
 *
 * Builds the web app when it is missing or older than web/ (test/e2e/support.ts).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Composition, Condition } from '@medplum/fhirtypes';
import { chromium, type Browser, type Page } from 'playwright-core';
import { signIn } from '../../src/client/auth.js';
import { ShareLinkClient } from '../../src/client/share-links.js';
import { buildOwnSummary } from '../../src/fhir/ips/index.js';
import { loadWallet } from '../../src/wallet/index.js';
import { PASSPHRASE, tempDir, type RunningCli } from '../cli/harness.js';
import { refreshUntil, SHOTS, startDemo, STEP_MS } from './support.js';

const CHROMIUM = process.env['ROAM_CHROMIUM'] ?? '/usr/bin/chromium';
const LINK_PASSCODE = 'tram-lisbon-42';
const DOCTOR = 'Dr. Ana Costa, Hospital de Santa Maria, Lisbon';

interface DemoJson {
  readonly url: string;
  readonly patients: ReadonlyArray<{ readonly did: string; readonly wallet: string }>;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

describe('SMART Health Links in the web app', { timeout: 10 * 60_000 }, () => {
  const { dir, cleanup } = tempDir('roam-shl-web-');
  let node: RunningCli | undefined;
  let browser: Browser | undefined;
  let demo: DemoJson;

  before(async () => {
    ({ node, demo } = await startDemo<DemoJson>(join(dir, 'data')));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
  });

  after(async () => {
    await browser?.close();
    await node?.stop('SIGINT');
    cleanup();
  });

  it('a passcode link: created and printed by the patient, read by a doctor abroad, seen in the audit', async () => {
    const patientContext = await browser!.newContext({ viewport: { width: 1100, height: 900 } });
    patientContext.setDefaultTimeout(STEP_MS);
    const patient = await patientContext.newPage();
    await patient.goto(`${demo.url}/patient`);
    await patient.getByRole('button', { name: 'Import a wallet file' }).click();
    await patient.getByLabel('Wallet file', { exact: true }).setInputFiles(demo.patients[0]!.wallet);
    await patient.getByLabel('Its passphrase').fill(PASSPHRASE);
    await patient.getByRole('button', { name: 'Import and unlock' }).click();

    // My links: a passcode link to the summary built in this browser.
    await patient.getByRole('tab', { name: 'My links' }).click();
    await patient.getByLabel(/^Label/).fill('Summary for my trip to Portugal');
    await patient.getByLabel('Valid for').selectOption({ label: '1 week' });
    await patient.getByLabel(/^Passcode/).fill(LINK_PASSCODE);
    await patient.getByRole('button', { name: 'Create link' }).click();
    const link = (await patient.getByTestId('shl-link').textContent())!.trim();
    assert.match(link, new RegExp(`^${demo.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/shl#shlink:/[A-Za-z0-9_-]+$`));
    await patient.getByTestId('shl-qr').first().waitFor();
    const card = patient.getByTestId('emergency-card');
    await card.getByText('Summary for my trip to Portugal').waitFor();
    await card.getByText(demo.patients[0]!.did).waitFor();
    await shot(patient, 'shl-01-patient-new-link');

    // The emergency card in print: the card alone, wallet-sized (85.6 × 54 mm at 96 px/in).
    await patient.emulateMedia({ media: 'print' });
    assert.equal(await patient.getByRole('tablist').isVisible(), false, 'the portal is not printed');
    assert.equal(await card.isVisible(), true, 'the card is printed');
    const box = (await card.boundingBox())!;
    assert.ok(Math.abs(box.width - (85.6 / 25.4) * 96) < 2, `card width ${box.width}px`);
    assert.ok(Math.abs(box.height - (54 / 25.4) * 96) < 2, `card height ${box.height}px`);
    await shot(patient, 'shl-02-emergency-card-print');
    await patient.emulateMedia({ media: 'screen' });

    // The doctor abroad: another browser context, no wallet.
    const doctorContext = await browser!.newContext({ viewport: { width: 1100, height: 900 }, locale: 'pt-PT' });
    doctorContext.setDefaultTimeout(STEP_MS);
    const doctor = await doctorContext.newPage();
    await doctor.goto(link);
    await doctor.getByText('Summary for my trip to Portugal').first().waitFor();
    await doctor.getByLabel(/^Your name/).fill(DOCTOR);
    await doctor.getByLabel(/^Passcode/).fill('not-the-passcode');
    await doctor.getByRole('button', { name: 'Open summary' }).click();
    await doctor.getByTestId('shl-error').filter({ hasText: /Wrong passcode\. \d+ attempts? left/ }).waitFor();
    await doctor.getByLabel(/^Passcode/).fill(LINK_PASSCODE);
    await doctor.getByRole('button', { name: 'Open summary' }).click();
    const summary = doctor.getByTestId('ips-summary');
    await summary.waitFor();
    // Decrypted in this browser, shown from structured data, and the problems listed.
    assert.ok((await summary.locator('section.ips-section').count()) >= 3);
    assert.equal(await doctor.locator('.ips-summary script').count(), 0);
    await shot(doctor, 'shl-03-doctor-summary');

    // The patient sees both accesses in My links, with the recipient as the doctor gave it.
    await refreshUntil(
      patient,
      () => patient.getByRole('button', { name: 'Refresh' }).click(),
      '[data-testid="shl-access"]',
      new RegExp(`${DOCTOR.replace(/[.]/g, '\\.')}[\\s\\S]*opened`),
    );
    await patient.getByTestId('shl-access').filter({ hasText: /refused/ }).first().waitFor();
    await shot(patient, 'shl-04-patient-links-accesses');

    // The QR code and the card again, later: the link opened from the key the wallet sealed.
    await patient.getByTestId('shl-link-row').filter({ hasText: 'Summary for my trip to Portugal' }).getByRole('button', { name: 'Show QR code' }).click();
    const again = patient.getByTestId('shl-shown-again');
    assert.equal((await again.getByTestId('shl-link-again').textContent())?.trim(), link);
    await again.getByTestId('shl-qr').first().waitFor();
    await again.getByTestId('emergency-card').getByText(demo.patients[0]!.did).waitFor();
    await shot(patient, 'shl-04b-patient-qr-again');

    // And the node's share-link entries in Who saw my record, each proof checked in the browser.
    await patient.getByRole('tab', { name: 'Who saw my record' }).click();
    const served = /served your shared summary link \(SMART Health Link\)/;
    await refreshUntil(
      patient,
      () => patient.getByRole('button', { name: 'Refresh' }).click(),
      '[data-testid="audit-visit"]',
      served,
    );
    await patient.getByTestId('audit-visit').filter({ hasText: served }).getByRole('button', { name: 'Show entries' }).click();
    await patient.getByTestId('audit-row').filter({ hasText: /share-link[\s\S]*✓ verified/ }).first().waitFor();
    await shot(patient, 'shl-05-patient-who-saw');

    // Deactivated in one click: the doctor's next opening is refused.
    await patient.getByRole('tab', { name: 'My links' }).click();
    await patient.getByTestId('shl-link-row').filter({ hasText: 'Summary for my trip to Portugal' }).getByRole('button', { name: 'Deactivate' }).click();
    await patient.getByTestId('shl-link-row').filter({ hasText: 'deactivated' }).waitFor();
    await doctor.reload();
    await doctor.getByLabel(/^Your name/).fill(DOCTOR);
    await doctor.getByLabel(/^Passcode/).fill(LINK_PASSCODE);
    await doctor.getByRole('button', { name: 'Open summary' }).click();
    await doctor.getByTestId('shl-error').filter({ hasText: /no longer opens/ }).waitFor();
    await shot(doctor, 'shl-06-doctor-link-deactivated');

    await doctorContext.close();
    await patientContext.close();
  });

  it("shows a direct link's document from its data as text: its narrative and markup never become HTML", async () => {
    // A link made outside the portal, as another SMART Health Links server could serve it: the
    // narrative carries script-bearing HTML and a problem's name carries markup.
    const wallet = await loadWallet(demo.patients[1]!.wallet, PASSPHRASE);
    const { access_token } = await signIn({ baseUrl: demo.url }, wallet);
    const condition: Condition = {
      resourceType: 'Condition',
      id: 'c1',
      subject: { reference: 'Patient/p1' },
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
      code: { text: '<img id="data-img" src="x" onerror="window.pwned=1">' },
    };
    const document: Bundle = buildOwnSummary({
      resources: [{ resourceType: 'Patient', id: 'p1' }, condition],
      patientDid: wallet.did,
      language: 'en',
      now: new Date(),
      newUuid: () => globalThis.crypto.randomUUID(),
      incomplete: false,
    });
    const composition = document.entry![0]!.resource as Composition;
    composition.text = {
      status: 'generated',
      div: '<div xmlns="http://www.w3.org/1999/xhtml"><img id="narrative-img" src="x" onerror="window.pwned=1"/><script>window.pwned=1</script></div>',
    };
    const client = new ShareLinkClient({ baseUrl: demo.url, accessToken: access_token });
    // A direct-file link (U): the viewer GETs the file itself, no manifest.
    const hostile = await client.create({ document, label: 'Hostile document', flags: { direct: true } });
    assert.equal(hostile.view.flag, 'U');
    const notADocument = await client.create({ document: { resourceType: 'Patient', id: 'p1' }, label: 'Not a document' });

    const context = await browser!.newContext({ viewport: { width: 1100, height: 900 } });
    context.setDefaultTimeout(STEP_MS);
    const doctor = await context.newPage();
    await doctor.goto(hostile.link);
    await doctor.getByLabel(/^Your name/).fill(DOCTOR);
    assert.equal(await doctor.getByLabel(/^Passcode/).count(), 0, 'no passcode is asked for a link without P');
    await doctor.getByRole('button', { name: 'Open summary' }).click();
    const summary = doctor.getByTestId('ips-summary');
    await summary.getByText('<img id="data-img" src="x" onerror="window.pwned=1">').waitFor();
    assert.equal(await doctor.locator('img').count(), 0, 'no element from the document');
    assert.equal(await doctor.locator('main script').count(), 0);
    assert.equal(await doctor.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined);
    await shot(doctor, 'shl-07-doctor-hostile-document-as-text');

    // The viewer without a link: paste one (and the camera where the browser can read QR codes).
    await doctor.goto(`${demo.url}/shl`);
    const paste = doctor.getByLabel(/^Paste the link/);
    await paste.fill('shlink:/this-is-not-base64!');
    await doctor.getByRole('button', { name: 'Open link' }).click();
    await doctor.getByRole('alert').filter({ hasText: /Not a valid link/ }).waitFor();
    const camera = doctor.getByTestId('camera-unsupported').or(doctor.getByRole('button', { name: /Scan the QR code/ }));
    await camera.first().waitFor();
    await paste.fill(`Here is my summary: ${notADocument.link}`);
    await doctor.getByRole('button', { name: 'Open link' }).click();
    await doctor.getByLabel(/^Your name/).fill(DOCTOR);
    await doctor.getByRole('button', { name: 'Open summary' }).click();
    await doctor.getByTestId('shl-error').filter({ hasText: /not a patient summary document/ }).waitFor();
    assert.equal(await doctor.getByTestId('ips-summary').count(), 0);
    await context.close();
  });
});
