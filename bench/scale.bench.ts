/**
 * `npm run bench:scale`: one node, in its own process, grown through 10k and 100k resources (and
 * 1M with ROAM_BENCH_SCALE_1M=1, or any sizes with ROAM_BENCH_SCALE_SIZES=10000,100000,1000000).
 * At each size it prints a human line and one JSON line `{"bench":"scale",…}` with the targets of
 * issue 14 as `target_*` fields.
 *
 * Growth: the same node, never refilled. Synthea-shaped resources (synthea-fill.ts) for 1k
 * patients up to 100k resources, 10k patients from 1M (size / 100, at least 1k), imported
 * through `POST /fhir/R4?_import=true` with each patient's own token; one patient holds 500
 * resources for `$everything`. The ledger holds what the fill committed (registrations, grants,
 * anchors, audit batches), topped up with consent grants and record anchors (workload.ts) to the
 * same number of transactions as resources.
 *
 * Per size, in this order: import (timed: resources/s), ledger top-up (untimed), the probes with
 * a practitioner's token (read by id, `Observation?patient=…&_count=50`, `$everything?_count=500`
 * — p99 over random resources and patients), peak RSS of the node process, stop; disk bytes;
 * `roam ledger verify` on the stopped node's folder (tx/s, process start included); restart
 * timed to `/readyz` 200; a joining node's catch-up from it (catch-up-node.ts, tx/s).
 *
 * Knobs: BENCH_SCALE_SECONDS (per probe, default 5), BENCH_SCALE_CONNECTIONS (8),
 * BENCH_SCALE_IMPORT_CONCURRENCY (4), BENCH_SCALE_MIN_PATIENTS (1000; fewer for a quick try),
 * BENCH_NODE_ARGS (node options of the child processes), ROAM_BENCH_SCALE_KEEP_DIR=1 (keep the
 * filled data folder and print its path; bench/scale-reprobe.ts probes it again later),
 * BENCH_SCALE_SKIP_REPLAY=1 (no verify and no catch-up).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  initBenchNetwork,
  peakRssMb,
  practitioner,
  tokenOf,
  type FhirEndpoint,
} from './support/fhir-setup.js';
import { probeScale, Sample } from './support/scale-probes.js';
import {
  diskBytes,
  joinAndCatchUp,
  SCALE_STATE_FILE,
  ledgerTxCount,
  startNodeProcess,
  stopNodeProcess,
  verifyLedger,
  type NodeProcess,
} from './support/scale-node.js';
import { importMore, loadTemplates, registerPatients, type FilledPatient } from './support/synthea-fill.js';
import { registerTopUpPatients, topUpLedgerTo, type LedgerTopUp } from './support/ledger-top-up.js';
import { newPatients, round } from './support/workload.js';

const DEFAULT_SIZES = [10_000, 100_000];
const SIZES = (
  process.env['ROAM_BENCH_SCALE_SIZES'] ??
  (process.env['ROAM_BENCH_SCALE_1M'] === '1' ? [...DEFAULT_SIZES, 1_000_000] : DEFAULT_SIZES).join(',')
)
  .split(',')
  .map(Number);
/** BENCH_SCALE_SKIP_REPLAY=1: no `roam ledger verify` and no catch-up (a quick fill to probe). */
const SKIP_REPLAY = process.env['BENCH_SCALE_SKIP_REPLAY'] === '1';
const SECONDS = Number(process.env['BENCH_SCALE_SECONDS'] ?? 5);
const CONNECTIONS = Number(process.env['BENCH_SCALE_CONNECTIONS'] ?? 8);
const IMPORT_CONCURRENCY = Number(process.env['BENCH_SCALE_IMPORT_CONCURRENCY'] ?? 4);
/** Resources of the patient `$everything` gathers (the issue's figure). */
const EVERYTHING_RESOURCES = 500;
/** 1k patients up to 100k resources, 10k at 1M: about 100 resources per patient at the large sizes. */
const MIN_PATIENTS = Number(process.env['BENCH_SCALE_MIN_PATIENTS'] ?? 1_000);
const patientsAt = (size: number) => Math.max(MIN_PATIENTS, Math.round(size / 100));
/** Import progress on stderr every so many resources. */
const PROGRESS_EVERY = 50_000;
/** Resources and patients remembered for the probes (a uniform sample of all). */
const PROBE_SAMPLE = 20_000;

const TARGETS = {
  target_read_p99_ms: 20,
  target_search_p99_ms: 50,
  target_verify_tx_per_s: 5_000,
  target_catch_up_tx_per_s: 5_000,
  target_peak_rss_mb: 1_024,
  target_start_ms: 10_000,
};

if (
  SIZES.some(
    (size, i) => !Number.isInteger(size) || size <= EVERYTHING_RESOURCES || (i > 0 && size <= SIZES[i - 1]!),
  )
)
  throw new Error(
    `ROAM_BENCH_SCALE_SIZES: increasing integers above ${EVERYTHING_RESOURCES} expected, got ${SIZES.join(',')}`,
  );

const network = await initBenchNetwork();
let node: NodeProcess = await startNodeProcess(network.dir);
const endpoint = (): FhirEndpoint => ({
  url: node.url,
  fhirUrl: `${node.url}/fhir/R4`,
  chainId: network.chainId,
  orgDid: network.keys.orgDid,
  orgPublicKey: network.keys.orgEncryption.publicKey,
  admin: network.admin,
});

const templates = loadTemplates();
const patients: FilledPatient[] = [];
const resources = new Sample<string>(PROBE_SAMPLE);
const searchable = new Sample<string>(PROBE_SAMPLE);
const doctor = await practitioner(endpoint());
const [everything] = await registerPatients(endpoint(), templates, { count: 1, firstNumber: 0 });
// Ledger top-up signers: patients who grant and whose records the node anchors.
const topUpPatients = newPatients(1_000);
let peakRss = 0;

/** Progress on stderr (stdout holds the results). */
function progress(line: string): void {
  process.stderr.write(`(scale ${new Date().toISOString().slice(11, 19)}) ${line}\n`);
}

/** Imports each patient's share of `size` (the `$everything` patient's 500 first); returns resources and seconds. */
async function grow(size: number): Promise<{ created: number; seconds: number }> {
  const target = patientsAt(size);
  const setupStarted = performance.now();
  patients.push(
    ...(await registerPatients(endpoint(), templates, {
      count: target - patients.length,
      firstNumber: patients.length + 1,
    })),
  );
  const perPatient = size - EVERYTHING_RESOURCES;
  const quota = (i: number) => Math.floor(perPatient / target) + (i < perPatient % target ? 1 : 0);
  const jobs: Array<{ patient: FilledPatient; count: number }> = [];
  if (everything!.resources < EVERYTHING_RESOURCES)
    jobs.push({ patient: everything!, count: EVERYTHING_RESOURCES });
  patients.forEach((patient, i) => {
    if (quota(i) > patient.resources) jobs.push({ patient, count: quota(i) - patient.resources });
  });
  let created = 0;
  const started = performance.now();
  progress(
    `${size}: ${target} patients registered in ${round((started - setupStarted) / 1000)} s; importing`,
  );
  const worker = async () => {
    for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
      const { patient } = job;
      const isNew = patient.patientRef === undefined;
      const added = await importMore(endpoint(), patient, {
        count: job.count,
        onCreated: (ref) => resources.offer(ref),
      });
      const before = created;
      created += added;
      // A long fill (1M) says how far it got.
      if (Math.floor(created / PROGRESS_EVERY) > Math.floor(before / PROGRESS_EVERY))
        progress(
          `${size}: ${created} resources imported (${Math.round(created / ((performance.now() - started) / 1000))}/s)`,
        );
      if (isNew && patient !== everything && patient.patientRef !== undefined)
        searchable.offer(patient.patientRef.slice('Patient/'.length));
    }
  };
  await Promise.all(Array.from({ length: IMPORT_CONCURRENCY }, worker));
  return { created, seconds: (performance.now() - started) / 1000 };
}

/** Consent grants and record anchors until the ledger holds `size` transactions. */
async function topUpLedger(size: number): Promise<void> {
  const topUp: LedgerTopUp = {
    url: node.url,
    dataDir: network.dir,
    chainId: network.chainId,
    orgDid: network.keys.orgDid,
    node: { did: network.keys.nodeDid, keys: network.keys.node },
    patients: topUpPatients,
  };
  if (size === SIZES[0]) await registerTopUpPatients(topUp);
  await topUpLedgerTo(topUp, size);
}

async function probes() {
  const token = await tokenOf(endpoint(), doctor);
  return probeScale({
    fhirUrl: endpoint().fhirUrl,
    token,
    seconds: SECONDS,
    connections: CONNECTIONS,
    resources: resources.values,
    searchable: searchable.values,
    everything: everything!.patientRef!,
    everythingResources: EVERYTHING_RESOURCES,
  });
}

async function measure(size: number): Promise<void> {
  const imported = await grow(size);
  progress(`${size}: ${imported.created} resources imported in ${round(imported.seconds)} s; ledger top-up`);
  await topUpLedger(size);
  progress(`${size}: probes`);
  const { read, search, whole } = await probes();
  peakRss = Math.max(peakRss, peakRssMb(node.child.pid!));
  await stopNodeProcess(node);
  const disk = diskBytes(network.dir);
  progress(`${size}: roam ledger verify`);
  const verify = SKIP_REPLAY ? undefined : await verifyLedger(network.dir);
  node = await startNodeProcess(network.dir);
  progress(`${size}: node restarted in ${Math.round(node.startMs)} ms; joining node catches up`);
  const catchUp =
    verify && (await joinAndCatchUp({ dataDir: network.dir, url: node.url, height: verify.height }));
  const transactions = verify?.txCount ?? ledgerTxCount(network.dir);
  const stored = patients.reduce((sum, p) => sum + p.resources, everything!.resources);
  const fields = {
    resources: stored,
    transactions,
    patients: patients.length + 1,
    read_p99_ms: round(read.p99),
    read_p50_ms: round(read.p50),
    reads_per_s: Math.round(read.perS),
    search_p99_ms: round(search.p99),
    search_p50_ms: round(search.p50),
    everything_500_p99_ms: round(whole.p99),
    everything_500_p50_ms: round(whole.p50),
    import_resources_per_s: Math.round(imported.created / imported.seconds),
    disk_bytes_per_resource: Math.round(disk.vaultAndIndex / stored),
    disk_bytes_per_tx: Math.round(disk.ledger / transactions),
    disk_vault_index_mb: round(disk.vaultAndIndex / 2 ** 20),
    disk_ledger_mb: round(disk.ledger / 2 ** 20),
    start_ms: Math.round(node.startMs),
    peak_rss_mb: Math.max(peakRss, peakRssMb(node.child.pid!)),
    verify_tx_per_s: verify ? Math.round(verify.txCount / verify.seconds) : null,
    verify_seconds: verify ? round(verify.seconds) : null,
    catch_up_tx_per_s: verify && catchUp ? Math.round(verify.txCount / catchUp.seconds) : null,
    catch_up_seconds: catchUp ? round(catchUp.seconds) : null,
    catch_up_blocks: catchUp?.blocks ?? null,
    probe_connections: CONNECTIONS,
    ...TARGETS,
  };
  console.log(
    `scale ${size}: ${Object.entries(fields)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  console.log(JSON.stringify({ bench: 'scale', ...fields }));
}

try {
  for (const size of SIZES) await measure(size);
} finally {
  await stopNodeProcess(node);
  // Kept on request, to time and profile further starts of the filled node (bench/start-time.ts).
  if (process.env['ROAM_BENCH_SCALE_KEEP_DIR'] === '1') {
    // What bench/scale-reprobe.ts needs to probe the same folder again with newer code.
    const state = {
      chainId: network.chainId,
      resources: resources.values,
      searchable: searchable.values,
      everything: everything!.patientRef,
    };
    writeFileSync(join(network.dir, SCALE_STATE_FILE), JSON.stringify(state));
    progress(`data folder kept: ${network.dir}`);
  } else rmSync(network.dir, { recursive: true, force: true });
}
