// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * The process metrics on each node's `/metrics` (prom-client's default metrics: CPU, resident
 * memory, heap, event-loop lag, GC, handles): two real nodes in one process both show them, with
 * the values of this process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer } from '../../src/node/http/index.js';
import { RoamNode } from '../../src/node/index.js';
import { initTestDataFolder } from './fixture.js';

interface OpenNode {
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

async function openNode(name: string): Promise<OpenNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'roam-process-metrics-'));
  await initTestDataFolder(dataDir, name);
  const node = await RoamNode.open({ dataDir, blockLimits: { timeoutMs: 5 } });
  const app = buildHttpServer(node);
  await app.ready();
  return {
    app,
    async close() {
      await app.close();
      await node.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The value of an unlabelled sample `name` in a Prometheus text exposition. */
function sample(text: string, name: string): number {
  const match = new RegExp(`^${name} ([\\d.e+-]+)$`, 'm').exec(text);
  assert.ok(match, `${name} missing`);
  return Number(match[1]);
}

describe('process metrics on /metrics', () => {
  const nodes: OpenNode[] = [];
  before(async () => {
    nodes.push(await openNode('Clinic One'), await openNode('Clinic Two'));
  });
  after(async () => {
    for (const node of nodes) await node.close();
  });

  test('each node shows CPU, memory, heap, event-loop lag, GC and handles of its process', async () => {
    for (const { app } of nodes) {
      const answer = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' });
      assert.equal(answer.statusCode, 200);
      const text = answer.body;
      for (const name of [
        'process_cpu_user_seconds_total',
        'process_cpu_system_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_heap_size_used_bytes',
        'nodejs_heap_space_size_used_bytes',
        'nodejs_eventloop_lag_seconds',
        'nodejs_eventloop_lag_p99_seconds',
        'nodejs_gc_duration_seconds',
        'nodejs_active_handles_total',
        'process_open_fds',
      ]) {
        assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} missing`);
      }
      // The values are this process's: resident memory within a factor of two of what Node reports.
      const rss = sample(text, 'process_resident_memory_bytes');
      const actual = process.memoryUsage().rss;
      assert.ok(rss > actual / 2 && rss < actual * 2, `rss ${rss} vs ${actual}`);
      assert.ok(sample(text, 'process_cpu_user_seconds_total') > 0);
      assert.ok(sample(text, 'nodejs_heap_size_used_bytes') > 0);
      assert.ok(sample(text, 'nodejs_active_handles_total') >= 1);
      // The node's own metrics are still there beside them.
      assert.match(text, /^roam_ledger_height \d+$/m);
    }
  });

  test('the GC histogram counts the collections of the process', async () => {
    const { app } = nodes[0]!;
    const count = async () => {
      const text = (await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).body;
      return [...text.matchAll(/^nodejs_gc_duration_seconds_count\{kind="\w+"\} (\d+)$/gm)].reduce(
        (sum, m) => sum + Number(m[1]),
        0,
      );
    };
    const before = await count();
    // Garbage enough for several minor collections.
    let keep = 0;
    for (let i = 0; i < 200; i++) keep += new Array(50_000).fill(i).length;
    assert.ok(keep > 0);
    await new Promise((resolve) => setTimeout(resolve, 50)); // GC entries are delivered asynchronously
    assert.ok((await count()) > before, 'no garbage collection was counted');
  });
});
