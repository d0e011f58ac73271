/**
 * Runs `roam ledger verify`'s replay (verifyChain with the worker verifier pool) on a data folder
 * and prints, every BENCH_VERIFY_REPORT_S seconds (10), one JSON line with the height, the
 * transactions verified, the tx/s of the last interval and the process's RSS; then the final
 * report with the peak RSS. BENCH_VERIFY_MAX_S stops it early (to A/B a replay that would not
 * finish). For profiling the replay of a big ledger without the CLI's output handling.
 * Usage: node --import tsx bench/support/verify-probe.ts DATA_DIR
 */
import { applyGenesis, createContractRegistry } from '../../src/contracts/index.js';
import { verifyChain, WorkerVerifierPool } from '../../src/ledger/index.js';
import { DataFiles } from '../../src/node/config.js';
import { LedgerStore } from '../../src/store/index.js';

const [dir] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: verify-probe.ts DATA_DIR');
const reportEveryMs = Number(process.env['BENCH_VERIFY_REPORT_S'] ?? 10) * 1000;
const maxMs = Number(process.env['BENCH_VERIFY_MAX_S'] ?? Infinity) * 1000;

const store = LedgerStore.open(DataFiles.store(dir), { readonly: true });
const verifier = new WorkerVerifierPool();
const started = performance.now();
let peakRssMb = 0;
let last = { at: started, txs: 0 };
let txs = 0;
const stop = new AbortController();
try {
  const report = await verifyChain(
    store,
    { registry: createContractRegistry(), applyGenesis },
    {
      verifier,
      onBlock: (height) => {
        txs += (JSON.parse(store.getBlock(height)!.header) as { txCount: number }).txCount;
        const now = performance.now();
        if (now - last.at < reportEveryMs) return;
        const rssMb = Math.round(process.memoryUsage.rss() / 2 ** 20);
        peakRssMb = Math.max(peakRssMb, rssMb);
        const perS = Math.round(((txs - last.txs) * 1000) / (now - last.at));
        console.log(JSON.stringify({ height, txs, seconds: Math.round((now - started) / 1000), interval_tx_per_s: perS, rss_mb: rssMb }));
        last = { at: now, txs };
        if (now - started > maxMs) stop.abort();
        if (stop.signal.aborted) throw new Error('stopped: BENCH_VERIFY_MAX_S reached');
      },
    },
  );
  const seconds = (performance.now() - started) / 1000;
  peakRssMb = Math.max(peakRssMb, Math.round(process.memoryUsage.rss() / 2 ** 20));
  console.log(JSON.stringify({ bench: 'verify-probe', ...report, seconds: Math.round(seconds), tx_per_s: 'txCount' in report ? Math.round(report.txCount / seconds) : null, peak_rss_mb: peakRssMb }));
} catch (error) {
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ bench: 'verify-probe', stopped: (error as Error).message, txs, seconds: Math.round(seconds), tx_per_s: Math.round(txs / seconds), peak_rss_mb: peakRssMb }));
} finally {
  await verifier.close();
  store.close();
}
