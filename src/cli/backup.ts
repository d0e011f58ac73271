/**
 * `roam backup` and `roam restore`: a consistent online backup of a running node's data folder
 * into a new folder, and a checked restore of one into an empty data folder
 * (src/node/ops/backup.ts and restore.ts say what is copied, in which order, and why).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createBackup, restoreBackup } from '../node/ops/index.js';
import { subcommand } from './common.js';
import { emit, fields, type OutputOptions } from './output.js';

interface BackupOptions extends OutputOptions {
  readonly data: string;
  readonly out: string;
  readonly includeKeys?: boolean;
}

interface RestoreCliOptions extends OutputOptions {
  readonly from: string;
  readonly data: string;
}

export function registerBackup(program: Command): void {
  subcommand(program, 'backup', "back up a node's data folder (the node may be running) into a new folder")
    .requiredOption('--data <dir>', "the node's data folder")
    .requiredOption('--out <dir>', 'a new or empty folder for the backup')
    .option(
      '--include-keys',
      'also copy the node key, admin wallet, TLS key and NATS seed, as they are at rest (encrypt the node key first: roam node encrypt-key)',
    )
    .addHelpText(
      'after',
      '\nCopies ledger.sqlite and vault.sqlite online (SQLite backup), node.json, genesis.json and the' +
        '\npublic TLS files, with a manifest of sizes and SHA-256 digests. Keep the folder as private as the' +
        '\ndata folder: the vault holds ciphertexts and the ledger pseudonymous metadata. One file: tar it.',
    )
    .action(async (options: BackupOptions) => {
      const manifest = await createBackup({
        dataDir: resolve(options.data),
        outDir: resolve(options.out),
        includeKeys: options.includeKeys === true,
      });
      emit(options, manifest, () => [
        `backup written to ${resolve(options.out)}`,
        ...fields([
          ['height', String(manifest.height)],
          ['head hash', manifest.headHash],
          ['files', String(manifest.files.length)],
          [
            'keys',
            manifest.includesKeys
              ? 'included'
              : `left out (${manifest.keysLeftOut.join(', ') || 'none found'})`,
          ],
        ]),
      ]);
    });

  subcommand(program, 'restore', 'check a backup and write it as a new data folder')
    .requiredOption('--from <dir>', 'the backup folder (roam backup --out)')
    .requiredOption('--data <dir>', 'the new data folder: missing or empty')
    .addHelpText(
      'after',
      '\nChecks every file against the manifest and re-executes the ledger from genesis before writing.' +
        '\nThe restored node starts at the backup height; in a network it catches up from its peers.',
    )
    .action(async (options: RestoreCliOptions) => {
      const report = await restoreBackup({ fromDir: resolve(options.from), dataDir: resolve(options.data) });
      emit(options, report, () => [
        `restored into ${resolve(options.data)}: ledger verified`,
        ...fields([
          ['height', String(report.height)],
          ['head hash', report.headHash],
          ['transactions', String(report.transactions)],
        ]),
        ...(report.keysLeftOut.length > 0
          ? [`put back before roam start: ${report.keysLeftOut.join(', ')}`]
          : []),
        ...(report.external.length > 0
          ? [`files outside the data folder, not in the backup: ${report.external.join(', ')}`]
          : []),
      ]);
    });
}
