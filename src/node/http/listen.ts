import type { AddressInfo } from 'node:net';
import type { RoamNode } from '../roam-node.js';
import { buildHttpServer, type HttpServerOptions } from './server.js';

export interface ListenOptions extends HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port (the answer's `url` names it). */
  readonly port: number;
}

export interface RunningHttp {
  /** Base URL the server listens at, e.g. `http://127.0.0.1:8080` (`https:` when serving TLS). */
  readonly url: string;
  /** Stops accepting connections and waits for open requests; the node stays open. */
  close(): Promise<void>;
}

/**
 * Serves `node`'s HTTP API on `host:port`: HTTPS only when `options.tls` is given, else HTTP.
 *
 * @example
 * const http = await startHttp(node, { host: '127.0.0.1', port: 0, tls: { cert, key } });
 * console.log(http.url); await http.close(); await node.close();
 */
export async function startHttp(node: RoamNode, options: ListenOptions): Promise<RunningHttp> {
  const app = buildHttpServer(node, {
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.rateLimits === undefined ? {} : { rateLimits: options.rateLimits }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${options.tls === undefined ? 'http' : 'https'}://${host}:${address.port}`;
  node.listeningUrl = url;
  return {
    url,
    close: () => app.close(),
  };
}
