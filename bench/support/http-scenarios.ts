/**
 * The HTTP scenarios of `npm run bench:ledger`: one node in its own process, autocannon as the
 * load generator in this one, batches of signed transactions posted with `?wait=commit` so each
 * response time is a submit-to-commit latency.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { initNetwork, loadNodeConfig } from '../../src/node/index.js';
import type { SignedTx } from '../../src/ledger/index.js';
import { consentAndAnchorTxs, newPatients, percentile, registrations, round } from './workload.js';

const TXS_PER_REQUEST = Number(process.env.BENCH_HTTP_BATCH ?? 50);
/** Clients wait for commit, so throughput ≈ in-flight txs / commit latency: enough must be in flight. */
const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 32);

export interface HttpScenarioOptions {
  readonly txs: number;
  readonly patients: number;
  readonly report: (name: string, fields: Record<string, number | string>) => void;
}

async function startNodeProcess(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'serve-node.ts'), dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const { url } = JSON.parse(line) as { url: string };
    return { child, url };
  }
  throw new Error('node process exited before printing its URL');
}

/** Peak resident set of a process in MiB (VmHWM from /proc). */
function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

function bodiesOf(txs: readonly SignedTx[]): string[] {
  const bodies: string[] = [];
  for (let i = 0; i < txs.length; i += TXS_PER_REQUEST) bodies.push(JSON.stringify({ txs: txs.slice(i, i + TXS_PER_REQUEST) }));
  return bodies;
}

async function post(url: string, body: string): Promise<unknown> {
  const response = await fetch(`${url}/ledger/tx?wait=commit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (!response.ok) throw new Error(`setup request failed: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Saturation: autocannon keeps CONNECTIONS requests in flight (closed loop). */
async function load(url: string, bodies: readonly string[]) {
  let next = 0;
  const result = await autocannon({
    url: `${url}/ledger/tx?wait=commit`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections: CONNECTIONS,
    amount: bodies.length,
    timeout: 60,
    requests: [{ setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }) }],
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx responses, ${result.errors} errors`);
  const committed = result['2xx'] * TXS_PER_REQUEST;
  return { txPerS: committed / result.duration, p50: result.latency.p50, p99: result.latency.p99, reqPerS: result['2xx'] / result.duration };
}

/**
 * Latency at a given load: requests start at fixed times whatever the earlier ones are doing
 * (open loop), so a slow answer cannot hold back the next request and hide its own delay.
 */
async function paced(url: string, bodies: readonly string[], ratePerS: number) {
  const latencies: Promise<number>[] = [];
  const start = performance.now();
  for (const [i, body] of bodies.entries()) {
    const wait = start + (i * 1000) / ratePerS - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sentAt = performance.now();
    latencies.push(post(url, body).then(() => performance.now() - sentAt));
  }
  const sorted = (await Promise.all(latencies)).sort((a, b) => a - b);
  const seconds = (performance.now() - start) / 1000;
  return { txPerS: (bodies.length * TXS_PER_REQUEST) / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

export async function runHttpScenarios(options: HttpScenarioOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'roam-bench-http-'));
  const { chainId } = await initNetwork({ dataDir: dir, orgName: 'Bench Hospital', region: 'eu', adminPassphrase: 'bench-passphrase', walletKdf: { N: 32768, r: 8, p: 1 } });
  const { keys } = await loadNodeConfig(dir);
  const { child, url } = await startNodeProcess(dir);
  try {
    const patients = newPatients(options.patients);
    const registration = registrations(patients, chainId);
    for (let i = 0; i < registration.length; i += 500) await post(url, JSON.stringify({ txs: registration.slice(i, i + 500) }));
    const node = { did: keys.nodeDid, keys: keys.node };

    const max = await load(url, bodiesOf(consentAndAnchorTxs(options.txs, patients, keys.orgDid, node, chainId)));
    options.report('ledger-http', {
      tx_per_s: Math.round(max.txPerS),
      p50_ms: round(max.p50),
      p99_ms: round(max.p99),
      peak_rss_mb: peakRssMb(child.pid!),
      txs: options.txs,
      connections: CONNECTIONS,
      txs_per_request: TXS_PER_REQUEST,
      target_tx_per_s: 5000,
    });

    const halfRate = Math.max(1, max.reqPerS / 2);
    const halfTxs = Math.min(options.txs / 2, Math.round(max.txPerS / 2) * 5);
    const half = await paced(url, bodiesOf(consentAndAnchorTxs(halfTxs, patients, keys.orgDid, node, chainId)), halfRate);
    options.report('ledger-http-half-load', {
      tx_per_s: Math.round(half.txPerS),
      p50_ms: round(half.p50),
      p99_ms: round(half.p99),
      txs: halfTxs,
      target_p99_ms: 250,
    });
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}
