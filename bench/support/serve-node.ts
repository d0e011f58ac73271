/** Runs one node with its HTTP API in this process (the benchmark's server side). */
import { RoamNode } from '../../src/node/index.js';
import { startHttp } from '../../src/node/http/listen.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: serve-node.ts DATA_DIR');
const node = await RoamNode.open({ dataDir });
// The benchmarks drive thousands of requests per second from one client: explicit limits far
// above that (limits are never off, so the hook and its counting stay in what is measured).
const BENCH_LIMIT = { max: 100_000_000, windowMs: 60_000 };
const http = await startHttp(node, {
  host: '127.0.0.1',
  port: 0,
  rateLimits: { auth: BENCH_LIMIT, ledgerTx: BENCH_LIMIT, fhir: BENCH_LIMIT },
});
console.log(JSON.stringify({ url: http.url }));
const stop = () =>
  void http
    .close()
    .then(() => node.close())
    .then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
