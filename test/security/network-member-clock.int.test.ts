/**
 * Issue 11, findings 2 and 3 on real processes: a secured network from `networkUp` (3 nats-server
 * processes, TLS, nkey users; node processes). A member organization that uses its own NATS
 * credential to stamp transactions and cut markers a century ahead does not move the ledger's
 * clock, cannot administer the stream, and honest transactions keep committing.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadNodeConfig } from '../../src/node/index.js';
import { readOrderingCredentials } from '../../src/node/config.js';
import { connectToNats, orderingSubjects } from '../../src/ordering/index.js';
import { patientRegistration, postCommit } from '../cli/harness.js';
import { readNodePassphrase } from '../../src/network/node-passphrase.js';
import { startTestNetwork, type TestNetwork } from '../network/support.js';

const CENTURY_MS = 100 * 365 * 24 * 60 * 60 * 1000;

describe('a member with its own NATS credential, on a secured network of node processes', { timeout: 300_000 }, () => {
  let net: TestNetwork;
  let rogue: NatsConnection;
  before(async () => {
    net = await startTestNetwork(['eu', 'us']);
    const eu = net.file.nodes.find((n) => n.region === 'eu')!;
    // The eu organization goes rogue with the credential `network up` gave it.
    const credentials = readOrderingCredentials(await loadNodeConfig(eu.dataDir, { nodePassphrase: readNodePassphrase(net.dir) }));
    assert.ok(credentials?.caPem && credentials.nkeySeed, 'network up gave the node a CA bundle and a NATS seed');
    rogue = await connectToNats({ servers: net.file.nats.map((n) => n.url), name: 'rogue', credentials });
  });
  after(async () => {
    await rogue?.close();
    await net?.close();
  });

  it('keeps its secrets private: CA key, operator seed, node seeds and node TLS keys are 0600', () => {
    const secrets = [
      `${net.dir}/ca/ca.key`,
      net.file.natsSecurity!.operatorSeedFile,
      ...net.file.nodes.flatMap((n) => [`${n.dataDir}/nats/user.nk`, `${n.dataDir}/tls/node.key`]),
    ];
    for (const path of secrets) assert.equal(statSync(path).mode & 0o777, 0o600, path);
  });

  it('far-future `t` from a member changes no block time; a transaction signed now commits after it', async () => {
    const { chainId } = await net.status('us');
    const subjects = orderingSubjects(chainId);
    const js = jetstream(rogue);
    const before = await net.status('us');
    const future = Date.now() + CENTURY_MS;
    await js.publish(subjects.tx, `{"t":${future}}\n{"not":"a transaction"}`, { timeout: 10_000 });
    await js.publish(subjects.cut, JSON.stringify({ height: before.height + 1, t: future }), { timeout: 10_000 });
    const honest = await postCommit(net.url('us'), patientRegistration(chainId).envelope);
    assert.equal(honest.status, 200, JSON.stringify(honest.body));
    assert.equal((honest.body as { code?: string }).code, 'OK', JSON.stringify(honest.body));
    const after = await net.status('us');
    assert.ok(after.height > before.height);
    assert.ok(after.headTime <= Date.now() + 5_000, `head time ${new Date(after.headTime).toISOString()} is the servers', not the member's`);
  });

  it('cannot purge or delete the ordering stream with its credential', async () => {
    const { chainId } = await net.status('us');
    const { stream } = orderingSubjects(chainId);
    const jsm = await jetstreamManager(rogue, { checkAPI: false });
    const messages = (await jsm.streams.info(stream)).state.messages;
    await assert.rejects(jsm.streams.purge(stream));
    await assert.rejects(jsm.streams.delete(stream));
    assert.equal((await jsm.streams.info(stream)).state.messages, messages);
    // The network still commits.
    const honest = await postCommit(net.url('eu'), patientRegistration(chainId).envelope);
    assert.equal((honest.body as { code?: string }).code, 'OK', JSON.stringify(honest.body));
  });
});
