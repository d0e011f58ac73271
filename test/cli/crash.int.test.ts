// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * Durability: every transaction a node acknowledged as committed survives `kill -9` of the node
 * in the middle of a load, and the chain it restarts with verifies.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { chainIdOf, patientRegistration, postCommit, roam, startCli, tempDir } from './harness.js';
import { fetchAsMemberNode } from '../support/member-read.js';

const LOOPS = 8;
const LOAD_MS = 1500;

describe('roam start: crash under load', () => {
  const { dir, cleanup } = tempDir('roam-crash-');
  after(cleanup);

  it('keeps every acknowledged commit across kill -9, and the chain verifies', async (t) => {
    const data = join(dir, 'node');
    const init = await roam(['init', '--data', data, '--org', 'Crash Test Clinic', '--region', 'eu']);
    assert.equal(init.status, 0, init.stderr);

    const node = await startCli(['start', '--data', data, '--port', '0']);
    const chainId = await chainIdOf(node.url);
    const acknowledged: string[] = [];
    let refused = 0;
    let running = true;
    const loop = async () => {
      while (running) {
        try {
          const { status, body } = await postCommit(node.url, patientRegistration(chainId).envelope);
          const answer = body as { status?: string; id?: string };
          if (status === 200 && answer.status === 'committed' && answer.id) acknowledged.push(answer.id);
          else refused++;
        } catch {
          // The node is gone: connection refused or reset. Nothing was acknowledged.
          return;
        }
      }
    };
    const loops = Array.from({ length: LOOPS }, loop);
    await sleep(LOAD_MS);
    node.child.kill('SIGKILL');
    const { signal } = await node.exited;
    running = false;
    await Promise.all(loops);
    assert.equal(signal, 'SIGKILL');
    assert.ok(acknowledged.length >= 10, `only ${acknowledged.length} commits acknowledged in ${LOAD_MS} ms`);
    // Answers other than commit may only come from the last moments (e.g. UNAVAILABLE); none expected here.
    assert.equal(refused, 0, `${refused} submissions were answered without a commit`);

    t.diagnostic(`${acknowledged.length} commits acknowledged before kill -9`);

    const restarted = await startCli(['start', '--data', data, '--port', '0']);
    try {
      const missing: string[] = [];
      for (let i = 0; i < acknowledged.length; i += LOOPS) {
        const ids = acknowledged.slice(i, i + LOOPS);
        const statuses = await Promise.all(
          ids.map(async (id) => (await fetchAsMemberNode(restarted.url, `/ledger/tx/${id}`, data)).status),
        );
        statuses.forEach((status, j) => {
          if (status !== 200) missing.push(`${ids[j]} (${status})`);
        });
      }
      assert.deepEqual(
        missing,
        [],
        `${missing.length} of ${acknowledged.length} acknowledged transactions are gone`,
      );
    } finally {
      const { status } = await restarted.stop('SIGTERM');
      assert.equal(status, 0, restarted.output().stderr);
    }

    const verify = await roam(['ledger', 'verify', '--data', data, '--json']);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    const report = JSON.parse(verify.stdout) as { ok: boolean; txCount: number };
    assert.equal(report.ok, true);
    assert.ok(
      report.txCount >= acknowledged.length,
      `${report.txCount} transactions on the chain, ${acknowledged.length} acknowledged`,
    );
  });
});
