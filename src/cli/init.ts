/** `roam init`: a new one-organization network in a data folder. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { GenesisDocument } from '../ledger/index.js';
import { initNetwork, joinNetwork, NODE_PASSPHRASE_ENV_VAR, type InitOptions } from '../node/index.js';
import {
  nodePassphraseFileOption,
  nodePassphraseFrom,
  parseList,
  parsePort,
  parseUrl,
  passphraseFileOption,
  passphraseFrom,
  subcommand,
  usage,
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
  readonly nodePassphraseFile?: string;
  readonly join?: string;
  readonly nats?: string[];
  readonly natsCa?: string;
  readonly natsSeed?: string;
}

export function registerInit(program: Command): void {
  subcommand(program, 'init', "create a new network whose founder is this node's organization")
    .requiredOption('--data <dir>', 'data folder for the node (must not hold a node yet)')
    .requiredOption('--org <name>', 'name of your organization')
    .requiredOption('--region <region>', 'region the node runs in, e.g. eu')
    .option('--host <host>', 'address the node listens on (default 127.0.0.1)')
    .option('--port <port>', 'port the node listens on (default 8080)', parsePort)
    .option('--public-url <url>', 'URL other parties reach the node at (default http://host:port)', parseUrl)
    .option('--join <genesis.json>', "join an existing network instead: its genesis file (a new organization, admitted by the members' vote)")
    .option('--nats <urls>', 'with --join: the network\'s NATS servers, comma-separated (nats://host:port,…)', parseList)
    .option('--nats-ca <file>', "with --join, on a secured network: the CA bundle of the network's NATS servers")
    .option('--nats-seed <file>', 'with --join, on a secured network: your NATS user seed (from the operator: roam network nats-user)')
    .addOption(passphraseFileOption())
    .addOption(nodePassphraseFileOption())
    .addHelpText(
      'after',
      '\nThe admin wallet is encrypted with the passphrase from --passphrase-file or ROAM_PASSPHRASE.\n' +
        `The node key (node.key.json) is encrypted with the one from --node-passphrase-file or ${NODE_PASSPHRASE_ENV_VAR}\n` +
        '(give the same to `roam start`); without either it is written in clear.\n' +
        'With --join, the node writes join-request.json: a member admin proposes it (roam org propose),\n' +
        'members vote (roam org vote), then your admin registers the node (roam org add-node) and starts it.',
    )
    .action(async (options: InitCommandOptions) => {
      const adminPassphrase = await passphraseFrom(options);
      const walletKdf = walletKdfParams();
      const nodePassphrase = await nodePassphraseFrom(options);
      const common: InitOptions = {
        dataDir: options.data,
        orgName: options.org,
        region: options.region,
        adminPassphrase,
        ...(options.host === undefined ? {} : { host: options.host }),
        ...(options.port === undefined ? {} : { port: options.port }),
        ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
        ...(walletKdf ? { walletKdf } : {}),
        ...(nodePassphrase === undefined ? {} : { nodePassphrase }),
      };
      if (options.join !== undefined) {
        if (!options.nats?.length) throw usage('--join needs --nats <urls>: the network\'s NATS servers');
        const genesis = JSON.parse(readFileSync(options.join, 'utf8')) as GenesisDocument;
        if ((options.natsCa === undefined) !== (options.natsSeed === undefined)) throw usage('--nats-ca and --nats-seed go together');
        const natsCredentials = options.natsCa !== undefined && options.natsSeed !== undefined ? { caFile: options.natsCa, nkeySeedFile: options.natsSeed } : undefined;
        const joined = await joinNetwork({ ...common, genesis, natsServers: options.nats, ...(natsCredentials ? { natsCredentials } : {}) });
        emit(options, joined, () => [
          `Prepared a node of ${options.org} to join network ${joined.chainId} in ${joined.dataDir}`,
          ...fields([
            ['org DID', joined.orgDid],
            ['node DID', joined.nodeDid],
            ['admin DID', joined.adminDid],
            ['admin wallet', joined.adminWalletPath],
            ['join request', joined.joinRequestPath],
          ]),
          '',
          'Next: a member admin runs `roam org propose --request <join-request.json>`, members vote with',
          '`roam org vote`, then your admin runs `roam org add-node --request <join-request.json>`, and',
          `you start the node with: roam start --data ${joined.dataDir}${startKeyHint(joined.keyEncrypted)}`,
          ...clearKeyAdvice(joined.keyEncrypted, joined.dataDir),
        ]);
        return;
      }
      if (options.nats !== undefined || options.natsCa !== undefined || options.natsSeed !== undefined) throw usage('--nats, --nats-ca and --nats-seed go with --join');
      const result = await initNetwork(common);
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
        `Start the node with: roam start --data ${result.dataDir}${startKeyHint(result.keyEncrypted)}`,
        ...clearKeyAdvice(result.keyEncrypted, result.dataDir),
      ]);
    });
}

/** How `roam start` gets the passphrase of an encrypted node key. */
function startKeyHint(keyEncrypted: boolean): string {
  return keyEncrypted ? ` and the same --node-passphrase-file or ${NODE_PASSPHRASE_ENV_VAR}` : '';
}

/** What `roam init` says about a node key it wrote in clear. */
function clearKeyAdvice(keyEncrypted: boolean, dataDir: string): string[] {
  if (keyEncrypted) return [];
  return [
    '',
    'The node key (node.key.json) is NOT encrypted: it opens every record key granted to your organization.',
    `Encrypt it with: roam node encrypt-key --data ${dataDir} --node-passphrase-file <file> (or ${NODE_PASSPHRASE_ENV_VAR}),`,
    'then start the node with the same passphrase file or variable.',
  ];
}
