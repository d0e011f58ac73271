// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * The operator endpoints of a real node (one organization, local orderer): `/metrics` (who may
 * read it, what it names and never names), `/healthz`, `/readyz`, and request ids.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer } from '../../src/node/http/index.js';
import { DataFiles, RoamNode } from '../../src/node/index.js';
import { checkReadiness, NotReadyCode, ReadyWarningCode } from '../../src/node/ops/index.js';
import { RECORDS_QUERY_PATH } from '../../src/node/roaming/wire.js';
import { newPatient, registerPatient, useChain } from '../http/fixture.js';
import { initTestDataFolder } from './fixture.js';

const METRICS_TOKEN = 'metrics-token-0123456789-abcdefghijkl';

/** A node whose node.json sets `metrics` as given, with its (not listening) HTTP server. */
async function openNode(
  metrics: unknown,
): Promise<{ node: RoamNode; app: FastifyInstance; close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'roam-ops-'));
  await initTestDataFolder(dataDir, 'Clinic of Ops');
  const config = JSON.parse(readFileSync(DataFiles.config(dataDir), 'utf8')) as Record<string, unknown>;
  if (metrics !== undefined) writeFileSync(DataFiles.config(dataDir), JSON.stringify({ ...config, metrics }));
  const node = await RoamNode.open({ dataDir, blockLimits: { timeoutMs: 5 } });
  useChain(node.ledger.chainId);
  const app = buildHttpServer(node);
  await app.ready();
  return {
    node,
    app,
    async close() {
      await app.close();
      await node.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe('a node without a metrics token', () => {
  let t: Awaited<ReturnType<typeof openNode>>;
  let patientDid = '';
  before(async () => {
    t = await openNode(undefined);
    const patient = newPatient();
    patientDid = patient.did;
    const answer = await t.app.inject({
      method: 'POST',
      url: '/ledger/tx?wait=commit',
      payload: registerPatient(patient),
    });
    assert.equal(answer.statusCode, 200, answer.body);
    // Requests of several families, with ids in their paths and queries.
    await t.app.inject({ method: 'GET', url: `/ledger/identities/${encodeURIComponent(patientDid)}` });
    await t.app.inject({ method: 'GET', url: `/fhir/R4/Patient/${patientDid.slice(8, 30)}?name=Ada` });
    await t.app.inject({ method: 'GET', url: '/no/such/path' });
  });
  after(() => t.close());

  test('a loopback caller reads the metrics of every kind the brief names', async () => {
    const answer = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' });
    assert.equal(answer.statusCode, 200);
    assert.match(answer.headers['content-type'] as string, /^text\/plain/);
    const text = answer.body;
    for (const name of [
      'roam_http_requests_total',
      'roam_http_request_duration_seconds_bucket',
      'roam_ledger_height',
      'roam_ledger_block_commit_seconds_bucket',
      'roam_ledger_transactions_total',
      'roam_orderer_connected',
      'roam_peer_requests_total',
      'roam_audit_outbox_depth',
      'roam_validation_queue_depth',
    ]) {
      assert.match(text, new RegExp(`^(# TYPE )?${name}`, 'm'), `${name} missing`);
    }
    const height = Number(/^roam_ledger_height (\d+)$/m.exec(text)?.[1]);
    assert.equal(height, t.node.ledger.height);
    assert.match(text, /^roam_ledger_transactions_total\{code="OK"\} [1-9]/m);
    assert.match(text, /^roam_http_requests_total\{family="ledger",status_class="2xx"\} [1-9]/m);
    assert.match(text, /^roam_http_requests_total\{family="fhir",status_class="4xx"\} [1-9]/m);
    assert.match(text, /^roam_http_requests_total\{family="web",status_class="4xx"\} [1-9]/m);
  });

  test('a call to another node that gets no answer counts as a roaming call, outcome unreachable', async () => {
    const metric = async () =>
      Number(
        /^roam_peer_requests_total\{kind="roaming",outcome="unreachable"\} (\d+)$/m.exec(
          (await t.app.inject({ method: 'GET', url: '/metrics' })).body,
        )?.[1] ?? 0,
      );
    const before = await metric();
    await assert.rejects(
      t.node.peerHttp.request(`http://127.0.0.1:9${RECORDS_QUERY_PATH}`, {
        method: 'POST',
        body: '{}',
        timeoutMs: 1_000,
      }),
    );
    assert.equal(await metric(), before + 1);
  });

  test('no label value is an identifier: only route families, status classes, codes and outcomes', async () => {
    const text = (await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '::1' })).body;
    assert.ok(!text.includes('did:'), 'a DID is named in the metrics');
    assert.ok(!text.includes(patientDid.slice(8, 30)));
    const labelValues = [...text.matchAll(/(\w+)="([^"]*)"/g)].map((m) => `${m[1]}=${m[2]}`);
    assert.ok(labelValues.length > 0);
    for (const pair of labelValues) {
      assert.match(
        pair,
        // The process metrics' labels (process-metrics.ts): heap spaces, resource types, GC kinds, Node's version.
        /^(family=(fhir|ledger|auth|vault|node|shl|ops|web)|status_class=[1-5]xx|code=[A-Z_]+|kind=\w+|outcome=\w+|le=[\d.e+-]+|le=\+Inf|space=\w+|type=\w+|version=v[\d.]+|(major|minor|patch)=\d+)$/,
        pair,
      );
    }
  });

  test('a caller from another address gets the same 404 as a path that does not exist', async () => {
    const refused = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.7' });
    const missing = await t.app.inject({ method: 'GET', url: '/metricz', remoteAddress: '203.0.113.7' });
    assert.equal(refused.statusCode, 404);
    assert.equal(refused.statusCode, missing.statusCode);
    assert.deepEqual(Object.keys(refused.json<object>()), Object.keys(missing.json<object>()));
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'NOT_FOUND');
    assert.ok(!refused.body.includes('roam_'));
  });

  test('a request a local reverse proxy forwarded is not a local caller (404)', async () => {
    for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip']) {
      const forwarded = await t.app.inject({
        method: 'GET',
        url: '/metrics',
        remoteAddress: '127.0.0.1',
        headers: { [header]: header === 'forwarded' ? 'for=203.0.113.7' : '203.0.113.7' },
      });
      assert.equal(forwarded.statusCode, 404, header);
    }
  });

  test('/healthz answers ok; /readyz answers ready for an open node with the local orderer', async () => {
    const health = await t.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '203.0.113.7' });
    assert.equal(health.statusCode, 200);
    assert.deepEqual(health.json(), { status: 'ok' });
    const ready = await t.app.inject({ method: 'GET', url: '/readyz', remoteAddress: '203.0.113.7' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ready' });
  });

  test('a well-formed x-request-id is echoed; a malformed one is replaced by a fresh id', async () => {
    const kept = await t.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'lb-4f2a.77' },
    });
    assert.equal(kept.headers['x-request-id'], 'lb-4f2a.77');
    const replaced = await t.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'a\u2028b<script>' },
    });
    assert.match(replaced.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
  });
});

describe('a node with node.json metrics.token', () => {
  let t: Awaited<ReturnType<typeof openNode>>;
  before(async () => {
    t = await openNode({ token: METRICS_TOKEN });
  });
  after(() => t.close());

  test('the token opens /metrics from anywhere; none or a wrong one (even from loopback) is a 404', async () => {
    const remote = { remoteAddress: '203.0.113.7' };
    const withToken = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      ...remote,
    });
    assert.equal(withToken.statusCode, 200);
    assert.match(withToken.body, /^roam_ledger_height /m);
    const wrong = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}x` },
      ...remote,
    });
    assert.equal(wrong.statusCode, 404);
    const loopbackWithout = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      remoteAddress: '127.0.0.1',
    });
    assert.equal(loopbackWithout.statusCode, 404);
  });

  test('node.json refuses a short metrics token', async () => {
    await assert.rejects(openNode({ token: 'short' }), /metrics\.token/);
  });
});

describe('readiness', () => {
  const healthy = {
    storesOpen: () => true,
    ordererConnected: () => true,
    ordering: () => ({ pendingMessages: 0, stopped: false }),
    ledgerHalted: () => false,
    blocksBehindPeers: () => 0,
    missingCiphertexts: () => 0,
    checkpointsFailing: () => false,
  };

  test('each failing condition is reported by its code, all of them at once', () => {
    assert.deepEqual(checkReadiness(healthy), { ready: true, reasons: [], warnings: [] });
    const sick = checkReadiness({
      storesOpen: () => false,
      ordererConnected: () => false,
      ordering: () => ({ pendingMessages: 10_000, stopped: true }),
      ledgerHalted: () => true,
      blocksBehindPeers: () => 5_000,
      missingCiphertexts: () => 0,
      checkpointsFailing: () => false,
    });
    assert.equal(sick.ready, false);
    assert.deepEqual([...sick.reasons].sort(), Object.values(NotReadyCode).sort());
    assert.deepEqual(checkReadiness({ ...healthy, blocksBehindPeers: () => 5_000 }).reasons, [
      NotReadyCode.BEHIND_PEERS,
    ]);
  });

  test('missing ciphertexts are a warning of a ready node, not a reason to take it out', () => {
    assert.deepEqual(checkReadiness({ ...healthy, missingCiphertexts: () => 3 }), {
      ready: true,
      reasons: [],
      warnings: [ReadyWarningCode.CIPHERTEXT_MISSING],
    });
  });

  test('failing vault checkpoints are a warning of a ready node (its WAL grows until the operator acts)', () => {
    assert.deepEqual(checkReadiness({ ...healthy, checkpointsFailing: () => true }), {
      ready: true,
      reasons: [],
      warnings: [ReadyWarningCode.CHECKPOINTS_FAILING],
    });
  });

  test('a halted ledger makes a real node not ready (503 with LEDGER_HALTED)', async () => {
    const t = await openNode(undefined);
    try {
      t.node.ledger.halt(new Error('diverged in this test'));
      const answer = await t.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(answer.statusCode, 503);
      assert.deepEqual(answer.json(), { status: 'not-ready', reasons: [NotReadyCode.LEDGER_HALTED] });
    } finally {
      await t.close();
    }
  });
});
