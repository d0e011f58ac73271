/**
 * The web app end to end, in Debian's Chromium driven by playwright-core, against a real demo node
 * (`roam demo`, started as a child process): a patient creates a wallet in the browser and
 * registers, shares with the hospital; the hospital's practitioner imports its wallet file, signs
 * in, opens the patient's chart and adds a blood pressure; the patient sees the new record
 * (decrypted in the browser) and the practitioner's accesses, verified, in "Who saw my record";
 * the patient revokes; the practitioner sees "access revoked". The ledger explorer verifies a
 * transaction and shows the Nodes panel (the demo's one node; then, with a `network` field added
 * to the status by the test, other nodes' agreement and the warning of a diverged node).
 * Screenshots go to test-results/.
 *
 * Needs the web build (`npm run build`, which `npm ci` runs as `prepare`); builds it when missing
 * or older than a file of web/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Agreement, NetworkAgreement, StatusResponse } from '../../src/wire/index.js';
import { PASSPHRASE, tempDir, type RunningCli } from '../cli/harness.js';
import { refreshUntil, SHOTS, startDemo, STEP_MS } from './support.js';

const CHROMIUM = process.env['ROAM_CHROMIUM'] ?? '/usr/bin/chromium';
const PATIENT_PASSPHRASE = 'correct horse battery staple';

interface DemoJson {
  readonly url: string;
  readonly practitioner: { readonly did: string; readonly wallet: string };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Waits until keyboard focus is on an element whose text matches `text` (the app moves it). */
async function focusOn(page: Page, text: RegExp): Promise<void> {
  await page.waitForFunction(
    `new RegExp(${JSON.stringify(text.source)}).test(document.activeElement?.textContent ?? '')`,
  );
}

/**
 * The explorer of the demo node as if it were one of four nodes of a network, and diverged:
 * `GET /ledger/status` answers with the node's real status plus a `network` field (the shape
 * src/node/network/attestations.ts gives), one other node agreeing, one diverged, one not heard yet.
 */
async function explorerInNetwork(ctx: BrowserContext, url: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.route('**/ledger/status', async (route) => {
    const response = await route.fetch();
    const status = (await response.json()) as StatusResponse;
    const attested = (node: string, height: number) => ({
      v: 1 as const,
      chainId: status.chainId,
      node,
      height,
      hash: status.headHash,
      stateRoot: status.stateRoot,
      time: Date.now() - 1_000,
      sig: 'test',
      receivedAt: Date.now() - 500,
    });
    const peer = (name: string, region: string, agreement: Agreement, height?: number) => {
      const node = `did:key:z6Mk${name.replace(/\W/g, '')}`;
      return {
        node,
        org: `did:key:z6MkOrg${name.replace(/\W/g, '')}`,
        orgName: name,
        region,
        url: `http://${region}.roam.example:8080`,
        agreement,
        ...(height === undefined ? {} : { latest: attested(node, height), comparedAt: height }),
      };
    };
    const network: NetworkAgreement = {
      self: attested(status.nodeDid, status.height),
      peers: [
        peer('Clinic US', 'us', 'agrees', status.height),
        peer('Lab AP', 'ap', 'diverged', 3),
        peer('GP UK', 'uk', 'pending'),
      ],
      diverged: true,
      halted: "at height 3 this node's block 0a1b2c3d differs from the block 9f8e7d6c of 2 of 4 nodes",
    };
    await route.fulfill({ response, json: { ...status, network } });
  });
  await page.goto(`${url}/explorer`);
  return page;
}

describe('web app', { timeout: 10 * 60_000 }, () => {
  const { dir, cleanup } = tempDir('roam-web-');
  const userData = mkdtempSync(join(tmpdir(), 'roam-chromium-'));
  let node: RunningCli | undefined;
  let demo: DemoJson;
  let context: BrowserContext | undefined;

  before(async () => {
    ({ node, demo } = await startDemo<DemoJson>(join(dir, 'data')));
    context = await chromium.launchPersistentContext(userData, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1100, height: 900 },
    });
    context.setDefaultTimeout(STEP_MS);
  });

  after(async () => {
    await context?.close();
    await node?.stop('SIGINT');
    cleanup();
    rmSync(userData, { recursive: true, force: true });
  });

  it('follows the story: create, register, grant, chart, add, see, audit, revoke', async () => {
    const ctx = context!;
    const consoleLines: string[] = [];
    const patient = await ctx.newPage();
    patient.on('console', (m) => consoleLines.push(m.text()));

    // The home page and the patient portal.
    await patient.goto(`${demo.url}/`);
    await patient.getByRole('heading', { name: 'Your health record, with you' }).waitFor();
    await shot(patient, '01-home');
    await patient.getByRole('link', { name: 'Patient portal' }).click();

    // A new wallet: passphrase, the phrase shown once, three of its words typed back.
    await patient.getByRole('button', { name: 'Create a new wallet' }).click();
    await focusOn(patient, /^Create your wallet$/);
    await patient.getByLabel('Passphrase (at least 8 characters)').fill(PATIENT_PASSPHRASE);
    await patient.getByLabel('Passphrase again').fill(PATIENT_PASSPHRASE);
    await patient.getByRole('button', { name: 'Create wallet' }).click();
    const phrase = patient.getByRole('list', { name: 'Recovery phrase' });
    await phrase.waitFor();
    const words = await phrase.locator('.word').allTextContents();
    assert.equal(words.length, 24);
    await shot(patient, '02-recovery-phrase');
    await patient.getByRole('button', { name: 'I have written it down' }).click();
    for (const input of await patient.getByLabel(/^Word #\d+$/).all()) {
      const id = (await input.getAttribute('id'))!;
      await input.fill(words[Number(id.replace('word-', ''))]!);
    }
    await patient.getByRole('button', { name: 'Confirm and save' }).click();

    // Registration on the ledger, signed in the browser; then sign-in.
    await patient.getByRole('button', { name: 'Register' }).click();
    await patient.getByRole('tab', { name: 'My record', exact: true }).waitFor();
    await focusOn(patient, /^My record$/);
    // The tabs by keyboard (WAI-ARIA): End, Home, arrows.
    await patient.keyboard.press('End');
    await focusOn(patient, /^Who saw my record$/);
    await patient.keyboard.press('ArrowRight');
    await focusOn(patient, /^My record$/);
    const did = (await patient.getByTestId('my-did').textContent())!.trim();
    assert.match(did, /^did:key:z6Mk/);
    await patient.getByText('No records yet').waitFor();

    // Sharing: the hospital, whole record, read and add.
    await patient.getByRole('tab', { name: 'Sharing' }).click();
    await patient
      .getByLabel('Organization (directory from the ledger, by region)')
      .selectOption({ label: 'Roam Demo Hospital (eu)' });
    await patient.getByLabel('My whole record').check();
    await patient.getByLabel('Read and add records (lets them keep your record)').check();
    await patient
      .getByText('Roam Demo Hospital in eu can read and add to your whole record with no end date.')
      .waitFor();
    await patient.getByRole('button', { name: 'Share', exact: true }).click();
    await patient
      .getByTestId('active-grant')
      .filter({ hasText: 'Roam Demo Hospital in eu can read and add to your whole record' })
      .waitFor();
    await shot(patient, '03-patient-sharing');

    // The practitioner: imports the demo's wallet file, signs in, opens the chart by DID.
    const provider = await ctx.newPage();
    provider.on('console', (m) => consoleLines.push(m.text()));
    await provider.goto(`${demo.url}/provider`);
    await provider.getByRole('button', { name: 'Import a wallet file' }).click();
    await provider.getByLabel('Wallet file', { exact: true }).setInputFiles(demo.practitioner.wallet);
    await provider.getByLabel('Its passphrase').fill(PASSPHRASE);
    await provider.getByRole('button', { name: 'Import and unlock' }).click();
    await provider.getByTestId('my-org').filter({ hasText: 'Roam Demo Hospital' }).waitFor();
    await provider.getByLabel('Patient DID or the link the patient shows you').fill(did);
    await provider.getByRole('button', { name: 'Open chart' }).click();
    await provider.getByRole('heading', { name: 'Add a record' }).waitFor();
    await shot(provider, '04-provider-chart-empty');

    // A blood pressure, through the form (checked before sending; the node validates it as FHIR).
    await provider.getByRole('button', { name: 'Save record' }).click();
    await provider.getByText('Systolic is required.').waitFor();
    await provider.getByLabel('Systolic (mmHg)').fill('128');
    await provider.getByLabel('Diastolic (mmHg)').fill('82');
    await provider.getByRole('button', { name: 'Save record' }).click();
    await provider.getByText('Saved: Blood pressure: 128/82 mmHg').waitFor();
    await provider.locator('.timeline-item').filter({ hasText: 'Blood pressure: 128/82 mmHg' }).waitFor();
    await provider.getByRole('img', { name: /Blood pressure/ }).waitFor();
    await shot(provider, '05-provider-chart-with-record');

    // The patient sees it, decrypted in the browser.
    await patient.getByRole('tab', { name: 'My record', exact: true }).click();
    await refreshUntil(
      patient,
      () => patient.getByRole('button', { name: 'Refresh' }).click(),
      '.timeline-item',
      /Blood pressure: 128\/82 mmHg/,
    );
    await patient.getByRole('img', { name: /Blood pressure/ }).waitFor();
    await shot(patient, '06-patient-record');

    // Who saw my record: the practitioner's visit in one row, in words; its entries, each proof
    // checked in the browser, one click away.
    await patient.getByRole('tab', { name: 'Who saw my record' }).click();
    const practitionerVisit =
      /practitioner[\s\S]*at Roam Demo Hospital \(eu\)[\s\S]*added [^;.]*\b1 observation\b[\s\S]*✓ verified/;
    await refreshUntil(
      patient,
      () => patient.getByRole('button', { name: 'Refresh' }).click(),
      '[data-testid="audit-visit"]',
      practitionerVisit,
    );
    await patient
      .getByTestId('audit-visit')
      .filter({ hasText: practitionerVisit })
      .getByRole('button', { name: 'Show entries' })
      .click();
    await patient
      .getByTestId('audit-row')
      .filter({ hasText: /create Observation[\s\S]*✓ verified/ })
      .waitFor();
    assert.equal(await patient.getByText('✗ not verified').count(), 0);
    await shot(patient, '07-patient-audit');

    // Revoke: one click.
    await patient.getByRole('tab', { name: 'Sharing' }).click();
    await patient.getByTestId('active-grant').getByRole('button', { name: 'Revoke' }).click();
    await patient.getByText('Nobody: you have not shared your record.').waitFor();
    await focusOn(patient, /^Revoked: Roam Demo Hospital no longer has access\.$/);
    await shot(patient, '08-patient-revoked');

    // The practitioner now sees "access revoked".
    await provider.getByRole('button', { name: 'Refresh' }).first().click();
    await provider.getByTestId('access-state').filter({ hasText: 'Access revoked' }).waitFor();
    await shot(provider, '09-provider-access-revoked');

    // The practitioner asks again; the patient approves; the chart is back (old records readable).
    // A request carries coded fields only (no free text on the chain): the purpose of use.
    await provider.getByRole('button', { name: 'Request access' }).click();
    await provider.getByText('Request sent.').waitFor();
    await patient.getByRole('tab', { name: 'Who saw my record' }).click();
    await patient.getByRole('tab', { name: 'Sharing' }).click();
    await patient.locator('.request').filter({ hasText: 'Roam Demo Hospital asks to' }).waitFor();
    await shot(patient, '10-patient-access-request');
    await patient.getByRole('button', { name: 'Approve' }).click();
    await patient
      .getByTestId('active-grant')
      .filter({ hasText: 'Roam Demo Hospital in eu can read your whole record' })
      .waitFor();

    // The link the patient shows opens the chart in a fresh console (the stored wallet unlocks).
    await patient.getByRole('button', { name: 'Show my link for a provider' }).click();
    const link = (await patient.locator('.share a').getAttribute('href'))!;
    assert.ok(link.endsWith(`/provider#did=${encodeURIComponent(did)}`), link);
    await provider.goto(link);
    await provider.reload();
    await provider.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await provider.getByRole('button', { name: 'Unlock' }).click();
    await provider.locator('.timeline-item').filter({ hasText: 'Blood pressure: 128/82 mmHg' }).waitFor();
    assert.equal(
      await provider.getByLabel('Patient DID or the link the patient shows you').inputValue(),
      did,
    );
    assert.equal(
      await provider.getByRole('heading', { name: 'Add a record' }).count(),
      0,
      'read-only grant: no form',
    );

    // The ledger explorer shows a visitor block headers only: nothing to verify.
    const visitor = await ctx.newPage();
    await visitor.goto(`${demo.url}/explorer`);
    await visitor.getByTestId('redacted-note').filter({ hasText: 'Block headers only' }).waitFor();
    assert.equal(await visitor.getByRole('button', { name: 'Verify this transaction' }).count(), 0);
    await visitor.close();

    // Signed in (the practitioner's tab, navigating in the app): blocks, a transaction verified
    // in the browser.
    const explorer = provider;
    await explorer.getByRole('link', { name: 'Ledger explorer' }).click();
    await explorer.getByRole('heading', { name: 'Latest blocks' }).waitFor();
    await explorer
      .getByRole('button', { name: /^#\d+$/ })
      .first()
      .click();
    await explorer.getByRole('button', { name: 'Verify this transaction' }).first().click();
    await explorer.getByText('✓ verified').first().waitFor();
    await shot(explorer, '11-explorer');

    // The Nodes panel of the demo: one node, this one, with its region and height.
    const nodesPanel = explorer.getByRole('region', { name: 'Nodes', exact: true });
    await nodesPanel
      .getByTestId('network-summary')
      .filter({ hasText: 'This network has one node: this one.' })
      .waitFor();
    const nodeCards = nodesPanel.getByRole('list', { name: 'Nodes of the network' }).getByRole('listitem');
    assert.equal(await nodeCards.count(), 1);
    const selfCard = nodeCards.filter({
      has: explorer.getByRole('heading', { name: /Roam Demo Hospital this node/ }),
    });
    await selfCard.waitFor();
    assert.match((await selfCard.textContent())!, /Region\s*eu/);
    assert.match((await selfCard.getByTestId('node-height').textContent())!, /^\d+$/);
    assert.equal(await nodesPanel.getByTestId('diverged-warning').count(), 0);
    await shot(explorer, '13-explorer-nodes-one');

    // The same panel for a node in a network, the status' `network` field given by the test: other
    // nodes with their agreement, and the warning of a diverged, halted node.
    const network = await explorerInNetwork(ctx, demo.url);
    const cards = network.getByRole('list', { name: 'Nodes of the network' }).getByRole('listitem');
    await network
      .getByTestId('diverged-warning')
      .filter({ hasText: 'It stopped committing: at height 3' })
      .waitFor();
    assert.equal(await cards.count(), 4);
    assert.equal(
      await network.getByTestId('network-summary').textContent(),
      '4 nodes: this one and 3 others. 1 in agreement, 1 diverged, 1 waiting for an attestation.',
    );
    assert.deepEqual(await cards.getByTestId('agreement').allTextContents(), [
      'diverged, halted',
      'in agreement',
      'diverged',
      'waiting',
    ]);
    await network.getByRole('link', { name: 'Clinic US (us)' }).waitFor();
    await shot(network, '14-explorer-nodes-diverged');
    await network.setViewportSize({ width: 390, height: 844 });
    await network
      .getByRole('heading', { name: 'This node has diverged from the network' })
      .scrollIntoViewIfNeeded();
    await shot(network, '15-explorer-nodes-phone');
    await network.close();

    // Loading, then an error: the status is held until "Loading" shows, then refused.
    const failing = await ctx.newPage();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    await failing.route('**/ledger/status', async (route) => {
      await held;
      await route.fulfill({
        status: 503,
        json: { error: { code: 'UNAVAILABLE', message: 'the node is starting' } },
      });
    });
    await failing.goto(`${demo.url}/explorer`);
    const failingNodes = failing.getByRole('region', { name: 'Nodes', exact: true });
    await failingNodes.getByRole('status').filter({ hasText: "Loading the network's nodes…" }).waitFor();
    release();
    await failingNodes
      .getByRole('alert')
      .filter({ hasText: "Could not load the network's nodes: the node is starting (UNAVAILABLE)" })
      .waitFor();
    await failing.close();

    // A phone-sized screen.
    await patient.setViewportSize({ width: 390, height: 844 });
    await patient.getByRole('tab', { name: 'My record', exact: true }).click();
    await patient.locator('.timeline-item').first().waitFor();
    await shot(patient, '12-patient-phone');

    // No keys or plaintext health data in localStorage or the console.
    const stored = await patient.evaluate('JSON.stringify(Object.assign({}, localStorage))');
    assert.equal(stored, '{}');
    assert.ok(!consoleLines.some((line) => /128|did:key|secret|phrase/i.test(line)), consoleLines.join('\n'));
  });
});
