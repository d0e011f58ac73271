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
import { emergencyAccessTx } from '../client/index.js';
import { waitForEmergencyKeys } from '../client/emergency-keys.js';
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

/**
 * Adds `access` to the `roam emergency` command group.
 *
 * @example registerEmergencyAccess(program.command('emergency'));
 */
export function registerEmergencyAccess(emergency: Command): void {
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
      emit(
        options,
        {
          id: status.id,
          patient: status.patient,
          reason: options.reason,
          start: status.start,
          end: status.end,
          releases: status.releases,
          threshold: status.threshold,
          tx: committed.id,
        },
        () => [
          `Break-glass access ${status.id} is active (keys released by ${status.releases} of the trustees, ${status.threshold} needed)`,
          ...fields([
            ['patient', status.patient],
            ['reason', options.reason],
            ['from', isoTime(status.start)],
            ['until', isoTime(status.end)],
          ]),
        ],
      );
    });
}
