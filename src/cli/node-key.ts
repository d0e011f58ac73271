/** `roam node encrypt-key`: protects a node key written in clear with a passphrase. */
import type { Command } from 'commander';
import { DataFiles, encryptNodeKeyFile, NODE_PASSPHRASE_ENV_VAR } from '../node/index.js';
import { nodePassphraseFileOption, nodePassphraseFrom, subcommand, usage, walletKdfParams } from './common.js';
import { emit, fields, type OutputOptions } from './output.js';

interface EncryptKeyCommandOptions extends OutputOptions {
  readonly data: string;
  readonly nodePassphraseFile?: string;
}

export function registerNodeKey(program: Command): void {
  const node = program.command('node').description("manage a node's own files");

  subcommand(node, 'encrypt-key', 'encrypt the node key (node.key.json) of a data folder in place with a passphrase')
    .requiredOption('--data <dir>', "the node's data folder (see roam init)")
    .addOption(nodePassphraseFileOption())
    .addHelpText(
      'after',
      '\nThe encrypted file is written beside the clear one and renamed over it, so a crash leaves one of\n' +
        `the two whole. Start the node afterwards with the same --node-passphrase-file or ${NODE_PASSPHRASE_ENV_VAR};\n` +
        'keep that file out of the data folder and its backups. Stop the node before running this.',
    )
    .action(async (options: EncryptKeyCommandOptions) => {
      const passphrase = await nodePassphraseFrom(options);
      if (passphrase === undefined) {
        throw usage(`give the node key's passphrase with --node-passphrase-file <file> or ${NODE_PASSPHRASE_ENV_VAR}`);
      }
      const kdfParams = walletKdfParams();
      const path = DataFiles.nodeKey(options.data);
      const dids = await encryptNodeKeyFile(path, { passphrase, ...(kdfParams ? { kdfParams } : {}) });
      emit(options, { path, encrypted: true, ...dids }, () => [
        `Encrypted the node key ${path}`,
        ...fields([
          ['node DID', dids.nodeDid],
          ['org DID', dids.orgDid],
        ]),
        '',
        `Start the node with: roam start --data ${options.data} and the same --node-passphrase-file or ${NODE_PASSPHRASE_ENV_VAR}`,
      ]);
    });
}
