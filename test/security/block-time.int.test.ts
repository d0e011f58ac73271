/**
 * Finding 2 of issue 11: a publisher set the block time. A member that writes `t` 100 years ahead
 * into its transaction messages and cut markers must not move the ledger's clock: block times
 * come from the JetStream server's timestamps, so a transaction signed now stays valid.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamOrderer } from '../../src/ordering/jetstream-orderer.js';
import type { BlockCut } from '../../src/ordering/orderer.js';
import { DEFAULT_TX_FUTURE_SKEW_MS, DEFAULT_TX_VALIDITY_MS } from '../../src/node/config.js';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster.js';

const CENTURY_MS = 100 * 365 * 24 * 60 * 60 * 1000;
/** Clock slack between this test's clock and the NATS server's on the same machine. */
const SLACK_MS = 5_000;

async function until(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('block time on a real NATS server: publishers cannot set it', { timeout: 60_000 }, () => {
  let cluster: NatsCluster;
  let raw: NatsConnection;
  before(async () => {
    cluster = await startNatsCluster(1);
    raw = await connect({ servers: [...cluster.urls] });
  });
  after(async () => {
    await raw?.close();
    await cluster?.close();
  });

  it('ignores far-future `t` in transaction messages and cut markers; a transaction signed now stays valid', async () => {
    const chainId = 'roam-far-future';
    const cuts: BlockCut[] = [];
    const orderer = new JetStreamOrderer({
      servers: cluster.urls,
      chainId,
      head: () => ({ height: 0, time: 0 }),
      limits: { maxTxs: 2, timeoutMs: 50 },
    });
    await orderer.start((cut) => {
      cuts.push(cut);
      return Promise.resolve();
    }, undefined);
    const started = Date.now();
    const future = started + CENTURY_MS;
    // A misbehaving member, with a plain NATS client: a full block and a marker-cut block, both stamped a century ahead.
    await raw.request(`roam.${chainId}.tx`, `{"t":${future}}\n{"tx":"evil-1"}\n{"tx":"evil-2"}`, { timeout: 5_000 });
    await raw.request(`roam.${chainId}.tx`, `{"t":${future}}\n{"tx":"evil-3"}`, { timeout: 5_000 });
    await raw.request(`roam.${chainId}.cut`, JSON.stringify({ height: 2, t: future }), { timeout: 5_000 });
    await until(() => cuts.length >= 2);
    // An honest node's transaction, signed now, lands in the next block.
    const issuedAt = Date.now();
    await orderer.submit(['{"tx":"honest"}']);
    await until(() => cuts.some((cut) => cut.envelopes.includes('{"tx":"honest"}')));
    const finished = Date.now();
    await orderer.close();

    for (const cut of cuts) {
      assert.ok(cut.time >= started - SLACK_MS && cut.time <= finished + SLACK_MS, `block time ${new Date(cut.time).toISOString()} is the server's, not the publisher's`);
    }
    const honest = cuts.find((cut) => cut.envelopes.includes('{"tx":"honest"}'))!;
    // The ledger's own rule (src/ledger/executor.ts): neither expired nor from the future at the block's time.
    assert.ok(issuedAt >= honest.time - DEFAULT_TX_VALIDITY_MS, 'the honest transaction is not expired');
    assert.ok(issuedAt <= honest.time + DEFAULT_TX_FUTURE_SKEW_MS, 'the honest transaction is not from the future');
    const times = cuts.map((cut) => cut.time);
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'block times never go backwards');
  });

  it("warns in the node's own log when a block's time is far from the node's clock (and still takes the server's time)", async () => {
    const lines: string[] = [];
    const cuts: BlockCut[] = [];
    const twoMinutes = 2 * 60 * 1000;
    const orderer = new JetStreamOrderer({
      servers: cluster.urls,
      chainId: 'roam-clock-gap',
      head: () => ({ height: 0, time: 0 }),
      limits: { maxTxs: 1, timeoutMs: 50 },
      // This node's clock is two minutes slow: worth a warning, not a hold.
      clock: () => Date.now() - twoMinutes,
      log: (line) => lines.push(line),
    });
    await orderer.start((cut) => {
      cuts.push(cut);
      return Promise.resolve();
    }, undefined);
    await orderer.submit(['{"tx":"one"}']);
    await until(() => cuts.length === 1);
    await orderer.close();
    assert.ok(Math.abs(cuts[0]!.time - Date.now()) < SLACK_MS, "the block has the server's time, not the node's");
    assert.ok(lines.some((line) => /^warning: block 1 has time .* \d+ s from this node's clock$/.test(line)), lines.join('\n'));
  });

  it("holds a block stamped far ahead of the node's clock until the clock gets there, then commits it unchanged", async () => {
    const lines: string[] = [];
    const cuts: BlockCut[] = [];
    // This node's clock is an hour slow (as a server clock an hour fast looks from a good node).
    let offset = 60 * 60 * 1000;
    const orderer = new JetStreamOrderer({
      servers: cluster.urls,
      chainId: 'roam-clock-hold',
      head: () => ({ height: 0, time: 0 }),
      limits: { maxTxs: 1, timeoutMs: 50 },
      clock: () => Date.now() - offset,
      log: (line) => lines.push(line),
    });
    await orderer.start((cut) => {
      cuts.push(cut);
      return Promise.resolve();
    }, undefined);
    try {
      await orderer.submit(['{"tx":"one"}']);
      await until(() => lines.some((line) => line.startsWith('holding block 1:')));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.equal(cuts.length, 0, 'not committed while its time is an hour ahead of the clock');
      offset = 0;
      await until(() => cuts.length === 1);
      assert.ok(Math.abs(cuts[0]!.time - Date.now()) < SLACK_MS, "the block keeps the server's time");
    } finally {
      await orderer.close();
    }
  });
});
