/**
 * Care abroad in the web app, end to end in Debian's Chromium (playwright-core) against a real
 * demo node (`roam demo` as a child process, its patients seeded with Synthea charts):
 * - the provider console's summary of a demo patient (sections as tables, another language, the
 *   FHIR document downloaded and checked, the print stylesheet), and a hostile narrative or
 *   markup in the data shown as text, never as HTML;
 * - the portal's "Who saw my record", one row per visit in words, its entries proof-checked;
 * - break-glass: the emergency practitioner of the demo opens the break-glass patient's chart
 *   (no grant), confirms the emergency access, and reads the summary under it; the patient sees
 *   the red banner, flags it, and sees the visit on top of "Who saw my record".
 * Screenshots go to test-results/care-*.png.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Composition, Condition } from '@medplum/fhirtypes';
import { chromium, type Browser, type Page } from 'playwright-core';
import { checkIpsDocument } from '../../src/fhir/ips/index.js';
import { PASSPHRASE, tempDir, type RunningCli } from '../cli/harness.js';
import { refreshUntil, SHOTS, startDemo, STEP_MS } from './support.js';

const CHROMIUM = process.env['ROAM_CHROMIUM'] ?? '/usr/bin/chromium';

interface Party {
  readonly did: string;
  readonly wallet: string;
}

interface DemoJson {
  readonly url: string;
  readonly practitioner: Party;
  readonly emergencyPractitioner: Party;
  readonly patients: readonly Party[];
  readonly emergencyPatient: Party;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `care-${name}.png`), fullPage: true });
}

/** A fresh browser profile with `party`'s wallet file imported and unlocked at `path`. */
async function signedIn(
  browser: Browser,
  url: string,
  path: '/provider' | '/patient',
  party: Party,
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  await page.goto(`${url}${path}`);
  await page.getByRole('button', { name: 'Import a wallet file' }).click();
  await page.getByLabel('Wallet file', { exact: true }).setInputFiles(party.wallet);
  await page.getByLabel('Its passphrase').fill(PASSPHRASE);
  await page.getByRole('button', { name: 'Import and unlock' }).click();
  return page;
}

/** The chart of `did` in a signed-in provider console. */
async function openChart(page: Page, did: string): Promise<void> {
  await page.getByTestId('my-org').waitFor();
  await page.getByLabel('Patient DID or the link the patient shows you').fill(did);
  await page.getByRole('button', { name: 'Open chart' }).click();
}

/** Clicks the first Refresh button until `selector` with `text` shows (state that reaches the ledger later). */
function refreshed(page: Page, selector: string, text: RegExp): Promise<void> {
  return refreshUntil(
    page,
    () => page.getByRole('button', { name: 'Refresh' }).first().click(),
    selector,
    text,
  );
}

describe('care abroad in the web app', { timeout: 10 * 60_000 }, () => {
  const { dir, cleanup } = tempDir('roam-care-');
  let node: RunningCli | undefined;
  let demo: DemoJson;
  let browser: Browser | undefined;

  before(async () => {
    ({ node, demo } = await startDemo<DemoJson>(join(dir, 'data')));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await node?.stop('SIGINT');
    cleanup();
  });

  it("shows a demo patient's summary in the provider console: languages, download, print", async () => {
    const provider = await signedIn(browser!, demo.url, '/provider', demo.practitioner);
    await openChart(provider, demo.patients[0]!.did);
    await provider.getByRole('button', { name: 'Summary', exact: true }).click();
    const summary = provider.getByTestId('ips-summary');
    await summary.getByRole('heading', { name: 'International Patient Summary' }).waitFor();
    await summary.getByRole('heading', { name: 'Problem List' }).waitFor();
    assert.ok(
      (await summary.locator('section[data-code="11450-4"] tbody tr').count()) > 0,
      'problems listed',
    );
    await shot(provider, '01-provider-summary');

    // The reader's language: the node builds it again with Accept-Language.
    await provider.getByTestId('summary-language').selectOption('de');
    await summary.getByRole('heading', { name: 'Problemliste' }).waitFor();
    await summary.getByRole('heading', { name: 'Internationale Patientenkurzakte' }).waitFor();

    // Download as FHIR document: a dated file, an IPS document the checker accepts, in German.
    const [download] = await Promise.all([
      provider.waitForEvent('download'),
      provider.getByTestId('summary-download').click(),
    ]);
    assert.match(download.suggestedFilename(), /^patient-summary-\d{4}-\d{2}-\d{2}\.fhir\.json$/);
    const document = JSON.parse(readFileSync(await download.path(), 'utf8')) as Bundle;
    assert.deepEqual(checkIpsDocument(document).issues, []);
    assert.equal((document.entry![0]!.resource as Composition).language, 'de');

    // Printing: the summary only (no navigation, no buttons), the patient header first.
    await provider.emulateMedia({ media: 'print' });
    assert.equal(await provider.locator('header.top').isVisible(), false);
    assert.equal(await provider.getByTestId('summary-download').isVisible(), false);
    assert.equal(await provider.getByRole('heading', { name: 'Find a patient' }).isVisible(), false);
    assert.ok(await summary.isVisible());
    const headerBox = await summary.locator('.ips-patient').boundingBox();
    const firstSection = await summary.locator('.ips-section').first().boundingBox();
    assert.ok(headerBox && firstSection && headerBox.y < firstSection.y, 'the patient header on top');
    await shot(provider, '02-summary-print');
    await provider.emulateMedia({ media: 'screen' });
    await provider.context().close();
  });

  it("shows a document's narrative and markup in its data as text, never as HTML", async () => {
    const provider = await signedIn(browser!, demo.url, '/provider', demo.practitioner);
    // The node's answer with a hostile narrative and a display carrying markup (as a document a
    // patient brings from elsewhere could).
    await provider.route('**/$summary', async (route) => {
      const response = await route.fetch();
      const bundle = (await response.json()) as Bundle;
      const composition = bundle.entry![0]!.resource as Composition;
      composition.text = { status: 'generated', div: '<div><img id="narrative-img" src="x"/></div>' };
      const condition = bundle.entry!.find((e) => e.resource?.resourceType === 'Condition')!
        .resource as Condition;
      condition.code = { text: '<img id="data-img" src="x">' };
      await route.fulfill({ response, json: bundle });
    });
    await openChart(provider, demo.patients[0]!.did);
    await provider.getByRole('button', { name: 'Summary', exact: true }).click();
    const summary = provider.getByTestId('ips-summary');
    await summary.getByText('<img id="data-img" src="x">').waitFor();
    assert.equal(await provider.locator('img').count(), 0);
    await provider.context().close();
  });

  it('groups who saw the record by visit, each entry with its proof', async () => {
    const patient = await signedIn(browser!, demo.url, '/patient', demo.patients[0]!);
    await patient.getByRole('tab', { name: 'Who saw my record' }).click();
    // The practitioner's chart openings above: one row each, in words.
    const visit =
      /practitioner[\s\S]*at Roam Demo Hospital \(eu\)[\s\S]*(opened your chart|looked through)[\s\S]*✓ verified/;
    await refreshed(patient, '[data-testid="audit-visit"]', visit);
    const row = patient.getByTestId('audit-visit').filter({ hasText: visit }).first();
    await row.getByRole('button', { name: 'Show entries' }).click();
    await patient.getByTestId('audit-row').first().waitFor();
    assert.ok((await patient.getByTestId('audit-row').count()) > 1, 'a visit holds several entries');
    assert.equal(await patient.getByText('✗ not verified').count(), 0);
    await shot(patient, '03-portal-who-saw');

    // My summary, built in the browser from the decrypted record.
    await patient.getByRole('tab', { name: 'My summary' }).click();
    await patient
      .getByTestId('ips-summary')
      .locator('section[data-code="11450-4"] tbody tr')
      .first()
      .waitFor();
    await shot(patient, '04-portal-my-summary');
    await patient.context().close();
  });

  it('breaks the glass in the provider console; the patient sees the banner and flags it', async () => {
    const provider = await signedIn(browser!, demo.url, '/provider', demo.emergencyPractitioner);
    await openChart(provider, demo.emergencyPatient.did);
    // No grant (revoked): the chart is refused; the emergency role offers the break-glass.
    await provider.getByTestId('access-state').waitFor();
    await provider.getByLabel('Reason').selectOption('ETREAT');
    await provider.getByLabel('For', { exact: true }).selectOption({ label: '1 hour' });
    await provider.getByRole('button', { name: 'Break the glass…' }).click();
    await provider
      .getByRole('alertdialog', { name: 'Confirm emergency access' })
      .getByText('This is logged.')
      .waitFor();
    await shot(provider, '05-provider-break-glass-confirm');
    await provider.getByRole('button', { name: 'Confirm: break the glass' }).click();
    await provider
      .getByTestId('break-glass-active')
      .getByRole('heading', { name: /^Break-glass active until / })
      .waitFor();
    const summary = provider.getByTestId('ips-summary');
    await summary.locator('section[data-code="11450-4"] tbody tr').first().waitFor();
    await shot(provider, '06-provider-break-glass-summary');
    // A reload finds the active break-glass on the ledger again.
    await provider.reload();
    await provider.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await provider.getByRole('button', { name: 'Unlock' }).click();
    await openChart(provider, demo.emergencyPatient.did);
    await provider.getByTestId('break-glass-active').waitFor();
    await provider.context().close();

    const patient = await signedIn(browser!, demo.url, '/patient', demo.emergencyPatient);
    const banner = patient.getByTestId('emergency-banner');
    await banner
      .filter({ hasText: /Roam Demo Hospital \(eu\)[\s\S]*Emergency treatment \(ETREAT\)/ })
      .waitFor();
    await shot(patient, '07-portal-emergency-banner');
    await banner.getByRole('button', { name: 'Flag for review' }).click();
    await banner.getByText('Flagged for review').waitFor();
    await patient.getByRole('tab', { name: 'Who saw my record' }).click();
    await refreshed(patient, '[data-testid="audit-visit"][data-break-glass="true"]', /break-glass/);
    const first = patient.getByTestId('audit-visit').first();
    assert.equal(await first.getAttribute('data-break-glass'), 'true', 'break-glass visits are on top');
    await shot(patient, '08-portal-who-saw-break-glass');
    await patient.context().close();
  });
});
