/**
 * The JetStream stream a network orders its transactions in: its name and subjects (derived from
 * the chain id), and its configuration. On a secured network only the operator credential may
 * create it; member nodes wait for it to exist.
 */
import { JetStreamApiCodes, JetStreamApiError, StorageType, type JetStreamManager } from '@nats-io/jetstream';

/** JetStream drops a message whose id it saw within this window: retried publishes and racing cut markers. */
export const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

export interface OrderingSubjects {
  readonly stream: string;
  /** Transactions: `{"t":…}` then one envelope per line. */
  readonly tx: string;
  /** Cut markers: `{"height":…}`. */
  readonly cut: string;
  /** Node attestations (NATS core, not stored): see src/node/network/attestations.ts. */
  readonly attest: string;
}

export function streamNameOf(chainId: string): string {
  return `ROAM_${chainId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export function orderingSubjects(chainId: string): OrderingSubjects {
  return {
    stream: streamNameOf(chainId),
    tx: `roam.${chainId}.tx`,
    cut: `roam.${chainId}.cut`,
    attest: `roam.${chainId}.attest`,
  };
}

/**
 * Creates the ordering stream of `chainId` unless it exists; returns whether it created it.
 * Needs the right to create streams (the operator's, or any client's on an open cluster).
 */
export async function createOrderingStream(jsm: JetStreamManager, options: { chainId: string; replicas: number }): Promise<boolean> {
  const subjects = orderingSubjects(options.chainId);
  if (await orderingStreamExists(jsm, subjects.stream)) return false;
  await jsm.streams.add({
    name: subjects.stream,
    subjects: [subjects.tx, subjects.cut],
    num_replicas: options.replicas,
    storage: StorageType.File,
    duplicate_window: DUPLICATE_WINDOW_MS * 1_000_000,
  });
  return true;
}

/** True when the stream exists; false when JetStream says it does not; throws on any other failure. */
export async function orderingStreamExists(jsm: JetStreamManager, stream: string): Promise<boolean> {
  try {
    await jsm.streams.info(stream);
    return true;
  } catch (error) {
    if (isStreamNotFound(error)) return false;
    throw error;
  }
}

function isStreamNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}
