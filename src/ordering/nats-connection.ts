/**
 * How Roam processes connect to NATS: over TLS verified against the network's CA, as an nkey
 * user, when the network is secured (`roam network up`); in clear text otherwise (a development
 * cluster started without security, and the benchmark's baseline).
 */
import { nkeyAuthenticator, type ConnectionOptions } from '@nats-io/nats-core';
import { fromSeed } from '@nats-io/nkeys';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** What a client presents to a secured NATS cluster. Both are optional for an open cluster. */
export interface NatsClientCredentials {
  /** PEM bundle of the CA(s) that issued the servers' certificates; TLS is required when set. */
  readonly caPem?: string;
  /**
   * The user's nkey seed (`SU…`, ASCII bytes). The authenticator signs the server's nonce with it;
   * the seed itself never leaves this process.
   */
  readonly nkeySeed?: Uint8Array;
}

export interface NatsConnectOptions {
  readonly servers: readonly string[];
  /** Connection name shown by the server (never a secret). */
  readonly name: string;
  readonly credentials?: NatsClientCredentials;
  /** Keep reconnecting forever (long-running nodes) rather than failing after the client's default. */
  readonly reconnectForever?: boolean;
}

/** The @nats-io connection options for `options` (exported for clients that connect themselves). */
export function natsConnectionOptions(options: NatsConnectOptions): ConnectionOptions {
  const { caPem, nkeySeed } = options.credentials ?? {};
  return {
    servers: [...options.servers],
    name: options.name,
    ...(caPem !== undefined ? { tls: { ca: caPem } } : {}),
    // Replies come to inboxes under the user's own prefix, the only inboxes a member may subscribe
    // to: one member cannot read the answers the servers send another.
    ...(nkeySeed !== undefined ? { authenticator: nkeyAuthenticator(nkeySeed), inboxPrefix: natsInboxPrefix(fromSeed(nkeySeed).getPublicKey()) } : {}),
    ...(options.reconnectForever ? { maxReconnectAttempts: -1, reconnectTimeWait: 250, waitOnFirstConnect: true } : {}),
  };
}

export function connectToNats(options: NatsConnectOptions): Promise<NatsConnection> {
  return connect(natsConnectionOptions(options));
}

/** The inbox prefix of the NATS user `publicKey` (`U…`): its replies arrive under `<prefix>.>`. */
export function natsInboxPrefix(publicKey: string): string {
  return `_INBOX_${publicKey}`;
}
