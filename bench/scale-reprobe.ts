/**
 * Probes again a data folder that `npm run bench:scale` kept (ROAM_BENCH_SCALE_KEEP_DIR=1), with
 * the code of this checkout: node start (process → `/readyz` 200), FHIR read p99, patient search
 * p99, `$everything` of 500 p99 and the node's peak RSS, the same probes as bench:scale's on the
 * same samples. It lets a change be measured on a large folder (1M) without filling it again.
 *
 *   node --import tsx bench/scale-reprobe.ts DIR
 *
 * Prints one JSON line `{"bench":"scale-reprobe",…}`. Knobs: BENCH_SCALE_SECONDS (per probe, 5),
 * BENCH_SCALE_CONNECTIONS (8), BENCH_SCALE_REPROBE_REPLAY=1 (then also, as bench:scale does: the
 * node stopped, `roam ledger verify` on the folder, the node restarted, a joining node's catch-up),
 * BENCH_SCALE_REPROBE_TOP_UP_TO=N (first, the ledger topped up to N transactions with bench:scale's
 * consent grants and record anchors, by 1,000 fresh patients: finishes a fill whose top-up was cut
 * short; the line then says `top_up_tx_per_s`).
 * The folder is used as it is (a newer node may migrate it; a top-up writes to it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  openBenchNetwork,
  peakRssMb,
  practitioner,
  tokenOf,
  type FhirEndpoint,
} from './support/fhir-setup.js';
import {
  diskBytes,
  joinAndCatchUp,
  ledgerTxCount,
  SCALE_STATE_FILE,
  startNodeProcess,
  stopNodeProcess,
  verifyLedger,
  type NodeProcess,
} from './support/scale-node.js';
import { probeScale } from './support/scale-probes.js';
import { registerTopUpPatients, topUpLedgerTo } from './support/ledger-top-up.js';
import { newPatients, round } from './support/workload.js';

interface ScaleState {
  readonly chainId: string;
  readonly resources: readonly string[];
  readonly searchable: readonly string[];
  readonly everything: string;
}

const dir = process.argv[2];
if (dir === undefined)
  throw new Error('usage: node --import tsx bench/scale-reprobe.ts DIR (a folder kept by bench:scale)');
const SECONDS = Number(process.env['BENCH_SCALE_SECONDS'] ?? 5);
const CONNECTIONS = Number(process.env['BENCH_SCALE_CONNECTIONS'] ?? 8);
const EVERYTHING_RESOURCES = 500;

const state = JSON.parse(readFileSync(join(dir, SCALE_STATE_FILE), 'utf8')) as ScaleState;
const { keys, admin } = await openBenchNetwork(dir);
const REPLAY = process.env['BENCH_SCALE_REPROBE_REPLAY'] === '1';
const TOP_UP_TO = Number(process.env['BENCH_SCALE_REPROBE_TOP_UP_TO'] ?? 0);
if (!Number.isInteger(TOP_UP_TO) || TOP_UP_TO < 0)
  throw new Error(`BENCH_SCALE_REPROBE_TOP_UP_TO: a transaction count expected, got ${TOP_UP_TO}`);
let node: NodeProcess = await startNodeProcess(dir);
try {
  let topUp = {};
  if (TOP_UP_TO > ledgerTxCount(dir)) {
    const before = ledgerTxCount(dir);
    const started = performance.now();
    const target = {
      url: node.url,
      dataDir: dir,
      chainId: state.chainId,
      orgDid: keys.orgDid,
      node: { did: keys.nodeDid, keys: keys.node },
      patients: newPatients(1_000),
    };
    await registerTopUpPatients(target);
    await topUpLedgerTo(target, TOP_UP_TO, (transactions) =>
      process.stderr.write(`(reprobe) ledger topped up to ${transactions} transactions\n`),
    );
    const seconds = (performance.now() - started) / 1000;
    topUp = { top_up_tx_per_s: Math.round((ledgerTxCount(dir) - before) / seconds), top_up_seconds: round(seconds) };
  }
  const endpoint: FhirEndpoint = {
    url: node.url,
    fhirUrl: `${node.url}/fhir/R4`,
    chainId: state.chainId,
    orgDid: keys.orgDid,
    orgPublicKey: keys.orgEncryption.publicKey,
    admin,
  };
  const token = await tokenOf(endpoint, await practitioner(endpoint));
  const { read, search, whole } = await probeScale({
    fhirUrl: endpoint.fhirUrl,
    token,
    seconds: SECONDS,
    connections: CONNECTIONS,
    resources: state.resources,
    searchable: state.searchable,
    everything: state.everything,
    everythingResources: EVERYTHING_RESOURCES,
  });
  const fields = {
    start_ms: Math.round(node.startMs),
    read_p99_ms: round(read.p99),
    read_p50_ms: round(read.p50),
    reads_per_s: Math.round(read.perS),
    search_p99_ms: round(search.p99),
    search_p50_ms: round(search.p50),
    everything_500_p99_ms: round(whole.p99),
    everything_500_p50_ms: round(whole.p50),
    peak_rss_mb: peakRssMb(node.child.pid!),
    probe_connections: CONNECTIONS,
    ...topUp,
  };
  const transactions = ledgerTxCount(dir);
  const disk = diskBytes(dir);
  let replay = {};
  if (REPLAY) {
    await stopNodeProcess(node);
    const verify = await verifyLedger(dir);
    node = await startNodeProcess(dir);
    const catchUp = await joinAndCatchUp({ dataDir: dir, url: node.url, height: verify.height });
    replay = {
      verify_tx_per_s: Math.round(verify.txCount / verify.seconds),
      verify_seconds: round(verify.seconds),
      catch_up_tx_per_s: Math.round(verify.txCount / catchUp.seconds),
      catch_up_seconds: round(catchUp.seconds),
      catch_up_blocks: catchUp.blocks,
      restart_ms: Math.round(node.startMs),
    };
  }
  Object.assign(fields, {
    transactions,
    disk_vault_index_mb: round(disk.vaultAndIndex / 2 ** 20),
    disk_ledger_mb: round(disk.ledger / 2 ** 20),
    disk_bytes_per_tx: Math.round(disk.ledger / transactions),
    ...replay,
  });
  console.log(JSON.stringify({ bench: 'scale-reprobe', ...fields }));
} finally {
  await stopNodeProcess(node);
}
