/** `roam init`: a new one-organization network in a data folder. */
import type { Command } from 'commander';
import { initNetwork } from '../node/index.js';
import {
  parsePort,
  parseUrl,
  passphraseFileOption,
  passphraseFrom,
  subcommand,
  walletKdfParams,
} from './common.js';
import { emit, fields, type OutputOptions } from './output.js';

interface InitCommandOptions extends OutputOptions {
  readonly data: string;
  readonly org: string;
  readonly region: string;
  readonly host?: string;
  readonly port?: number;
  readonly publicUrl?: string;
  readonly passphraseFile?: string;
}

export function registerInit(program: Command): void {
  subcommand(program, 'init', "create a new network whose founder is this node's organization")
    .requiredOption('--data <dir>', 'data folder for the node (must not hold a node yet)')
    .requiredOption('--org <name>', 'name of your organization')
    .requiredOption('--region <region>', 'region the node runs in, e.g. eu')
    .option('--host <host>', 'address the node listens on (default 127.0.0.1)')
    .option('--port <port>', 'port the node listens on (default 8080)', parsePort)
    .option('--public-url <url>', 'URL other parties reach the node at (default http://host:port)', parseUrl)
    .addOption(passphraseFileOption())
    .addHelpText(
      'after',
      '\nThe admin wallet is encrypted with the passphrase from --passphrase-file or ROAM_PASSPHRASE.',
    )
    .action(async (options: InitCommandOptions) => {
      const adminPassphrase = await passphraseFrom(options);
      const walletKdf = walletKdfParams();
      const result = await initNetwork({
        dataDir: options.data,
        orgName: options.org,
        region: options.region,
        adminPassphrase,
        ...(options.host === undefined ? {} : { host: options.host }),
        ...(options.port === undefined ? {} : { port: options.port }),
        ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
        ...(walletKdf ? { walletKdf } : {}),
      });
      emit(options, result, () => [
        `Initialized a new Roam network in ${result.dataDir}`,
        ...fields([
          ['chain id', result.chainId],
          ['org DID', result.orgDid],
          ['node DID', result.nodeDid],
          ['admin DID', result.adminDid],
          ['admin wallet', result.adminWalletPath],
          ['public URL', result.publicUrl],
        ]),
        '',
        `Start the node with: roam start --data ${result.dataDir}`,
      ]);
    });
}
