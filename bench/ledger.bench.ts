/**
 * `npm run bench:ledger`: signed consent/anchor transactions from concurrent clients into one
 * embedded node, in-process and over HTTP. Prints a human line and one JSON line per scenario.
 *
 * Targets (2 cores): ≥ 8,000 committed tx/s in-process, ≥ 5,000 tx/s over HTTP, p99
 * submit-to-commit ≤ 250 ms at half the load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initNetwork, loadNodeConfig, RoamNode } from '../src/node/index.js';
import type { SignedTx } from '../src/ledger/index.js';
import { consentAndAnchorTxs, newPatients, percentile, registrations, round } from './support/workload.js';
import { runHttpScenarios } from './support/http-scenarios.js';

const INPROC_TXS = Number(process.env.BENCH_TXS ?? 60_000);
const HTTP_TXS = Number(process.env.BENCH_HTTP_TXS ?? 40_000);
const PATIENTS = 2_000;
const CLIENTS = 8;
const CLIENT_BATCH = 250;

function report(name: string, fields: Record<string, number | string>): void {
  const human = Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(`${name}: ${human}`);
  console.log(JSON.stringify({ bench: name, ...fields }));
}

async function newNode(dir: string): Promise<RoamNode> {
  await initNetwork({ dataDir: dir, orgName: 'Bench Hospital', region: 'eu', adminPassphrase: 'bench-passphrase', walletKdf: { N: 32768, r: 8, p: 1 } });
  return RoamNode.open({ dataDir: dir });
}

/** Submits everything as fast as `CLIENTS` concurrent clients can; commit times from block events. */
async function saturate(node: RoamNode, txs: readonly SignedTx[]) {
  const submittedAt = new Map<string, number>();
  const latencies: number[] = [];
  let committed = 0;
  let lastCommit = 0;
  /** A transaction the block refused (a workload of refusals measures something else). */
  let refused: { code: string; message?: string } | undefined;
  const onBlock = (block: { txs: ReadonlyArray<{ id: string; code: string; message?: string }> }) => {
    const now = performance.now();
    for (const tx of block.txs) {
      const at = submittedAt.get(tx.id);
      if (at !== undefined) {
        if (tx.code !== 'OK') refused ??= tx;
        latencies.push(now - at);
        committed++;
        submittedAt.delete(tx.id);
      }
    }
    lastCommit = now;
  };
  node.ledger.on('block', onBlock);
  let next = 0;
  const start = performance.now();
  // CPU of the whole process (main thread, verifier and writer threads): steadier than tx/s on
  // a machine shared with other work.
  const cpuBefore = process.cpuUsage();
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < txs.length) {
        const batch = txs.slice(next, next + CLIENT_BATCH);
        next += batch.length;
        const now = performance.now();
        const outcome = await node.submit(batch);
        for (const a of outcome.accepted) submittedAt.set(a.id, now);
        if (outcome.rejected.length > 0) throw new Error(`rejected: ${JSON.stringify(outcome.rejected[0])}`);
      }
    }),
  );
  while (committed < txs.length) await new Promise((r) => setTimeout(r, 5));
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(rssTimer);
  node.ledger.off('block', onBlock);
  if (refused !== undefined) throw new Error(`the workload was refused in a block: ${refused.code}: ${refused.message ?? ''}`);
  latencies.sort((a, b) => a - b);
  return { txPerS: committed / ((lastCommit - start) / 1000), latencies, peakRss, cpuUsPerTx: (cpu.user + cpu.system) / committed };
}

/** Submits at a fixed rate (every 10 ms) and measures submit-to-commit latency. */
async function paced(node: RoamNode, txs: readonly SignedTx[], ratePerS: number) {
  const submittedAt = new Map<string, number>();
  const latencies: number[] = [];
  const onBlock = (block: { txs: ReadonlyArray<{ id: string }> }) => {
    const now = performance.now();
    for (const tx of block.txs) {
      const at = submittedAt.get(tx.id);
      if (at !== undefined) {
        latencies.push(now - at);
        submittedAt.delete(tx.id);
      }
    }
  };
  node.ledger.on('block', onBlock);
  const tickMs = 10;
  const start = performance.now();
  let sent = 0;
  while (sent < txs.length) {
    const due = Math.min(txs.length, Math.floor(((performance.now() - start) / 1000) * ratePerS));
    if (due > sent) {
      const batch = txs.slice(sent, due);
      sent = due;
      const now = performance.now();
      void node.submit(batch).then((o) => o.accepted.forEach((a) => submittedAt.set(a.id, now)));
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  while (latencies.length < txs.length) await new Promise((r) => setTimeout(r, 5));
  node.ledger.off('block', onBlock);
  latencies.sort((a, b) => a - b);
  return { txPerS: txs.length / ((performance.now() - start) / 1000), latencies };
}

async function inProcess(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'roam-bench-'));
  const node = await newNode(dir);
  try {
    const { keys } = await loadNodeConfig(dir);
    const patients = newPatients(PATIENTS);
    const setup = await node.submit(registrations(patients, node.ledger.chainId));
    await node.waitForCommit(setup.accepted[setup.accepted.length - 1]!.id, 60_000);

    const signStart = performance.now();
    const load = consentAndAnchorTxs(INPROC_TXS, patients, keys.orgDid, { did: keys.nodeDid, keys: keys.node }, node.ledger.chainId);
    const signRate = load.length / ((performance.now() - signStart) / 1000);
    console.log(`(workload: ${load.length} txs signed at ${Math.round(signRate)}/s before the clock starts)`);

    const max = await saturate(node, load);
    report('ledger-inproc', {
      tx_per_s: Math.round(max.txPerS),
      p50_ms: round(percentile(max.latencies, 50)),
      p99_ms: round(percentile(max.latencies, 99)),
      peak_rss_mb: Math.round(max.peakRss / 2 ** 20),
      cpu_us_per_tx: Math.round(max.cpuUsPerTx),
      txs: load.length,
      clients: CLIENTS,
      target_tx_per_s: 8000,
    });

    const half = Math.round(max.txPerS / 2);
    const halfLoad = consentAndAnchorTxs(Math.min(INPROC_TXS / 2, half * 5), patients, keys.orgDid, { did: keys.nodeDid, keys: keys.node }, node.ledger.chainId);
    const paced50 = await paced(node, halfLoad, half);
    report('ledger-inproc-half-load', {
      tx_per_s: Math.round(paced50.txPerS),
      p50_ms: round(percentile(paced50.latencies, 50)),
      p99_ms: round(percentile(paced50.latencies, 99)),
      txs: halfLoad.length,
      target_p99_ms: 250,
    });
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_SKIP_INPROC !== '1') await inProcess();
if (process.env.BENCH_SKIP_HTTP !== '1') await runHttpScenarios({ txs: HTTP_TXS, patients: PATIENTS, report });
