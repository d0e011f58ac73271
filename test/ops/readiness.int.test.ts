// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * Readiness and the orderer metrics of a network node on a real NATS JetStream server: ready while
 * connected; when the NATS server goes away, `/readyz` answers 503 ORDERER_DISCONNECTED and
 * `roam_orderer_connected` drops to 0; once the server is back, the node reconnects by itself and
 * is ready again, and commits.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer } from '../../src/node/http/index.js';
import { RoamNode } from '../../src/node/index.js';
import { NotReadyCode } from '../../src/node/ops/index.js';
import { JetStreamOrderer } from '../../src/ordering/index.js';
import { newPatient, registerPatient, useChain } from '../http/fixture.js';
import { initTestDataFolder } from './fixture.js';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster.js';

async function until(what: string, predicate: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('readiness of a network node on a real NATS server', { timeout: 90_000 }, () => {
  let cluster: NatsCluster;
  let node: RoamNode;
  let app: FastifyInstance;
  const dataDir = mkdtempSync(join(tmpdir(), 'roam-ready-'));

  const readyz = async () => {
    const answer = await app.inject({ method: 'GET', url: '/readyz' });
    return { status: answer.statusCode, body: answer.json<{ status: string; reasons?: string[] }>() };
  };
  const metric = async (name: string) => {
    const text = (await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).body;
    const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
    return value === undefined ? undefined : Number(value);
  };

  before(async () => {
    cluster = await startNatsCluster(1);
    await initTestDataFolder(dataDir, 'Clinic of Readiness');
    node = await RoamNode.open({
      dataDir,
      orderer: ({ ledger, limits }) =>
        new JetStreamOrderer({
          servers: cluster.urls,
          chainId: ledger.chainId,
          head: () => ({ height: ledger.height, time: ledger.headTime }),
          limits: { ...limits, timeoutMs: 20 },
        }),
    });
    useChain(node.ledger.chainId);
    app = buildHttpServer(node);
    await app.ready();
  });

  after(async () => {
    await app?.close();
    await node?.close();
    await cluster?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is ready while connected, not ready (ORDERER_DISCONNECTED) while NATS is down, and ready again after', async () => {
    assert.deepEqual(await readyz(), { status: 200, body: { status: 'ready' } });
    assert.equal(await metric('roam_orderer_connected'), 1);
    const committed = await app.inject({
      method: 'POST',
      url: '/ledger/tx?wait=commit',
      payload: registerPatient(newPatient()),
    });
    assert.equal(committed.statusCode, 200, committed.body);
    assert.equal(await metric('roam_ledger_height'), node.ledger.height);
    assert.equal(await metric('roam_orderer_pending_messages'), 0);
    assert.equal(await metric('roam_attestation_peers_total'), 0);
    assert.equal(await metric('roam_attestation_halted'), 0);

    await cluster.stop(0);
    await until('not ready', async () => (await readyz()).status === 503);
    const down = await readyz();
    assert.deepEqual(down.body, { status: 'not-ready', reasons: [NotReadyCode.ORDERER_DISCONNECTED] });
    assert.equal(await metric('roam_orderer_connected'), 0);
    // Liveness is not readiness: the process still answers.
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);

    await cluster.start(0);
    await until('ready again', async () => (await readyz()).status === 200, 30_000);
    assert.equal(await metric('roam_orderer_connected'), 1);
    const after = await app.inject({
      method: 'POST',
      url: '/ledger/tx?wait=commit',
      payload: registerPatient(newPatient()),
    });
    assert.equal(after.statusCode, 200, after.body);
  });
});
