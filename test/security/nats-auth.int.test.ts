/**
 * Finding 3 of issue 11: NATS was open (no TLS, no credentials): anyone reaching a NATS port
 * could publish into the ordering stream, and any member or outsider could purge or delete it.
 * On a secured cluster (as `roam network up` configures it) clients need TLS against the
 * network's CA and an nkey user; a member may only publish its chain's transactions and markers
 * and read the stream; administering the stream is the operator's.
 */
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectToNats, createOrderingStream, JetStreamOrderer, natsInboxPrefix, orderingSubjects, type BlockCut, type NatsClientCredentials } from '../../src/ordering/index.js';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster.js';

const CHAIN = 'roam-secured';
const SUBJECTS = orderingSubjects(CHAIN);

async function until(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What a raw TCP client that speaks NATS without TLS gets back before the server closes on it. */
function plainTextExchange(port: number): Promise<{ received: string; closed: boolean }> {
  return new Promise((resolve) => {
    let received = '';
    const socket = createConnection({ host: '127.0.0.1', port });
    const finish = (closed: boolean) => {
      socket.destroy();
      resolve({ received, closed });
    };
    const timer = setTimeout(() => finish(false), 5_000);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.includes('INFO ') && !received.includes('\nSENT')) {
        received += '\nSENT';
        socket.write(`CONNECT {"verbose":false,"pedantic":false}\r\nPUB ${SUBJECTS.tx} 17\r\n{"t":1}\n{"tx":"x"}\r\nPING\r\n`);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      finish(true);
    });
  });
}

async function streamMessages(jsm: JetStreamManager): Promise<number> {
  return (await jsm.streams.info(SUBJECTS.stream)).state.messages;
}

describe('NATS with TLS and nkey users (a secured cluster as `roam network up` makes it)', { timeout: 120_000 }, () => {
  let cluster: NatsCluster;
  let operator: NatsConnection;
  let operatorJsm: JetStreamManager;
  let member: NatsConnection;
  let memberJsm: JetStreamManager;
  const connectAs = (credentials: NatsClientCredentials, name: string) => connectToNats({ servers: cluster.urls, name, credentials });

  before(async () => {
    cluster = await startNatsCluster(3, { secure: { chainId: CHAIN, members: 2 } });
    operator = await connectAs(cluster.security!.operator, 'test-operator');
    operatorJsm = await jetstreamManager(operator, { checkAPI: false });
    for (let attempt = 0; ; attempt++) {
      try {
        await createOrderingStream(operatorJsm, { chainId: CHAIN, replicas: 3 });
        break;
      } catch (error) {
        if (attempt > 120) throw error; // the cluster elects its JetStream leader first
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    member = await connectAs(cluster.security!.members[0]!, 'test-member');
    memberJsm = await jetstreamManager(member, { checkAPI: false });
    await jetstream(member).publish(SUBJECTS.tx, '{"t":1}\n{"tx":"member-1"}', { timeout: 10_000 });
  });
  after(async () => {
    await member?.close();
    await operator?.close();
    await cluster?.close();
  });

  it('refuses a client without a user (TLS right, no credential)', async () => {
    await assert.rejects(connectToNats({ servers: cluster.urls, name: 'anonymous', credentials: { caPem: cluster.security!.caPem } }), /authorization|auth/i);
  });

  it('refuses a client with a user that is not configured', async () => {
    const { createNatsUserKey } = await import('../../src/network/nats-security.js');
    const stranger = createNatsUserKey();
    await assert.rejects(connectAs({ caPem: cluster.security!.caPem, nkeySeed: new TextEncoder().encode(stranger.seed) }, 'stranger'), /authorization|auth/i);
  });

  it('refuses a plain-TCP (non-TLS) client: it never gets to publish', async () => {
    const before = await streamMessages(operatorJsm);
    const exchange = await plainTextExchange(cluster.specs[0]!.clientPort);
    assert.match(exchange.received, /"tls_required":true/, 'the server announces that TLS is required');
    assert.doesNotMatch(exchange.received, /PONG|\+OK/, 'no command of the clear-text client was accepted');
    assert.ok(exchange.closed, 'the server closed the clear-text connection');
    assert.equal(await streamMessages(operatorJsm), before, 'nothing reached the stream');
  });

  it('a client that trusts another CA does not connect (the servers prove they are the network\'s)', async () => {
    const { createCertificateAuthority } = await import('../../src/network/pki.js');
    const other = await createCertificateAuthority({ commonName: 'Someone else CA' });
    await assert.rejects(connectAs({ caPem: other.certPem, nkeySeed: cluster.security!.members[1]!.nkeySeed! }, 'wrong-ca'));
  });

  it('a member cannot publish outside its subjects', async () => {
    const heard: string[] = [];
    const subscription = operator.subscribe('roam.other-chain.tx', { callback: (_error, message) => void heard.push(message.string()) });
    await operator.flush();
    member.publish('roam.other-chain.tx', 'forged');
    await member.flush().catch(() => undefined);
    await assert.rejects(jetstream(member).publish('roam.other-chain.tx', 'forged', { timeout: 3_000 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    subscription.unsubscribe();
    assert.deepEqual(heard, [], 'the server dropped the member\'s message on a subject it may not publish to');
  });

  it("a member cannot hear the replies the servers send another member", async () => {
    const { fromSeed } = await import('@nats-io/nkeys');
    const firstMember = fromSeed(cluster.security!.members[0]!.nkeySeed!).getPublicKey();
    const other = await connectAs(cluster.security!.members[1]!, 'test-member-2');
    const overheard: string[] = [];
    const refused: string[] = [];
    for (const subject of [`${natsInboxPrefix(firstMember)}.>`, '_INBOX.>']) {
      other.subscribe(subject, {
        callback: (error, message) => void (error ? refused.push(error.message) : overheard.push(message.subject)),
      });
    }
    await other.flush().catch(() => undefined);
    // The first member's publish is acknowledged on its own inbox.
    await jetstream(member).publish(SUBJECTS.tx, '{"t":1}\n{"tx":"member-1-again"}', { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await other.close();
    assert.deepEqual(overheard, []);
    assert.equal(refused.length, 2, 'the server refused both subscriptions');
    for (const message of refused) assert.match(message, /permission/i);
  });

  it('a member cannot create, update, purge or delete the stream, nor delete a message; the operator can', async () => {
    const count = await streamMessages(operatorJsm);
    assert.ok(count > 0);
    await assert.rejects(memberJsm.streams.add({ name: 'ROAM_EVIL', subjects: ['evil.>'], storage: StorageType.Memory }));
    await assert.rejects(memberJsm.streams.update(SUBJECTS.stream, { max_msgs: 1 }));
    await assert.rejects(memberJsm.streams.purge(SUBJECTS.stream));
    await assert.rejects(memberJsm.streams.deleteMessage(SUBJECTS.stream, 1));
    await assert.rejects(memberJsm.streams.delete(SUBJECTS.stream));
    // Nothing happened: same messages, first message still there, no new stream.
    assert.equal(await streamMessages(operatorJsm), count);
    assert.ok(await operatorJsm.streams.getMessage(SUBJECTS.stream, { seq: 1 }));
    await assert.rejects(operatorJsm.streams.info('ROAM_EVIL'));

    // The operator administers: a scratch stream it creates, purges, trims and deletes.
    await operatorJsm.streams.add({ name: 'ROAM_SCRATCH', subjects: ['scratch.>'], storage: StorageType.Memory });
    const js = jetstream(operator);
    await js.publish('scratch.a', 'one');
    await js.publish('scratch.a', 'two');
    assert.equal(await operatorJsm.streams.deleteMessage('ROAM_SCRATCH', 1), true);
    assert.equal((await operatorJsm.streams.purge('ROAM_SCRATCH')).purged, 1);
    assert.equal(await operatorJsm.streams.delete('ROAM_SCRATCH'), true);
  });

  it('two orderers with different member credentials order the same blocks over TLS, without creating the stream', async () => {
    const nodes = cluster.security!.members.map((credentials) => {
      const cuts: BlockCut[] = [];
      const orderer = new JetStreamOrderer({
        servers: cluster.urls,
        chainId: CHAIN,
        head: () => ({ height: 0, time: 0 }),
        limits: { maxTxs: 10, timeoutMs: 30 },
        credentials,
        createStream: false,
        connectTimeoutMs: 10_000,
      });
      return { orderer, cuts };
    });
    for (const node of nodes) {
      await node.orderer.start((cut) => {
        node.cuts.push(cut);
        return Promise.resolve();
      }, undefined);
    }
    for (let round = 0; round < 3; round++) {
      await Promise.all(nodes.map((node, n) => node.orderer.submit(Array.from({ length: 5 }, (_, i) => `{"tx":"n${n}r${round}i${i}"}`))));
    }
    const total = (cuts: BlockCut[]) => cuts.reduce((sum, cut) => sum + cut.envelopes.length, 0);
    // 30 submitted by the orderers, plus the member's two messages published before.
    await until(() => nodes.every((node) => total(node.cuts) === 32));
    assert.equal(JSON.stringify(nodes[0]!.cuts), JSON.stringify(nodes[1]!.cuts));
    for (const node of nodes) await node.orderer.close();
  });
});
