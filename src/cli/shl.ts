/**
 * `roam shl create | show | refresh | sync | list | deactivate`: a patient's SMART Health Links.
 * `create` gets the patient's International Patient Summary, encrypts it here with a fresh key,
 * uploads only the ciphertext to the node and prints the link (`<node>/shl#shlink:/…`, the key in
 * the fragment), optionally as a QR code (PNG or SVG file, or terminal, error correction M). The
 * link is also kept at the node sealed by the wallet (src/client/share-link-keys.ts), so `show`
 * prints it again from any device with the wallet, and `refresh` / `sync` replace a long-term
 * link's file when the patient's records changed.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import QRCode from 'qrcode';
import { signIn } from '../client/auth.js';
import { FhirClient, type Bundle } from '../client/fhir.js';
import { syncShareLinks } from '../client/share-link-sync.js';
import { ShareLinkClient } from '../client/share-links.js';
import { parseShlink, shlQrSvg, SHL_QR_OPTIONS } from '../shl/index.js';
import type { ShareLinkView } from '../wire/index.js';
import { nodeUrlOption, openWallet, passphraseFileOption, subcommand, usage } from './common.js';
import { MS_PER_UNIT, parseExpiry } from './durations.js';
import { emit, fields, isoTime, table, type OutputOptions } from './output.js';
import { fetchOwnRecord, ownSummary } from './own-record.js';
import type { FhirSession } from './record.js';

/** Expiry of a link when `--exp` is not given (and `--long-term` is not asked for). */
export const DEFAULT_SHL_EXPIRY = '7d';

interface ShlCommonOptions extends OutputOptions {
  readonly wallet: string;
  readonly node: string;
  readonly passphraseFile?: string;
}

interface ShlCreateOptions extends ShlCommonOptions {
  readonly exp?: string;
  readonly passcodeFile?: string;
  readonly longTerm?: boolean;
  readonly direct?: boolean;
  readonly label?: string;
  readonly qr?: string;
  readonly qrTerminal?: boolean;
}

/**
 * The patient's IPS, as `roam record summary` gets it. The one place `roam shl` asks for the
 * summary: when the summary is built elsewhere (e.g. on the client from the whole record),
 * only this function changes.
 */
export async function patientSummaryFor(session: FhirSession): Promise<Bundle> {
  return (await patientSummaryWithDigest(session)).document;
}

/** The patient's IPS and the digest of the records it was built from (`recordsDigest`). */
export async function patientSummaryWithDigest(session: FhirSession): Promise<{ readonly document: Bundle; readonly digest: string }> {
  // Built on this device from the whole record (every custodian's records, opened with the
  // wallet), as `roam record summary` does for a patient: the node holds no key to the others'.
  const record = await fetchOwnRecord(session);
  return { document: ownSummary(record, 'en', session.patientDid), digest: record.digest };
}

/**
 * Writes the QR code of `link` (error correction M) as a PNG file.
 *
 * @example await writeShlQrPng('card.png', link);
 */
export async function writeShlQrPng(path: string, link: string): Promise<void> {
  await QRCode.toFile(path, link, { ...SHL_QR_OPTIONS, type: 'png', width: 512 });
}

/** Writes the QR code of `link` to `path`: SVG when the name ends in `.svg`, PNG otherwise. */
export async function writeShlQr(path: string, link: string): Promise<void> {
  if (path.toLowerCase().endsWith('.svg')) await writeFile(path, await shlQrSvg(link));
  else await writeShlQrPng(path, link);
}

/** The QR code of `link` (error correction M) drawn with block characters for a terminal. */
export function shlQrTerminal(link: string): Promise<string> {
  return QRCode.toString(link, { ...SHL_QR_OPTIONS, type: 'terminal', small: true });
}

export function registerShl(program: Command): void {
  const shl = program.command('shl').description('SMART Health Links: share your patient summary by link or QR code');

  common(subcommand(shl, 'create', 'encrypt your International Patient Summary and share it as a SMART Health Link'))
    .option('--exp <when>', `expiry: a duration (7d, 12h) or a date (default ${DEFAULT_SHL_EXPIRY}; none with --long-term unless given)`)
    .option('--passcode-file <file>', 'protect the link with the passcode in this file (flag P; 10 wrong tries disable it)')
    .option('--long-term', 'a link that follows your record (flag L): its file can be replaced later')
    .option('--direct', 'a single-file link opened by GET (flag U); not with --passcode-file')
    .option('--label <text>', 'a short description shown to whoever opens it (at most 80 characters)')
    .option('--qr <file>', 'also write the QR code (error correction M) to this file (.svg or .png)')
    .option('--qr-terminal', 'also draw the QR code in the terminal')
    .addHelpText(
      'after',
      `
Your client gets your summary (roam record summary), encrypts it with a fresh key (JWE, A256GCM) and
uploads only the ciphertext; the key is in the link's fragment (after #), which browsers never send
to a server. Anyone with the link (and the passcode, if set) can read the summary until it expires
or you deactivate it (roam shl deactivate). Each opening is listed by roam shl list and recorded in
your audit trail (roam audit).`,
    )
    .action(async (options: ShlCreateOptions) => {
      if (options.passcodeFile !== undefined && options.direct) {
        throw usage('--direct (flag U) cannot be combined with --passcode-file (flag P): a passcode needs the manifest request');
      }
      const now = Date.now();
      const expText = options.exp ?? (options.longTerm ? undefined : DEFAULT_SHL_EXPIRY);
      const exp = expText === undefined ? undefined : Math.floor(parseExpiry(expText, now, '--exp') / MS_PER_UNIT.s);
      const passcode = options.passcodeFile === undefined ? undefined : await readPasscode(options.passcodeFile);
      const session = await patientSession(options);
      const { document, digest } = await patientSummaryWithDigest(session);
      const created = await session.links.create({
        document,
        builtFrom: digest,
        flags: { longTerm: options.longTerm ?? false, passcode: passcode !== undefined, direct: options.direct ?? false },
        ...(passcode === undefined ? {} : { passcode }),
        ...(exp === undefined ? {} : { exp }),
        ...(options.label === undefined ? {} : { label: options.label }),
      });
      if (options.qr !== undefined) await writeShlQr(options.qr, created.link);
      const terminal = options.qrTerminal ? await shlQrTerminal(created.link) : undefined;
      emit(
        options,
        { link: created.link, id: created.view.id, flag: created.view.flag, exp: created.view.exp, label: created.view.label, ...(options.qr === undefined ? {} : { qr: options.qr }) },
        () => [
          created.link,
          ...fields([
            ['id', created.view.id],
            ['flags', created.view.flag === '' ? '-' : created.view.flag],
            ['expires', created.view.exp === null ? 'never' : isoTime(created.view.exp * 1000)],
            ...(options.qr === undefined ? [] : [['QR code', options.qr] as const]),
          ]),
          ...(terminal === undefined ? [] : [terminal]),
        ],
      );
    });

  common(subcommand(shl, 'show', 'print a link again (opened from its key kept with your wallet), with its QR code'))
    .argument('<id>', 'the link id (roam shl list)')
    .option('--qr <file>', 'write the QR code (error correction M) to this file (.svg or .png)')
    .option('--qr-terminal', 'draw the QR code in the terminal')
    .action(async (id: string, options: ShlCommonOptions & { readonly qr?: string; readonly qrTerminal?: boolean }) => {
      const session = await patientSession(options);
      const view = findLink(await session.links.list(), id);
      const { link, secret } = await session.links.rebuild(view);
      if (options.qr !== undefined) await writeShlQr(options.qr, link);
      const terminal = options.qrTerminal ? await shlQrTerminal(link) : undefined;
      emit(
        options,
        { link, id: view.id, status: view.status, flag: view.flag, exp: secret.exp ?? null, label: secret.label ?? null, ...(options.qr === undefined ? {} : { qr: options.qr }) },
        () => [link, ...fields([['status', view.status]]), ...(terminal === undefined ? [] : [terminal])],
      );
    });

  common(subcommand(shl, 'refresh', "replace a long-term link's file with your current summary (same link, same QR code)"))
    .argument('<id>', 'the link id (roam shl list)')
    .option('--link <link>', 'the link itself, for a link made without its key kept with your wallet')
    .action(async (id: string, options: ShlCommonOptions & { readonly link?: string }) => {
      const session = await patientSession(options);
      const { document, digest } = await patientSummaryWithDigest(session);
      const view =
        options.link === undefined
          ? await session.links.refreshSealed({ view: findLink(await session.links.list(), id), document, builtFrom: digest })
          : await session.links.refresh(id, parseShlink(options.link).key, document);
      emit(options, view, () => [`refreshed ${view.id}${view.label === null ? '' : ` (${view.label})`}`]);
    });

  common(subcommand(shl, 'sync', 'refresh every long-term link whose record changed since its file was built (for cron)')).action(
    async (options: ShlCommonOptions) => {
      const session = await patientSession(options);
      const links = await session.links.list();
      const record = await fetchOwnRecord(session);
      const outcomes = await syncShareLinks({
        client: session.links,
        holder: session.wallet,
        links,
        currentDigest: record.digest,
        // Built only when some link needs a new file.
        buildDocument: () => Promise.resolve(ownSummary(record, 'en', session.patientDid)),
      });
      emit(options, { count: outcomes.length, links: outcomes }, () =>
        outcomes.length === 0 ? ['No active long-term links'] : outcomes.map((o) => `${o.id} ${o.outcome}${o.label === null ? '' : ` (${o.label})`}`),
      );
    },
  );

  common(subcommand(shl, 'list', 'your SMART Health Links and who opened them')).action(async (options: ShlCommonOptions) => {
    const links = await (await patientSession(options)).links.list();
    emit(options, { count: links.length, links }, () => linkLines(links));
  });

  common(subcommand(shl, 'deactivate', 'stop a SMART Health Link at once (its QR code stops working)'))
    .argument('<id>', 'the link id (roam shl list)')
    .action(async (id: string, options: ShlCommonOptions) => {
      const view = await (await patientSession(options)).links.deactivate(id);
      emit(options, view, () => [`deactivated ${view.id}${view.label === null ? '' : ` (${view.label})`}`]);
    });
}

function common(command: Command): Command {
  return command
    .requiredOption('--wallet <file>', 'your patient wallet')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption());
}

/** The patient signed in at the node: FHIR (for the summary) and the share-link routes, one token. */
async function patientSession(options: ShlCommonOptions): Promise<FhirSession & { readonly links: ShareLinkClient }> {
  const wallet = await openWallet(options.wallet, options);
  if (wallet.role !== 'patient') throw usage(`only a patient shares a summary by link; ${options.wallet} is a ${wallet.role} wallet`);
  const { access_token, org } = await signIn({ baseUrl: options.node }, wallet);
  return {
    wallet,
    fhir: new FhirClient(options.node, access_token),
    patientDid: wallet.did,
    node: options.node,
    org,
    accessToken: access_token,
    links: new ShareLinkClient({ baseUrl: options.node, accessToken: access_token, holder: wallet }),
  };
}

/** The link `id` among the patient's, or a usage error naming it. */
function findLink(links: readonly ShareLinkView[], id: string): ShareLinkView {
  const view = links.find((l) => l.id === id);
  if (view === undefined) throw usage(`no link ${id} of yours (roam shl list)`);
  return view;
}

async function readPasscode(path: string): Promise<string> {
  const passcode = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  if (passcode.length < 4) throw usage(`--passcode-file ${path}: the passcode must be at least 4 characters`);
  return passcode;
}

function linkLines(links: readonly ShareLinkView[]): string[] {
  if (links.length === 0) return ['No SMART Health Links'];
  const lines = table(
    ['id', 'status', 'flags', 'expires', 'label', 'opened', 'QR again'],
    links.map((l) => [
      l.id,
      l.status,
      l.flag === '' ? '-' : l.flag,
      l.exp === null ? 'never' : isoTime(l.exp * 1000),
      l.label ?? '',
      String(l.accesses.filter((a) => a.outcome === 'success').length),
      l.sealedKey === null ? 'no' : 'yes',
    ]),
  );
  for (const link of links) {
    for (const access of link.accesses) {
      lines.push(`  ${link.id.slice(0, 8)} ${isoTime(access.at)} ${access.kind} ${access.outcome} by ${JSON.stringify(access.recipient)}`);
    }
  }
  return lines;
}
