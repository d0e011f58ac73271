/**
 * `roam emergency enable | disable | show | flag`: a patient decides beforehand whether a
 * practitioner may break the glass in an emergency, and sees every time one did.
 *
 * Enabling escrows the record keys of the chosen classes (default `general`) under a fresh escrow
 * key split among trustee organizations (default: every active member, at most seven; a strict
 * majority opens it). Disabling removes the shares and the escrow from the ledger's state.
 * The requester's side, `roam emergency access`, joins this group (see src/cli/main.ts).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isEmergencyActive } from '../contracts/index.js';
import { TxType, type SensitivityClass } from '../ledger/index.js';
import type { EmergencyAccessSummary, EmergencyPolicySummary, OrgSummary } from '../wire/index.js';
import { nodeUrlOption, openWallet, parseList, passphraseFileOption, subcommand } from './common.js';
import { connect } from './connect.js';
import { openPatientWallet, parseClasses, shortDid } from './consent.js';
import { enableEmergency } from './emergency-escrow.js';
import { emit, fields, isoTime, table, type OutputOptions } from './output.js';

interface WalletNodeOptions extends OutputOptions {
  readonly wallet: string;
  readonly node: string;
  readonly passphraseFile?: string;
}

interface EnableOptions extends WalletNodeOptions {
  readonly classes?: SensitivityClass[];
  readonly trustees?: string[];
  readonly threshold?: number;
}

/** Registers `roam emergency …` and returns the group, for the commands other modules add to it. */
export function registerEmergency(program: Command): Command {
  const emergency = program
    .command('emergency')
    .description('emergency access (break-glass) to a patient\'s records: the patient\'s policy and its trail');

  walletCommand(emergency, 'enable', 'allow emergency access to your records (escrows your record keys)')
    .option('--classes <classes>', 'sensitivity classes an emergency may open (default: general)', parseClasses)
    .option('--trustees <orgs>', 'trustee organizations, by DID or name (default: every active member, at most 7)', parseList)
    .option('--threshold <k>', 'how many trustees must release (default: a strict majority)', parseThreshold)
    .action(async (options: EnableOptions) => {
      const wallet = await openPatientWallet(options.wallet, options);
      const api = connect(options.node, wallet);
      const enabled = await enableEmergency(api, wallet, {
        ...(options.classes === undefined ? {} : { classes: options.classes }),
        ...(options.trustees === undefined ? {} : { trustees: options.trustees }),
        ...(options.threshold === undefined ? {} : { threshold: options.threshold }),
      });
      emit(options, { patient: wallet.did, status: 'enabled', ...enabled }, () => [
        'Emergency access enabled',
        ...fields([
          ['classes', enabled.classes.join(', ')],
          ['trustees', enabled.trustees.map((t) => t.name).join(', ')],
          ['threshold', `${enabled.threshold} of ${enabled.trustees.length}`],
          ['record keys', `epochs 0..${enabled.epoch}`],
          ['transaction', enabled.txId],
        ]),
      ]);
    });

  walletCommand(emergency, 'disable', 'refuse emergency access (removes the escrow from the ledger)').action(
    async (options: WalletNodeOptions) => {
      const wallet = await openPatientWallet(options.wallet, options);
      const api = connect(options.node, wallet);
      const committed = await api.submit(wallet, TxType.EmergencyDisable, {});
      emit(options, { patient: wallet.did, status: 'disabled', txId: committed.id, height: committed.height }, () => [
        'Emergency access disabled',
        ...fields([['transaction', committed.id]]),
      ]);
    },
  );

  walletCommand(emergency, 'show', 'your emergency policy and every break-glass of your records').action(
    async (options: WalletNodeOptions) => {
      const wallet = await openWallet(options.wallet, options);
      const api = connect(options.node, wallet);
      const [{ policy, accesses }, orgs] = await Promise.all([api.emergency(wallet.did), api.orgs()]);
      const now = Date.now();
      const shown = accesses.map((access) => ({ ...access, active: isEmergencyActive(access, now) }));
      emit(options, { patient: wallet.did, policy, accesses: shown }, () => [
        ...policyLines(policy, orgs),
        '',
        ...accessLines(shown, orgs),
      ]);
    },
  );

  walletCommand(emergency, 'flag', 'flag a break-glass of your records for review')
    .argument('<accessId>', 'the emergency access id (see roam emergency show)')
    .action(async (access: string, options: WalletNodeOptions) => {
      // A patient, or an admin of an organization the patient granted: the ledger decides.
      const wallet = await openWallet(options.wallet, options);
      const api = connect(options.node, wallet);
      const committed = await api.submit(wallet, TxType.EmergencyFlag, { access });
      emit(options, { access, flagged: true, txId: committed.id, height: committed.height }, () => [
        `Flagged emergency access ${access} for review`,
        ...fields([['transaction', committed.id]]),
      ]);
    });

  return emergency;
}

function walletCommand(parent: Command, name: string, description: string): Command {
  return subcommand(parent, name, description)
    .requiredOption('--wallet <file>', 'your wallet')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption());
}

function parseThreshold(text: string): number {
  const k = Number(text);
  if (!/^[1-7]$/.test(text)) throw new InvalidArgumentError('expected a number of trustees from 1 to 7');
  return k;
}

function orgName(orgs: readonly OrgSummary[], did: string): string {
  const org = orgs.find((o) => o.did === did);
  return org === undefined ? shortDid(did) : org.name;
}

function policyLines(policy: EmergencyPolicySummary | null, orgs: readonly OrgSummary[]): string[] {
  if (policy === null) return ['Emergency access: never enabled (a break-glass is refused)'];
  if (policy.status === 'disabled') {
    return [`Emergency access: disabled since ${isoTime(policy.updatedAt)} (a break-glass is refused)`];
  }
  return [
    'Emergency access: enabled',
    ...fields([
      ['classes', policy.classes.join(', ')],
      ['trustees', policy.trustees.map((did) => orgName(orgs, did)).join(', ')],
      ['threshold', `${policy.threshold} of ${policy.trustees.length}`],
      ['record keys', `epochs 0..${policy.escrow.epoch}`],
      ['since', isoTime(policy.updatedAt)],
    ]),
  ];
}

function accessLines(
  accesses: ReadonlyArray<EmergencyAccessSummary & { readonly active: boolean }>,
  orgs: readonly OrgSummary[],
): string[] {
  if (accesses.length === 0) return ['No break-glass of your records'];
  return [
    `${accesses.length} break-glass access${accesses.length === 1 ? '' : 'es'} of your records:`,
    ...table(
      ['id', 'who', 'organization', 'region', 'when', 'why', 'releases', 'flagged'],
      accesses.map((a) => [
        a.id,
        shortDid(a.requester),
        a.orgName ?? orgName(orgs, a.org),
        a.region ?? '?',
        `${isoTime(a.start)} → ${isoTime(a.end)}${a.active ? ' (active)' : ''}`,
        a.reason,
        `${a.releases.length}/${a.threshold}${a.releases.length === 0 ? '' : ` (${a.releases.map((r) => orgName(orgs, r.org)).join(', ')})`}`,
        a.flagged === undefined ? 'no' : `yes, ${isoTime(a.flagged.at)}`,
      ]),
    ),
  ];
}
