/**
 * `roam emergency access`: a practitioner whose organization gave them the `emergency` role
 * breaks the glass for a patient who cannot consent. It submits `emergency.access` (coded reason,
 * a window of at most 24 h), then waits until the practitioner's node holds the patient's record
 * keys: the trustee organizations' nodes release their shares of the patient's escrow key on
 * their own ledgers, and the node reconstructs it once `threshold` of them arrived. Too few
 * releases in time end with EMERGENCY_SHARES_INSUFFICIENT; releases that do not reconstruct the
 * committed key with EMERGENCY_SHARES_INVALID. Everything read under it is audited as
 * break-glass, and the patient sees it.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { signIn } from '../client/auth.js';
import {
  emergencyAccessTx,
  emergencyKeys,
  waitForEmergencyKeys,
  type EmergencyKeysResponse,
} from '../client/index.js';
import { EMERGENCY_REASONS, MAX_EMERGENCY_DURATION_MS, type EmergencyReason } from '../contracts/index.js';
import { nodeUrlOption, openWallet, parseDid, passphraseFileOption, subcommand } from './common.js';
import { connect } from './connect.js';
import { parseDuration } from './durations.js';
import { CliError, emit, fields, isoTime, type OutputOptions } from './output.js';

/** How long the command waits for the releases by default. */
export const DEFAULT_RELEASE_WAIT = '30s';
/** The window of a break-glass unless `--duration` says otherwise. */
export const DEFAULT_EMERGENCY_DURATION = '4h';

interface AccessOptions extends OutputOptions {
  readonly wallet: string;
  readonly node: string;
  readonly patient: string;
  readonly reason: EmergencyReason;
  readonly duration: string;
  readonly wait: string;
  readonly passphraseFile?: string;
}

function parseReason(text: string): EmergencyReason {
  if (!(EMERGENCY_REASONS as readonly string[]).includes(text))
    throw new InvalidArgumentError(`expected one of ${EMERGENCY_REASONS.join(', ')}`);
  return text as EmergencyReason;
}

/** The lines of a key status. */
function statusLines(status: EmergencyKeysResponse): string[] {
  return fields([
    ['access', status.id],
    ['patient', status.patient],
    ['keys', status.code === undefined ? status.keys : `${status.keys} (${status.code})`],
    ['releases', `${status.releases} of ${status.trustees} trustees (${status.threshold} needed)`],
    ['from', isoTime(status.start)],
    ['until', isoTime(status.end)],
  ]);
}

/**
 * Adds `access` and `status` (the requester's side) to the `roam emergency` command group.
 *
 * @example registerEmergencyAccess(program.command('emergency'));
 */
export function registerEmergencyAccess(emergency: Command): void {
  subcommand(emergency, 'status', 'where the keys of your break-glass stand on your node')
    .requiredOption('--wallet <file>', 'your practitioner wallet (the one that broke the glass)')
    .addOption(nodeUrlOption())
    .requiredOption('--id <access>', 'the emergency access id (printed by roam emergency access)')
    .addOption(passphraseFileOption())
    .action(
      async (
        options: OutputOptions & { wallet: string; node: string; id: string; passphraseFile?: string },
      ) => {
        const wallet = await openWallet(options.wallet, options);
        const { access_token } = await signIn({ baseUrl: options.node }, wallet);
        const status = await emergencyKeys({ baseUrl: options.node, token: access_token, id: options.id });
        emit(options, status, () => statusLines(status));
      },
    );

  subcommand(emergency, 'access', "break the glass: read a patient's emergency summary without a grant")
    .requiredOption('--wallet <file>', 'your practitioner wallet (role emergency)')
    .addOption(nodeUrlOption())
    .requiredOption('--patient <did>', "the patient's DID (from their emergency card or phone)", parseDid)
    .requiredOption('--reason <code>', `purpose of use: ${EMERGENCY_REASONS.join(' | ')}`, parseReason)
    .option('--duration <d>', 'how long the access lasts (at most 24h)', DEFAULT_EMERGENCY_DURATION)
    .option('--wait <d>', "how long to wait for the trustees' releases", DEFAULT_RELEASE_WAIT)
    .addOption(passphraseFileOption())
    .addHelpText(
      'after',
      `
The access is a ledger transaction naming you, your organization, the patient and the reason; it
reaches only the patient's summary types (allergies, medications, problems, …) of the classes the
patient chose, read only, until it ends. The patient's trail shows it as break-glass.
Then read with: roam record summary --wallet <file> --node <url> --patient <did>`,
    )
    .action(async (options: AccessOptions) => {
      const durationMs = parseDuration(options.duration, '--duration');
      if (durationMs > MAX_EMERGENCY_DURATION_MS)
        throw new CliError('USAGE', `--duration ${options.duration} is longer than 24h`);
      const waitMs = parseDuration(options.wait, '--wait');
      const wallet = await openWallet(options.wallet, options);
      const api = connect(options.node, wallet);
      const tx = emergencyAccessTx({ patient: options.patient, reason: options.reason, durationMs });
      const committed = await api.submit(wallet, tx.type, tx.payload);
      const { access_token } = await signIn({ baseUrl: options.node }, wallet);
      const status = await waitForEmergencyKeys({
        baseUrl: options.node,
        token: access_token,
        id: tx.payload.id,
        timeoutMs: waitMs,
      });
      if (status.keys === 'invalid')
        throw new CliError(
          status.code ?? 'EMERGENCY_SHARES_INVALID',
          `access ${status.id}: the ${status.releases} released share(s) do not reconstruct the patient's escrow key`,
        );
      if (status.keys !== 'ready')
        throw new CliError(
          'EMERGENCY_SHARES_INSUFFICIENT',
          `access ${status.id}: ${status.releases} of ${status.threshold} trustee release(s) arrived ${status.keys === 'ended' ? 'before the access ended' : `within ${options.wait}`}; the access stays on the ledger (and in the patient's trail) until ${isoTime(status.end)}`,
        );
      emit(options, { ...status, reason: options.reason, tx: committed.id }, () => [
        `Break-glass: you may read the patient's emergency summary until ${isoTime(status.end)}`,
        ...statusLines(status),
      ]);
    });
}
