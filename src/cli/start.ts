/** `roam start`: run a node and its HTTP API until SIGINT or SIGTERM. */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ENCRYPT_KEY_HINT, RoamNode } from '../node/index.js';
import { NodeError, NodeErrorCode } from '../node/errors.js';
import { loadTlsCredentials, startHttp, type TlsFiles } from '../node/http/index.js';
import { DEFAULT_LOG_LEVEL, LOG_LEVELS, scrubLogText, type LogLevel } from '../node/ops/index.js';
import { nodePassphraseFileOption, nodePassphraseFrom, parsePort, subcommand } from './common.js';
import { emit, type OutputOptions } from './output.js';

interface StartOptions extends OutputOptions {
  readonly data: string;
  readonly host?: string;
  readonly port?: number;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly nodePassphraseFile?: string;
  readonly logLevel?: LogLevel;
}

/** A node serving HTTP, and how to stop both. */
export interface RunningNode {
  readonly node: RoamNode;
  readonly url: string;
  /** Closes HTTP first (no new requests), then the node (ordering, store). Idempotent. */
  readonly stop: () => Promise<void>;
}

/**
 * Opens the node in `dataDir` and serves its API; `host`/`port` override node.json, and so do
 * `tls` files over node.json `tls` (HTTPS only, HSTS, an https publicUrl); `key.nodePassphrase`
 * opens an encrypted node key.
 */
export async function startNode(
  dataDir: string,
  listen: { host?: string; port?: number; tls?: TlsFiles; logLevel?: LogLevel },
  key: { readonly nodePassphrase?: string | undefined } = {},
): Promise<RunningNode> {
  const node = await RoamNode.open({ dataDir, nodePassphrase: key.nodePassphrase, log: logLine });
  let http: Awaited<ReturnType<typeof startHttp>>;
  try {
    const tls = loadTlsCredentials(dataDir, node.config.file.tls, listen.tls);
    // The public URL is what the ledger and FHIR answers name: an HTTPS node announced at an
    // http: URL would send every client to a port that does not speak plain HTTP.
    if (tls !== undefined && !node.config.file.publicUrl.startsWith('https://')) {
      throw new NodeError(NodeErrorCode.BAD_CONFIG, `the node serves HTTPS but node.json publicUrl is ${node.config.file.publicUrl}; make it https:// (and register it with gov.node.register)`);
    }
    http = await startHttp(node, {
      host: listen.host ?? node.config.file.host,
      port: listen.port ?? node.config.file.port,
      ...(tls === undefined ? {} : { tls }),
      // JSON lines on stderr: stdout stays the command's own output (the URL, --json).
      logger: { level: listen.logLevel ?? node.config.file.log?.level ?? DEFAULT_LOG_LEVEL, stream: process.stderr },
    });
  } catch (error) {
    await node.close();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      try {
        await http.close();
      } finally {
        await node.close();
      }
    })());
  return { node, url: http.url, stop };
}

/** A line of the node itself (ordering, peers, divergence), as JSON like the request log's (pino's shape). */
function logLine(line: string): void {
  process.stderr.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: scrubLogText(line) })}\n`);
}

/**
 * Stops `running` on the first SIGINT or SIGTERM and exits; a second signal exits at once.
 * `onStopped` prints the farewell.
 */
export function stopOnSignals(running: RunningNode, onStopped: (signal: NodeJS.Signals) => void): void {
  let received = false;
  const handler = (signal: NodeJS.Signals) => {
    if (received) process.exit(130);
    received = true;
    running.stop().then(
      () => {
        onStopped(signal);
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`roam: SHUTDOWN_FAILED: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

export function registerStart(program: Command): void {
  subcommand(program, 'start', 'run the node in a data folder and serve its HTTP API')
    .requiredOption('--data <dir>', "the node's data folder (see roam init)")
    .option('--port <port>', 'port to listen on, overriding node.json (0: any free port)', parsePort)
    .option('--host <host>', 'address to listen on, overriding node.json')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain), overriding node.json tls.certFile')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert, overriding node.json tls.keyFile')
    .addOption(nodePassphraseFileOption())
    .addOption(new Option('--log-level <level>', 'log level of the JSON log on stderr, overriding node.json log.level (default info)').choices(LOG_LEVELS))
    .addHelpText(
      'after',
      '\nServes HTTPS only (with HSTS) when node.json has tls.certFile and tls.keyFile or both flags are given;' +
        '\nrelative paths are read from the data folder. Clients of a node whose certificate is from a' +
        '\nprivate CA trust it with NODE_EXTRA_CA_CERTS=<ca.crt>.\nStops cleanly on SIGINT (Ctrl-C) or SIGTERM.',
    )
    .action(async (options: StartOptions) => {
      const running = await startNode(
        options.data,
        { ...definedListen(options), tls: tlsFlags(options), ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }) },
        { nodePassphrase: await nodePassphraseFrom(options) },
      );
      if (!running.node.config.keyEncrypted) logLine(`warning: node.key.json is not encrypted; ${ENCRYPT_KEY_HINT}`);
      stopOnSignals(running, () => {
        if (!options.json) process.stdout.write('roam node stopped\n');
      });
      const { node } = running;
      emit(
        options,
        {
          url: running.url,
          nodeDid: node.did,
          orgDid: node.orgDid,
          region: node.region,
          height: node.ledger.height,
        },
        () => [
          `roam node listening on ${running.url}`,
          `node ${node.did} of org ${node.orgDid} (${node.region}), chain height ${node.ledger.height}`,
          'Press Ctrl-C to stop.',
        ],
      );
    });
}

export function definedListen(options: { readonly host?: string; readonly port?: number }): {
  host?: string;
  port?: number;
} {
  return {
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
  };
}

/** `--tls-cert`/`--tls-key` as given (relative to the working directory, as flags are). */
function tlsFlags(options: StartOptions): TlsFiles {
  return {
    ...(options.tlsCert === undefined ? {} : { certFile: resolve(options.tlsCert) }),
    ...(options.tlsKey === undefined ? {} : { keyFile: resolve(options.tlsKey) }),
  };
}
