/**
 * The node of `npm run bench:scale` as an operator sees it: a process started on a data folder
 * and timed to `/readyz` 200, stopped with SIGTERM, its files measured on disk, its ledger
 * checked with `roam ledger verify` and copied by a joining node (catch-up-node.ts), each in a
 * process of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { DataFiles } from '../../src/node/config.js';

const REPO = join(import.meta.dirname, '..', '..');
const READY_POLL_MS = 20;

/** In a kept folder: the probe samples, for bench/scale-reprobe.ts. */
export const SCALE_STATE_FILE = 'bench-scale-state.json';

export interface NodeProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Milliseconds from spawning the process to the first `/readyz` 200. */
  readonly startMs: number;
}

/** The first JSON line a child prints on stdout; fails if it exits without one. */
async function firstJsonLine<T>(child: ChildProcess, what: string): Promise<T> {
  for await (const line of createInterface({ input: child.stdout! })) return JSON.parse(line) as T;
  throw new Error(`${what} exited without printing its result`);
}

function tsxChild(script: string, args: readonly string[]): ChildProcess {
  // BENCH_NODE_ARGS: extra node options for the child processes (e.g. --cpu-prof).
  const extra = process.env['BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];
  return spawn(process.execPath, [...extra, '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO });
}

/** Starts the node of `dataDir` (bench/support/serve-node.ts) and waits until `/readyz` answers 200. */
export async function startNodeProcess(dataDir: string): Promise<NodeProcess> {
  const spawnedAt = performance.now();
  const child = tsxChild(join(REPO, 'bench', 'support', 'serve-node.ts'), [dataDir]);
  const { url } = await firstJsonLine<{ url: string }>(child, 'the node process');
  for (;;) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) return { child, url, startMs: performance.now() - spawnedAt };
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
}

export async function stopNodeProcess(node: NodeProcess): Promise<void> {
  if (node.child.exitCode !== null) return;
  const exited = new Promise((resolve) => node.child.once('exit', resolve));
  node.child.kill('SIGTERM');
  await exited;
}

/** Bytes on disk of the node's ledger (ledger.sqlite with its WAL) and of its vault and FHIR index (the other SQLite files). */
export function diskBytes(dataDir: string): { ledger: number; vaultAndIndex: number } {
  let ledger = 0;
  let vaultAndIndex = 0;
  for (const file of readdirSync(dataDir)) {
    if (!file.includes('.sqlite') || file.startsWith('shl.sqlite')) continue;
    const size = statSync(join(dataDir, file)).size;
    if (file.startsWith('ledger.sqlite')) ledger += size;
    else vaultAndIndex += size;
  }
  return { ledger, vaultAndIndex };
}

/** Committed transactions in the node's ledger (read-only; the node may be running). */
export function ledgerTxCount(dataDir: string): number {
  const db = new Database(DataFiles.store(dataDir), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM txs').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** `roam ledger verify --data DIR --json` in its own process; wall time includes its start. */
export async function verifyLedger(dataDir: string): Promise<{ height: number; txCount: number; seconds: number }> {
  const started = performance.now();
  const child = tsxChild(join(REPO, 'src', 'cli', 'main.ts'), ['ledger', 'verify', '--data', dataDir, '--json']);
  const report = await firstJsonLine<{ ok: boolean; height: number; txCount: number; problem?: string }>(child, 'roam ledger verify');
  await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
  if (!report.ok) throw new Error(`roam ledger verify failed: ${report.problem ?? 'unknown'}`);
  return { height: report.height, txCount: report.txCount, seconds: (performance.now() - started) / 1000 };
}

/**
 * A joining node (catch-up-node.ts) catches up from the running node to at least `height`;
 * returns the blocks and seconds. Fails if it stopped short (a figure of a partial copy would lie).
 */
export async function joinAndCatchUp(options: { dataDir: string; url: string; height: number }): Promise<{ blocks: number; seconds: number }> {
  const child = tsxChild(join(REPO, 'bench', 'support', 'catch-up-node.ts'), [options.dataDir, options.url]);
  const result = await firstJsonLine<{ from: number; to: number; ms: number }>(child, 'the joining node');
  if (result.to < options.height) throw new Error(`the joining node stopped at height ${result.to} of ${options.height}`);
  return { blocks: result.to - result.from, seconds: result.ms / 1000 };
}
