#!/usr/bin/env node
/**
 * `roam`: the command-line interface for operators, patients and practitioners.
 *
 * Every command takes `--help` and `--json` (one JSON object on stdout). Failures print one line,
 * `roam: <CODE>: <message>`, on stderr and exit with 2 for usage errors, 1 otherwise.
 * Passphrases come only from `--passphrase-file <file>` or the ROAM_PASSPHRASE environment variable.
 *
 * @example roam init --data ./data --org "St. Mary" --region eu && roam start --data ./data
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { debugEnabled } from './common.js';
import { registerAudit } from './audit.js';
import { registerBackup } from './backup.js';
import { registerConsent } from './consent.js';
import { registerReplica } from './replica.js';
import { registerDemo } from './demo.js';
import { registerEmergency } from './emergency.js';
import { registerEmergencyAccess } from './emergency-access.js';
import { registerImport } from './import.js';
import { registerInit } from './init.js';
import { registerLedger } from './ledger.js';
import { registerNetwork } from './network.js';
import { registerNodeKey } from './node-key.js';
import { registerOrg } from './org.js';
import { CliError, CliErrorCode, EXIT_USAGE, reportError } from './output.js';
import { registerPatient } from './patient.js';
import { registerRecord } from './record.js';
import { registerShl } from './shl.js';
import { registerStart } from './start.js';
import { registerToken } from './token.js';
import { registerWallet } from './wallet.js';

export const CLI_VERSION = '0.1.0';

/** The `roam` program with every command group. */
export function buildProgram(): Command {
  const program = new Command('roam')
    .description('Roam: a personal health record on a permissioned ledger')
    .version(CLI_VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    // Settings set before adding subcommands are inherited by them.
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .addHelpText(
      'after',
      `
Passphrases are read only from --passphrase-file <file> or the ROAM_PASSPHRASE environment variable.
Every command accepts --json for machine-readable output. Run "roam <command> --help" for details.
Failures print "roam: <CODE>: <message>" on stderr and exit 2 (usage) or 1; ROAM_DEBUG=1 adds stack traces of internal errors.`,
    );
  registerInit(program);
  registerStart(program);
  registerDemo(program);
  registerWallet(program);
  registerPatient(program);
  registerOrg(program);
  registerConsent(program);
  registerReplica(program);
  // The patient's side (enable, disable, show, flag), and the requester's `roam emergency access`.
  registerEmergencyAccess(registerEmergency(program));
  registerLedger(program);
  registerToken(program);
  registerRecord(program);
  registerImport(program);
  registerAudit(program);
  registerShl(program);
  registerNetwork(program);
  registerNodeKey(program);
  registerBackup(program);
  return program;
}

/** Runs the CLI with `argv` (without the node and script paths) and returns the exit status. */
export async function run(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version were printed by commander itself; anything else is a usage error.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      if (error.code === 'commander.help') return error.exitCode === 0 ? 0 : EXIT_USAGE;
      const message = error.message.replace(/^error:\s*/, '');
      return reportError(new CliError(CliErrorCode.USAGE, message), json, false);
    }
    return reportError(error, json, debugEnabled());
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const status = await run(process.argv.slice(2));
  // Long-running commands (start, demo) keep the event loop alive and exit on a signal.
  process.exitCode = status;
}
