/**
 * NATS users and TLS of a secured network (`roam network up`): who may publish and read what.
 *
 * Every organization is one nkey user that may only publish its chain's transactions and cut
 * markers, send and hear attestations, make the JetStream API calls a consumer of the ordering
 * stream needs (create an ephemeral consumer, read its info, pull, delete it, read the stream's
 * info), and hear replies on its own inboxes only; it may never create, update, purge or delete
 * the stream nor delete a message.
 * One operator user (kept by whoever runs `network up`) administers JetStream: it creates the
 * stream. Servers hold only public keys; each user's seed stays with its owner (0600 files).
 */
import { writeFileSync } from 'node:fs';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { natsInboxPrefix, orderingSubjects } from '../ordering/index.js';
import { issueCertificate, type CertificateFiles } from './pki.js';
import { NatsServerFiles, type NatsServerSpec } from './nats-servers.js';
import { NetworkError, NetworkErrorCode } from './errors.js';

/** A NATS user as the servers know it: a public nkey (`U…`) and a role. */
export interface NatsUser {
  /** Who it is for, e.g. the organization's DID or "operator" (a comment in the server config). */
  readonly name: string;
  readonly publicKey: string;
  readonly role: 'operator' | 'member';
}

export interface NatsPermissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

/** A new user key: the public key for the servers, the seed (secret) for its owner. */
export function createNatsUserKey(): { publicKey: string; seed: string } {
  const pair = createUser();
  return { publicKey: pair.getPublicKey(), seed: new TextDecoder().decode(pair.getSeed()) };
}

/** The public key of a user seed (`SU…`); throws BAD_OPTIONS when it is not a user seed. */
export function natsPublicKeyOfSeed(seed: string): string {
  try {
    const publicKey = fromSeed(new TextEncoder().encode(seed.trim())).getPublicKey();
    if (!publicKey.startsWith('U')) throw new Error('not a user key');
    return publicKey;
  } catch (error) {
    throw new NetworkError(NetworkErrorCode.BAD_OPTIONS, 'the NATS seed is not an nkey user seed', { cause: error });
  }
}

/**
 * What a member organization may do on the chain `chainId`. Subjects are the ones the
 * @nats-io/jetstream v3 client sends to a 2.9 server for an ordered consumer and publishes
 * (docs.nats.io, "JetStream API": `$JS.API.CONSUMER.CREATE.{stream}.{consumer}` and friends);
 * anything not listed is refused by the server.
 */
export function memberPermissions(chainId: string, publicKey: string): NatsPermissions {
  const { stream, tx, cut, attest } = orderingSubjects(chainId);
  return {
    publish: [
      tx,
      cut,
      attest,
      '$JS.API.INFO',
      `$JS.API.STREAM.INFO.${stream}`,
      // Named, unfiltered consumers only (the 2.9 API the v3 client uses): not the legacy unnamed
      // CREATE.<stream>, nor durable ones (DURABLE.CREATE) that outlive a node.
      `$JS.API.CONSUMER.CREATE.${stream}.*`,
      `$JS.API.CONSUMER.INFO.${stream}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
      `$JS.API.CONSUMER.DELETE.${stream}.*`,
    ],
    // Replies (publish acknowledgements, API answers, pulled messages) arrive on the client's own
    // inboxes (nats-connection.ts sets the prefix), never on another member's.
    subscribe: [attest, `${natsInboxPrefix(publicKey)}.>`],
  };
}

/** The `authorization { users = [...] }` block of every server's config. */
export function natsAuthorizationBlock(users: readonly NatsUser[], chainId: string): string {
  const list = (subjects: readonly string[]) => `[${subjects.map((s) => JSON.stringify(s)).join(', ')}]`;
  const entries = users.map((user) => {
    if (!/^U[A-Z2-7]{55}$/.test(user.publicKey)) throw new NetworkError(NetworkErrorCode.BAD_OPTIONS, `"${user.publicKey}" is not a NATS user public key`);
    // The operator administers JetStream: every subject, the whole API.
    const permissions = user.role === 'operator' ? { publish: ['>'], subscribe: ['>'] } : memberPermissions(chainId, user.publicKey);
    return [
      `    # ${user.role}: ${user.name.replace(/[\r\n]/g, ' ')}`,
      `    { nkey: "${user.publicKey}", permissions: { publish: { allow: ${list(permissions.publish)} }, subscribe: { allow: ${list(permissions.subscribe)} } } }`,
    ].join('\n');
  });
  return ['authorization {', '  users = [', entries.join(',\n'), '  ]', '}'].join('\n');
}

/**
 * Issues each server of the cluster a certificate for 127.0.0.1 and localhost, used both to serve
 * clients and, as a client, on routes to the other servers (hence 'server-and-client').
 */
export async function issueNatsServerCertificates(specs: readonly NatsServerSpec[], authority: CertificateFiles): Promise<void> {
  for (const spec of specs) {
    const issued = await issueCertificate({ authority, commonName: `Roam NATS ${spec.name}`, hosts: ['127.0.0.1', 'localhost'], use: 'server-and-client' });
    writeFileSync(NatsServerFiles.cert(spec), issued.certPem);
    writeFileSync(NatsServerFiles.key(spec), issued.keyPem, { mode: 0o600 });
  }
}
