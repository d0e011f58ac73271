// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * `roam shl create | show | refresh | sync | list | deactivate` through the real CLI and a real
 * node process on 127.0.0.1: a passcode link over the patient's imported summary (with its PNG QR
 * code), opened by a viewer that records the recipient; the patient lists the access and
 * deactivates the link, after which the manifest URL answers 404; `show` prints a link again (and
 * its QR code) from the key the wallet keeps, `refresh` and `sync` need no link in hand.
 * `--direct` with `--passcode-file` is a usage error.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import decodeQR from 'qr/decode.js';
import { parseShlink, resolveShlink } from '../../src/shl/index.js';
import type { ShareLinkView } from '../../src/wire/index.js';
import { freePort } from '../support/ports.js';
import { jsonFilesIn, SYNTHEA_DIR } from '../support/testdata.js';
import { roam, roamJson, startCli, tempDir, type RunningCli } from './harness.js';

/** pngjs (the PNG codec `qrcode` itself uses) has no type declarations of its own. */
const { PNG } = createRequire(import.meta.url)('pngjs') as {
  PNG: { sync: { read(data: Buffer): { width: number; height: number; data: Uint8Array } } };
};

describe('roam shl', () => {
  const { dir, cleanup } = tempDir();
  const data = join(dir, 'node');
  const wallet = join(dir, 'patient.wallet.json');
  const passcodeFile = join(dir, 'passcode.txt');
  let node: RunningCli | undefined;
  let link = '';
  let linkId = '';
  const withNode = (args: string[]) => [...args, '--wallet', wallet, '--node', node!.url];

  before(async () => {
    // A fixed port: the node hands out manifest URLs under its public URL.
    const port = String(await freePort());
    const init = await roamJson<{ orgDid: string }>(['init', '--data', data, '--org', 'Shl General', '--region', 'eu', '--port', port]);
    node = await startCli(['start', '--data', data, '--port', port]);
    await roamJson(['wallet', 'create', '--out', wallet, '--role', 'patient']);
    await roamJson(withNode(['patient', 'register']));
    await roamJson(withNode(['consent', 'grant', '--to', init.orgDid, '--scope', 'all', '--classes', 'general', '--write']));
    const [smallest] = jsonFilesIn(SYNTHEA_DIR).sort((a, b) => statSync(a).size - statSync(b).size);
    await roamJson(withNode(['import', '--bundle', smallest ?? '', '--json']));
    writeFileSync(passcodeFile, 'harbour-2291\n');
  });
  after(async () => {
    await node?.stop('SIGKILL');
    cleanup();
  });

  it('create: prints a passcode link to the node viewer and writes its QR code', async () => {
    const qr = join(dir, 'link.png');
    const created = await roamJson<{ link: string; id: string; flag: string; exp: number; qr: string }>(
      withNode(['shl', 'create', '--passcode-file', passcodeFile, '--label', 'For the doctor abroad', '--exp', '2d', '--qr', qr, '--json']),
    );
    link = created.link;
    linkId = created.id;
    assert.ok(link.startsWith(`${node!.url}/shl#shlink:/`), link);
    assert.equal(created.flag, 'P');
    assert.ok(Math.abs(created.exp - (Date.now() / 1000 + 2 * 86_400)) < 120);
    assert.ok(existsSync(qr) && statSync(qr).size > 0);
    const payload = parseShlink(link);
    assert.equal(payload.label, 'For the doctor abroad');
    const [file] = await resolveShlink({ payload, recipient: 'Dr. Okafor, Lagos', passcode: 'harbour-2291' });
    assert.equal((JSON.parse(file?.text ?? '{}') as { type?: string }).type, 'document');
  });

  it('list: the link with the recipient who opened it', async () => {
    const listed = await roamJson<{ count: number; links: ShareLinkView[] }>(withNode(['shl', 'list', '--json']));
    const mine = listed.links.find((l) => l.id === linkId);
    assert.equal(mine?.status, 'active');
    assert.ok(mine?.accesses.some((a) => a.recipient === 'Dr. Okafor, Lagos' && a.outcome === 'success'));
    const human = await roam(withNode(['shl', 'list']));
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /Dr\. Okafor, Lagos/);
  });

  it('deactivate: the link stops answering at once', async () => {
    const off = await roamJson<ShareLinkView>(withNode(['shl', 'deactivate', linkId, '--json']));
    assert.equal(off.status, 'deactivated');
    const response = await fetch(parseShlink(link).url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ recipient: 'late', passcode: 'harbour-2291' }),
    });
    assert.equal(response.status, 404);
    const again = await roam(withNode(['shl', 'deactivate', '00000000-0000-4000-8000-000000000000']));
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^roam: SHL_LINK_NOT_FOUND: /);
  });

  it('refresh: a long-term link gets the current summary under the same link; a one-time link is refused', async () => {
    const created = await roamJson<{ link: string; id: string; flag: string }>(withNode(['shl', 'create', '--long-term', '--json']));
    assert.equal(created.flag, 'L');
    const refreshed = await roamJson<ShareLinkView>(withNode(['shl', 'refresh', created.id, '--link', created.link, '--json']));
    assert.ok(refreshed.updatedAt > refreshed.createdAt);
    const [file] = await resolveShlink({ payload: parseShlink(created.link), recipient: 'Dr. Okafor, Lagos' });
    assert.equal((JSON.parse(file?.text ?? '{}') as { type?: string }).type, 'document');
    const refused = await roam(withNode(['shl', 'refresh', linkId, '--link', link]));
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^roam: SHL_(NOT_LONG_TERM|LINK_INACTIVE): /);
  });

  it('show, refresh and sync need no link in hand: the wallet keeps it, sealed, at the node', async () => {
    const created = await roamJson<{ link: string; id: string }>(withNode(['shl', 'create', '--long-term', '--label', 'Kept by my wallet', '--json']));
    const png = join(dir, 'again.png');
    const svg = join(dir, 'again.svg');
    const shown = await roamJson<{ link: string; qr: string }>(withNode(['shl', 'show', created.id, '--qr', png, '--json']));
    assert.equal(shown.link, created.link, 'the same link as when it was created');
    const image = PNG.sync.read(readFileSync(png));
    assert.equal(decodeQR({ width: image.width, height: image.height, data: image.data }), created.link);
    const human = await roam(withNode(['shl', 'show', created.id, '--qr', svg]));
    assert.equal(human.status, 0, human.stderr);
    assert.equal(human.stdout.split('\n')[0], created.link);
    assert.match(readFileSync(svg, 'utf8'), /^<svg /);

    const refreshed = await roamJson<ShareLinkView>(withNode(['shl', 'refresh', created.id, '--json']));
    assert.ok(refreshed.updatedAt > refreshed.createdAt);
    const synced = await roamJson<{ links: Array<{ id: string; outcome: string }> }>(withNode(['shl', 'sync', '--json']));
    assert.deepEqual(synced.links.find((l) => l.id === created.id)?.outcome, 'unchanged', 'refresh recorded what it was built from');
    assert.ok(synced.links.every((l) => l.outcome === 'unchanged'), JSON.stringify(synced.links));
    const [file] = await resolveShlink({ payload: parseShlink(created.link), recipient: 'Dr. Okafor, Lagos' });
    assert.equal((JSON.parse(file?.text ?? '{}') as { type?: string }).type, 'document');

    const unknown = await roam(withNode(['shl', 'show', '00000000-0000-4000-8000-000000000000']));
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /no link 00000000-0000-4000-8000-000000000000 of yours/);
  });

  it('--direct with --passcode-file is a usage error, and nothing is created', async () => {
    const before = (await roamJson<{ count: number }>(withNode(['shl', 'list', '--json']))).count;
    const refused = await roam(withNode(['shl', 'create', '--direct', '--passcode-file', passcodeFile]));
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /^roam: USAGE: --direct \(flag U\) cannot be combined with --passcode-file/);
    assert.equal((await roamJson<{ count: number }>(withNode(['shl', 'list', '--json']))).count, before);
  });
});
