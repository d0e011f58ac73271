/**
 * Whether a network node is connected to its NATS servers: the connection's own status events
 * (disconnect, reconnect, close), followed for as long as the connection lives. A node with the
 * local orderer has no link and is always connected.
 */
import type { NatsConnection } from '@nats-io/transport-node';

export interface OrderingLink {
  readonly connected: boolean;
  /** Stops following the events (the connection itself is the orderer's to close). */
  stop(): void;
}

/** Follows `connection` (undefined for the local orderer: always connected). */
export function followOrderingLink(connection: NatsConnection | undefined): OrderingLink {
  if (connection === undefined) return { connected: true, stop: () => undefined };
  let disconnected = false;
  let stopped = false;
  void (async () => {
    for await (const status of connection.status()) {
      if (stopped) return;
      if (status.type === 'disconnect') disconnected = true;
      else if (status.type === 'reconnect') disconnected = false;
    }
  })().catch(() => undefined);
  return {
    get connected() {
      return !disconnected && !connection.isClosed();
    },
    stop() {
      stopped = true;
    },
  };
}
