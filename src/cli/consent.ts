/** `roam consent grant | revoke | list`: a patient decides which organizations see which records. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  PURPOSES,
  type ConsentGrantPayload,
  type ConsentRevokePayload,
  type Purpose,
} from '../contracts/index.js';
import { randomBytes, toBase64Url } from '../crypto/index.js';
import { SENSITIVITY_CLASSES, TxType, type SensitivityClass } from '../ledger/index.js';
import {
  nodeUrlOption,
  openWallet,
  parseDid,
  parseList,
  passphraseFileOption,
  subcommand,
} from './common.js';
import { connect } from './connect.js';
import { formatRemaining, parseExpiry } from './durations.js';
import { emit, fields, isoTime, table, type OutputOptions } from './output.js';

const FHIR_TYPE = /^[A-Z][A-Za-z]{1,63}$/;

interface WalletNodeOptions extends OutputOptions {
  readonly wallet: string;
  readonly node: string;
  readonly passphraseFile?: string;
}

interface GrantOptions extends WalletNodeOptions {
  readonly to: string;
  readonly scope: string[];
  readonly classes: SensitivityClass[];
  readonly write?: boolean;
  readonly purpose: Purpose;
  readonly expires?: string;
}

export function registerConsent(program: Command): void {
  const consent = program.command('consent').description("a patient's consent grants to organizations");

  subcommand(consent, 'grant', 'grant an organization access to some of your records')
    .requiredOption('--wallet <file>', 'your patient wallet')
    .requiredOption('--to <orgDid>', 'DID of the organization to grant (see /ledger/orgs)', parseDid)
    .requiredOption(
      '--scope <types>',
      'FHIR resource types, e.g. Observation,Condition, or "all"',
      parseScope,
    )
    .option('--classes <classes>', `sensitivity classes: ${SENSITIVITY_CLASSES.join(', ')}`, parseClasses, [
      'general',
    ])
    .option('--write', 'also let the organization write records (default: read only)')
    .addOption(new Option('--purpose <purpose>', 'purpose of use').choices(PURPOSES).default('treatment'))
    .option('--expires <when>', 'expiry: a duration (30d, 12h) or a date (2026-12-31); default: no expiry')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action(async (options: GrantOptions) => {
      // Parsed before opening the wallet, so a typo costs no passphrase derivation.
      const expiresAt = options.expires === undefined ? null : parseExpiry(options.expires, Date.now());
      const wallet = await openWallet(options.wallet, options);
      const payload: ConsentGrantPayload = {
        grantId: `g-${toBase64Url(randomBytes(12))}`,
        grantee: options.to,
        scope: { resourceTypes: options.scope, classes: options.classes },
        purpose: options.purpose,
        access: options.write ? 'write' : 'read',
        expiresAt,
      };
      const committed = await connect(options.node).submit(wallet, TxType.ConsentGrant, payload);
      emit(options, { ...payload, txId: committed.id, height: committed.height }, () => [
        `Granted ${options.to} ${payload.access} access`,
        ...fields([
          ['grant id', payload.grantId],
          ['scope', `${scopeText(options.scope)} (${options.classes.join(', ')})`],
          ['purpose', payload.purpose],
          ['expires', isoTime(expiresAt)],
          ['transaction', committed.id],
        ]),
      ]);
    });

  subcommand(consent, 'revoke', 'end a grant at once')
    .requiredOption('--wallet <file>', 'your patient wallet')
    .requiredOption('--grant <id>', 'the grant id (see roam consent list)')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action(async (options: WalletNodeOptions & { readonly grant: string }) => {
      const wallet = await openWallet(options.wallet, options);
      const payload: ConsentRevokePayload = { grantId: options.grant };
      const committed = await connect(options.node).submit(wallet, TxType.ConsentRevoke, payload);
      emit(options, { grantId: options.grant, txId: committed.id, height: committed.height }, () => [
        `Revoked grant ${options.grant}`,
        ...fields([['transaction', committed.id]]),
      ]);
    });

  subcommand(consent, 'list', 'list your grants and their status')
    .requiredOption('--wallet <file>', 'your patient wallet')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action(async (options: WalletNodeOptions) => {
      const wallet = await openWallet(options.wallet, options);
      const api = connect(options.node);
      const [consents, orgs] = await Promise.all([api.consents(wallet.did), api.orgs()]);
      const orgName = new Map(orgs.map((o) => [o.did, o.name]));
      const now = Date.now();
      const grants = consents.grants.map((g) => ({
        ...g,
        granteeName: orgName.get(g.grantee) ?? null,
        state: grantState(g, now),
      }));
      emit(options, { patient: wallet.did, grants, requests: consents.requests }, () =>
        grants.length === 0
          ? [`No grants for ${wallet.did}`]
          : table(
              ['id', 'grantee', 'scope', 'access', 'expires', 'status'],
              grants.map((g) => [
                g.id,
                g.granteeName === null ? g.grantee : `${g.granteeName} (${shortDid(g.grantee)})`,
                `${scopeText(g.scope.resourceTypes)} [${g.scope.classes.join(',')}]`,
                g.access,
                g.expiresAt === null
                  ? 'never'
                  : `${isoTime(g.expiresAt)}${g.state === 'active' ? ` (in ${formatRemaining(g.expiresAt - now)})` : ''}`,
                g.state,
              ]),
            ),
      );
    });
}

/** `active`, `revoked` or `expired` (a grant past its expiry is still `active` in state). */
function grantState(
  grant: { status: string; expiresAt: number | null },
  now: number,
): 'active' | 'revoked' | 'expired' {
  if (grant.status === 'revoked') return 'revoked';
  return grant.expiresAt !== null && grant.expiresAt <= now ? 'expired' : 'active';
}

function scopeText(types: readonly string[]): string {
  return types.includes('*') ? 'all' : types.join(',');
}

function shortDid(did: string): string {
  return did.length > 24 ? `${did.slice(0, 14)}…${did.slice(-6)}` : did;
}

function parseScope(text: string): string[] {
  if (text.trim() === 'all' || text.trim() === '*') return ['*'];
  const types = parseList(text);
  if (types.length === 0) throw new InvalidArgumentError('expected FHIR resource types or "all"');
  const bad = types.find((t) => !FHIR_TYPE.test(t));
  if (bad !== undefined)
    throw new InvalidArgumentError(`"${bad}" is not a FHIR resource type name (e.g. Observation)`);
  if (new Set(types).size !== types.length) throw new InvalidArgumentError('each resource type at most once');
  return types;
}

function parseClasses(text: string): SensitivityClass[] {
  const classes = parseList(text);
  if (classes.length === 0) throw new InvalidArgumentError('expected at least one class');
  const bad = classes.find((c) => !(SENSITIVITY_CLASSES as readonly string[]).includes(c));
  if (bad !== undefined)
    throw new InvalidArgumentError(`unknown class "${bad}"; expected ${SENSITIVITY_CLASSES.join(', ')}`);
  return [...new Set(classes)] as SensitivityClass[];
}
