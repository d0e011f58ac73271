/**
 * HTTPS serving: the certificate and key a node serves with (node.json `tls`, or `roam start
 * --tls-cert/--tls-key`), and HSTS on every HTTPS answer. A node that serves HTTPS serves ONLY
 * HTTPS: a client speaking plain HTTP to its port gets no HTTP answer at all, so a bearer token
 * sent in clear by mistake is never read, and no health data is ever answered in clear.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { dataPath, type NodeConfigFile } from '../config.js';
import { NodeError, NodeErrorCode } from '../errors.js';

/** One year: browsers that saw the node once over HTTPS never try plain HTTP to it again. */
export const HSTS_HEADER_VALUE = 'max-age=31536000';

/** A certificate chain and its private key, PEM. */
export interface TlsCredentials {
  readonly cert: string;
  readonly key: string;
}

/** Certificate and key files; paths relative to the data folder unless absolute. */
export interface TlsFiles {
  readonly certFile?: string;
  readonly keyFile?: string;
}

/**
 * What the node serves HTTPS with: the flags' files over node.json's `tls`, or undefined for
 * plain HTTP (the demo, loopback test fixtures).
 *
 * @throws NodeError BAD_CONFIG when only one of certificate and key is given, or a file is unreadable
 * @example
 * const tls = loadTlsCredentials(dataDir, node.config.file.tls, { certFile: '/etc/roam/node.crt' });
 */
export function loadTlsCredentials(
  dataDir: string,
  fromConfig: NodeConfigFile['tls'],
  overrides: TlsFiles = {},
): TlsCredentials | undefined {
  const certFile = overrides.certFile ?? fromConfig?.certFile;
  const keyFile = overrides.keyFile ?? fromConfig?.keyFile;
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new NodeError(NodeErrorCode.BAD_CONFIG, 'HTTPS needs both a certificate and its key (node.json tls.certFile and tls.keyFile, or --tls-cert and --tls-key)');
  }
  return { cert: readPem(dataPath(dataDir, certFile), 'certificate'), key: readPem(dataPath(dataDir, keyFile), 'key') };
}

/** The PEM text of `path`, or NodeError BAD_CONFIG naming the file (never its content). */
export function readPem(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new NodeError(NodeErrorCode.BAD_CONFIG, `the TLS ${what} file ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!text.includes('-----BEGIN ')) throw new NodeError(NodeErrorCode.BAD_CONFIG, `the TLS ${what} file ${path} is not PEM`);
  return text;
}

/** Adds `Strict-Transport-Security` to every answer of `app` (errors and not-found included). */
export function registerHsts(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    void reply.header('strict-transport-security', HSTS_HEADER_VALUE);
    done(null, payload);
  });
}
