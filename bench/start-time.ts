/**
 * `node --import tsx bench/start-time.ts <dataDir> [runs]`: times the start of a node already
 * filled (e.g. by `ROAM_BENCH_SCALE_KEEP_DIR=1 npm run bench:scale`), process start to `/readyz`
 * 200, `runs` times (default 3), stopping it in between; prints one JSON line per run. With
 * BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=…" each start leaves a CPU profile.
 */
import { startNodeProcess, stopNodeProcess } from './support/scale-node.js';

const [dataDir, runsArg] = process.argv.slice(2);
if (dataDir === undefined) throw new Error('usage: bench/start-time.ts <dataDir> [runs]');
const runs = Number(runsArg ?? 3);
for (let run = 1; run <= runs; run++) {
  const node = await startNodeProcess(dataDir);
  await stopNodeProcess(node);
  console.log(JSON.stringify({ bench: 'start', run, start_ms: Math.round(node.startMs) }));
}
