/** `roam network up|down`: a multi-region network (NATS JetStream cluster + one node per region) on this machine. */
import type { Command } from 'commander';
import { DEFAULT_BASE_PORT, DEFAULT_REGIONS, issueOrganizationNatsUser, networkDown, networkUp } from '../network/network.js';
import { issueNodeCertificate } from '../network/network-security.js';
import { PASSPHRASE_ENV_VAR } from '../wallet/index.js';
import { parsePort, subcommand, walletKdfParams } from './common.js';
import { emit, table, type OutputOptions } from './output.js';

interface UpOptions extends OutputOptions {
  readonly dir: string;
  readonly regions: string;
  readonly basePort?: number;
}

export function registerNetwork(program: Command): void {
  const network = program.command('network').description('run a multi-region network on this machine (3 NATS servers + one node per region)');

  subcommand(network, 'up', 'create (first run) and start a network: NATS JetStream cluster and one node per region')
    .requiredOption('--dir <dir>', 'folder of the network (created on the first run, reused after)')
    .option('--regions <list>', 'comma-separated regions, one organization and node each', DEFAULT_REGIONS.join(','))
    .option('--base-port <port>', `nodes listen on base+1…, NATS on base+11… (default ${DEFAULT_BASE_PORT})`, parsePort)
    .addHelpText(
      'after',
      `\nNeeds nats-server on PATH (Debian: apt-get install nats-server). Admin wallets use ${PASSPHRASE_ENV_VAR},\nor a passphrase generated into <dir>/passphrase.txt. Stop it with \`roam network down --dir <dir>\`.`,
    )
    .action(async (options: UpOptions) => {
      const walletKdf = walletKdfParams();
      const passphrase = process.env[PASSPHRASE_ENV_VAR];
      const started = await networkUp({
        dir: options.dir,
        regions: options.regions.split(',').map((r) => r.trim()).filter(Boolean),
        ...(options.basePort === undefined ? {} : { basePort: options.basePort }),
        cli: { execPath: process.execPath, args: [...process.execArgv, process.argv[1]!] },
        ...(passphrase ? { passphrase } : {}),
        ...(walletKdf ? { walletKdf } : {}),
        log: (line) => {
          if (!options.json) process.stderr.write(line + '\n');
        },
      });
      emit(options, started, () => [
        `Roam network of ${started.nodes.length} regions is up (chain ${started.chainId}):`,
        '',
        ...table(
          ['region', 'node URL', 'organization', 'admin wallet'],
          started.nodes.map((n) => [n.region, n.url, n.orgDid, n.adminWallet]),
        ),
        '',
        `NATS JetStream: ${started.nats.map((n) => n.url).join(', ')}${started.natsSecurity ? ` (TLS with the CA ${started.natsSecurity.caFile}; nkey users; operator seed ${started.natsSecurity.operatorSeedFile})` : ''}`,
        `Described in ${options.dir}/network.json${started.passphraseFile ? `; admin wallet passphrase in ${started.passphraseFile}` : ''}.`,
        `Stop it with: roam network down --dir ${options.dir}`,
      ]);
    });

  subcommand(network, 'nats-user', 'issue a NATS user for a newly admitted organization (operator side of a secured network)')
    .requiredOption('--dir <dir>', 'folder of the network')
    .requiredOption('--org <name>', "the organization it is for (its DID, as a label in the servers' config)")
    .requiredOption('--out <file>', "where to write the user's seed (mode 0600; a secret: hand it over privately)")
    .addHelpText('after', '\nThe organization then runs: roam init --join <genesis.json> --nats <urls> --nats-ca <ca file> --nats-seed <seed file> …')
    .action((options: OutputOptions & { dir: string; org: string; out: string }) => {
      const issued = issueOrganizationNatsUser({ dir: options.dir, name: options.org, seedFile: options.out });
      emit(options, issued, () => [
        `NATS user ${issued.publicKey} issued for ${options.org}; the running servers reloaded their config.`,
        `Seed: ${issued.seedFile} (0600). CA bundle: ${issued.caFile}.`,
      ]);
    });

  subcommand(network, 'node-cert', "issue a node's HTTPS certificate from the network's CA (operator side of admitting a node)")
    .requiredOption('--dir <dir>', 'folder of the network')
    .requiredOption('--host <names>', 'comma-separated DNS names and IP addresses the node is reached at, e.g. eu2.example.org')
    .requiredOption('--out-dir <dir>', "where to write tls/node.crt, tls/node.key (0600) and tls/ca.crt (the node's data folder, or a folder to copy from)")
    .addHelpText('after', '\nThen, in the node\'s node.json: "tls": { "certFile": "tls/node.crt", "keyFile": "tls/node.key", "caFile": "tls/ca.crt" }')
    .action(async (options: OutputOptions & { dir: string; host: string; outDir: string }) => {
      const hosts = options.host.split(',').map((host) => host.trim()).filter(Boolean);
      const issued = await issueNodeCertificate({ dir: options.dir, hosts, outDir: options.outDir });
      emit(options, issued, () => [`certificate for ${hosts.join(', ')}: ${issued.certFile} (key ${issued.keyFile}, 0600; CA ${issued.caFile})`]);
    });

  subcommand(network, 'down', 'stop the nodes and NATS servers of a network started with `network up`')
    .requiredOption('--dir <dir>', 'folder of the network')
    .action(async (options: OutputOptions & { dir: string }) => {
      const { stopped } = await networkDown(options.dir);
      emit(options, { stopped }, () => [stopped === 0 ? `no network is running in ${options.dir}` : `stopped ${stopped} processes of the network in ${options.dir}`]);
    });
}
