import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNatsCluster, type NatsCluster } from '../../test/support/nats-cluster.js';
import { JetStreamOrderer } from './jetstream-orderer.js';
import type { BlockCut } from './orderer.js';

/** An orderer that records its cuts, as a node's ledger would consume them. */
function recordingOrderer(cluster: NatsCluster, chainId: string, options: { height?: number; time?: number; maxTxs?: number; timeoutMs?: number } = {}) {
  const cuts: BlockCut[] = [];
  const orderer = new JetStreamOrderer({
    servers: cluster.urls,
    chainId,
    head: () => ({ height: options.height ?? 0, time: options.time ?? 0 }),
    replicas: 3,
    limits: { maxTxs: options.maxTxs ?? 100, timeoutMs: options.timeoutMs ?? 30 },
  });
  const handler = async (cut: BlockCut) => {
    cuts.push(cut);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { orderer, cuts, handler };
}

async function until(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const envelopes = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `{"tx":"${prefix}-${i}"}`);

describe('JetStreamOrderer on a real 3-server NATS cluster', { timeout: 120_000 }, () => {
  let cluster: NatsCluster;
  before(async () => {
    cluster = await startNatsCluster(3);
  });
  after(async () => {
    await cluster?.close();
  });

  it('cuts identical blocks on every node from submissions to any node (size and marker cuts)', async () => {
    const nodes = [0, 1, 2].map(() => recordingOrderer(cluster, 'roam-same-cuts', { maxTxs: 40 }));
    for (const node of nodes) await node.orderer.start(node.handler, undefined);
    // 3 nodes × 10 submissions of 7 txs, interleaved: 210 txs, 40 per full block.
    for (let round = 0; round < 10; round++) {
      await Promise.all(nodes.map((node, n) => node.orderer.submit(envelopes(`n${n}r${round}`, 7))));
    }
    const total = (cuts: BlockCut[]) => cuts.reduce((sum, cut) => sum + cut.envelopes.length, 0);
    await until(() => nodes.every((node) => total(node.cuts) === 210));
    const reference = JSON.stringify(nodes[0]!.cuts);
    for (const node of nodes) assert.equal(JSON.stringify(node.cuts), reference);
    // 5 full blocks of 40 and a last one of 10 closed by a cut marker after the timeout.
    assert.deepEqual(nodes[0]!.cuts.map((cut) => cut.envelopes.length), [40, 40, 40, 40, 40, 10]);
    assert.equal(new Set(nodes[0]!.cuts.flatMap((cut) => cut.envelopes)).size, 210);
    const times = nodes[0]!.cuts.map((cut) => cut.time);
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'block times never go backwards');
    for (const node of nodes) await node.orderer.close();
  });

  it('resumes after a restart from the position stored with the last block, cutting the same blocks', async () => {
    const chain = 'roam-resume';
    const first = recordingOrderer(cluster, chain, { maxTxs: 25 });
    await first.orderer.start(first.handler, undefined);
    await first.orderer.submit(envelopes('a', 60));
    await until(() => first.cuts.reduce((s, c) => s + c.envelopes.length, 0) === 60);
    await first.orderer.close();
    // A node that committed only the first block resumes from its position and re-cuts the rest identically.
    const resumed = recordingOrderer(cluster, chain, { maxTxs: 25, height: 1, time: first.cuts[0]!.time });
    await resumed.orderer.start(resumed.handler, first.cuts[0]!.position);
    await until(() => resumed.cuts.length === first.cuts.length - 1);
    assert.deepEqual(resumed.cuts, first.cuts.slice(1));
    await resumed.orderer.close();
  });

  it('keeps ordering while one of the three NATS servers is down', async () => {
    const nodes = [0, 1].map(() => recordingOrderer(cluster, 'roam-failover', { maxTxs: 50 }));
    for (const node of nodes) await node.orderer.start(node.handler, undefined);
    await nodes[0]!.orderer.submit(envelopes('before', 50));
    await cluster.stop(0);
    for (let i = 0; i < 5; i++) await nodes[i % 2]!.orderer.submit(envelopes(`during-${i}`, 20));
    await cluster.start(0);
    await nodes[1]!.orderer.submit(envelopes('after', 30));
    await until(() => nodes.every((node) => node.cuts.reduce((s, c) => s + c.envelopes.length, 0) === 180), 60_000);
    assert.equal(JSON.stringify(nodes[0]!.cuts), JSON.stringify(nodes[1]!.cuts));
    for (const node of nodes) await node.orderer.close();
  });
});
