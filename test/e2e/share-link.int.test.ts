/**
 * SMART Health Links end to end, in Debian's Chromium driven by playwright-core, against a real
 * demo node (`roam demo`, a child process): the demo's first patient (with an imported Synthea
 * chart) imports their wallet file in the portal, creates a passcode link to the summary built in
 * their browser, and prints the emergency card (print media, screenshot). A second browser context
 * (the doctor abroad: no wallet, nothing stored) opens the link, gets a wrong passcode refused with
 * the attempts left, then the right one, and reads the summary. The patient sees both accesses in
 * My links and the node's `share-link` entries in Who saw my record; deactivating the link stops
 * it for the doctor. Screenshots go to test-results/.
 *
 * Needs the web build (`npm run build`).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PASSPHRASE, REPO, startCli, tempDir, type RunningCli } from '../cli/harness.js';

const CHROMIUM = process.env['ROAM_CHROMIUM'] ?? '/usr/bin/chromium';
const SHOTS = join(REPO, 'test-results');
/** Generous: a 2-core machine shared with other work, the summary built and encrypted in the browser. */
const STEP_MS = 90_000;
const LINK_PASSCODE = 'tram-lisbon-42';
const DOCTOR = 'Dr. Ana Costa, Hospital de Santa Maria, Lisbon';

interface DemoJson {
  readonly url: string;
  readonly patients: ReadonlyArray<{ readonly did: string; readonly wallet: string }>;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Clicks `refresh` until an element of `selector` with `text` is visible (the ledger commits a moment later). */
async function refreshUntil(page: Page, refresh: () => Promise<void>, selector: string, text: RegExp): Promise<void> {
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    try {
      await page.locator(selector).filter({ hasText: text }).first().waitFor({ state: 'visible', timeout: 3_000 });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await refresh();
    }
  }
}

describe('SMART Health Links in the web app', { timeout: 10 * 60_000 }, () => {
  const { dir, cleanup } = tempDir('roam-shl-web-');
  let node: RunningCli | undefined;
  let browser: Browser | undefined;
  let demo: DemoJson;

  before(async () => {
    assert.ok(existsSync(join(REPO, 'dist/web/index.html')), 'the web app is built (npm run build)');
    mkdirSync(SHOTS, { recursive: true });
    node = await startCli(['demo', '--data', join(dir, 'data'), '--port', '0', '--json'], { timeoutMs: 180_000 });
    const deadline = Date.now() + 120_000;
    while (!node.output().stdout.trimEnd().endsWith('}')) {
      if (Date.now() > deadline) throw new Error(`no demo JSON: ${node.output().stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    demo = JSON.parse(node.output().stdout) as DemoJson;
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
});
