/**
 * `npm run bench:fhir`: the FHIR R4 API of one node running in its own process, driven over HTTP
 * with bearer tokens (autocannon for the concurrent scenarios). Prints a human line and one JSON
 * line per scenario.
 *
 * Setup (not timed): a patient who granted the node's organization write access with sealed
 * keys, a practitioner of that organization, a second patient with SEARCH_RESOURCES Observations.
 *
 * Scenarios (targets on 2 cores):
 * - fhir-read: audited reads by id by the practitioner — p99 ≤ 10 ms, ≥ 5,000 reads/s;
 * - fhir-search: `Observation?patient=<id>&_count=50` over a patient with 1,000 resources;
 * - fhir-create: concurrent Observation creates (encrypted, anchored, indexed) — ≥ 800/s. Each
 *   create waits for its anchor's block (cut 25 ms after its first transaction), so a closed loop
 *   of N clients makes at most N creates per block round trip; the creates of one event-loop turn
 *   share their vault transaction, anchor transaction and durable commit, so the node's cost per
 *   create falls as more are in flight. 128 clients keep it busy; 32 measure the latency bound;
 * - fhir-import: Synthea bundles posted with `POST /fhir/R4?_import=true` — ≥ 2,000 resources/s.
 *
 * Knobs: BENCH_FHIR_SECONDS (per autocannon scenario, default 10), BENCH_FHIR_READ_CONNECTIONS
 * (8), BENCH_FHIR_SEARCH_CONNECTIONS (8), BENCH_FHIR_CREATE_CONNECTIONS (128),
 * BENCH_FHIR_SEARCH_RESOURCES (1000), BENCH_FHIR_IMPORTS (15 Synthea bundles),
 * BENCH_FHIR_SCENARIOS (a comma list of read, search, create, import; default all).
 *
 * Each line carries `cpu_us_per_op`: the node process's CPU time (all its threads, from /proc)
 * during the scenario divided by its operations — steadier than rates on a shared machine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { Bundle } from '@medplum/fhirtypes';
import { round } from './support/workload.js';
import {
  cpuMicros,
  createPatientResource,
  fhirCall,
  grantingPatient,
  observation,
  observationBundle,
  peakRssMb,
  practitioner,
  startFhirNode,
  tokenOf,
  type BenchFhirNode,
} from './support/fhir-setup.js';

const SECONDS = Number(process.env.BENCH_FHIR_SECONDS ?? 10);
const READ_CONNECTIONS = Number(process.env.BENCH_FHIR_READ_CONNECTIONS ?? 8);
const SEARCH_CONNECTIONS = Number(process.env.BENCH_FHIR_SEARCH_CONNECTIONS ?? 8);
const CREATE_CONNECTIONS = Number(process.env.BENCH_FHIR_CREATE_CONNECTIONS ?? 128);
const SEARCH_RESOURCES = Number(process.env.BENCH_FHIR_SEARCH_RESOURCES ?? 1000);
const IMPORTS = Number(process.env.BENCH_FHIR_IMPORTS ?? 15);
/** Bundles imported at once: a hospital loads a population, not one patient at a time. */
const IMPORT_CONCURRENCY = Number(process.env.BENCH_FHIR_IMPORT_CONCURRENCY ?? 4);
/** The Synthea patients kept in the repository (testdata/synthea/README.md says where they come from). */
const SYNTHEA_DIR = new URL('../testdata/synthea/', import.meta.url);
/** Pause between the create and import scenarios (deferred work of the one not timed in the other). */
const SETTLE_MS = 2000;
const SCENARIOS = new Set(
  (process.env.BENCH_FHIR_SCENARIOS ?? 'read,search,create,import').split(',').map((s) => s.trim()),
);

/** Runs `scenario` and adds the node process's CPU µs per operation to what it reports. */
async function measured<T extends { operations: number }>(
  node: BenchFhirNode,
  scenario: () => Promise<T>,
): Promise<T & { cpuUsPerOp: number }> {
  const before = cpuMicros(node.child.pid!);
  const result = await scenario();
  const used = cpuMicros(node.child.pid!) - before;
  return { ...result, cpuUsPerOp: Math.round(used / Math.max(1, result.operations)) };
}

function report(name: string, fields: Record<string, number | string>): void {
  const human = Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(`${name}: ${human}`);
  console.log(JSON.stringify({ bench: name, ...fields }));
}

/** Closed-loop load: `connections` requests in flight for SECONDS; fails on any non-2xx answer. */
async function hammer(options: {
  url: string;
  token: string;
  connections: number;
  method?: 'GET' | 'POST';
  body?: string;
}) {
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    headers: {
      authorization: `Bearer ${options.token}`,
      ...(options.body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
    },
    ...(options.body === undefined ? {} : { body: options.body }),
    connections: options.connections,
    duration: SECONDS,
    timeout: 30,
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0)
    throw new Error(
      `${options.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  return {
    perS: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result['2xx'],
    operations: result['2xx'],
  };
}

async function run(node: BenchFhirNode): Promise<void> {
  const doctor = await practitioner(node);
  const doctorToken = await tokenOf(node, doctor);

  // The patient read and written for: a Patient resource and one Observation to read.
  const patient = await grantingPatient(node);
  const patientId = await createPatientResource(node, await tokenOf(node, patient));
  const target = await fhirCall<{ id: string }>(
    node,
    doctorToken,
    'POST',
    'Observation',
    observation(patientId, 0),
  );

  if (SCENARIOS.has('read')) await readScenario(node, doctorToken, target.id);
  if (SCENARIOS.has('search')) await searchScenario(node, doctorToken);
  if (SCENARIOS.has('create')) await createScenario(node, doctorToken, patientId);
  if (SCENARIOS.has('import')) await importScenario(node);
  console.log(`(node process peak RSS ${peakRssMb(node.child.pid!)} MiB)`);
}

async function searchScenario(node: BenchFhirNode, doctorToken: string): Promise<void> {
  // The patient searched over: SEARCH_RESOURCES Observations written in transaction Bundles.
  const searched = await grantingPatient(node);
  const searchedId = await createPatientResource(node, await tokenOf(node, searched));
  for (let from = 0; from < SEARCH_RESOURCES - 1; from += 250) {
    const count = Math.min(250, SEARCH_RESOURCES - 1 - from);
    await fhirCall(node, doctorToken, 'POST', '', observationBundle(searchedId, from, count));
  }
  const check = await fhirCall<Bundle>(
    node,
    doctorToken,
    'GET',
    `Observation?patient=${searchedId}&_count=50`,
  );
  if ((check.entry?.length ?? 0) !== Math.min(50, SEARCH_RESOURCES - 1))
    throw new Error(`search setup: ${check.entry?.length ?? 0} entries on the first page`);
  console.log(`(setup: ${SEARCH_RESOURCES} resources of the searched patient, Patient included)`);
  const search = await measured(node, () => hammer({
    url: `${node.fhirUrl}/Observation?patient=${searchedId}&_count=50`,
    token: doctorToken,
    connections: SEARCH_CONNECTIONS,
  }));
  report('fhir-search', {
    requests_per_s: Math.round(search.perS),
    p50_ms: round(search.p50),
    p99_ms: round(search.p99),
    requests: search.requests,
    patient_resources: SEARCH_RESOURCES,
    page_size: 50,
    connections: SEARCH_CONNECTIONS,
    cpu_us_per_op: search.cpuUsPerOp,
  });
}

async function readScenario(node: BenchFhirNode, doctorToken: string, id: string): Promise<void> {
  const read = await measured(node, () =>
    hammer({ url: `${node.fhirUrl}/Observation/${id}`, token: doctorToken, connections: READ_CONNECTIONS }),
  );
  report('fhir-read', {
    reads_per_s: Math.round(read.perS),
    p50_ms: round(read.p50),
    p99_ms: round(read.p99),
    reads: read.requests,
    connections: READ_CONNECTIONS,
    cpu_us_per_op: read.cpuUsPerOp,
    target_p99_ms: 10,
    target_reads_per_s: 5000,
  });
}

async function createScenario(node: BenchFhirNode, doctorToken: string, patientId: string): Promise<void> {
  const create = await measured(node, () => hammer({
    url: `${node.fhirUrl}/Observation`,
    token: doctorToken,
    connections: CREATE_CONNECTIONS,
    method: 'POST',
    body: JSON.stringify(observation(patientId, 1)),
  }));
  report('fhir-create', {
    creates_per_s: Math.round(create.perS),
    p50_ms: round(create.p50),
    p99_ms: round(create.p99),
    creates: create.requests,
    connections: CREATE_CONNECTIONS,
    cpu_us_per_op: create.cpuUsPerOp,
    target_creates_per_s: 800,
  });
}

async function importScenario(node: BenchFhirNode): Promise<void> {
  // The audit entries of the creates are shipped to the ledger after the fact (audit.batch
  // transactions): let that finish so the import is measured alone.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const files = readdirSync(SYNTHEA_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .slice(0, IMPORTS);
  // Owners and their grants first (untimed), then every bundle, IMPORT_CONCURRENCY at a time.
  const jobs: Array<{ body: string; token: string }> = [];
  for (const file of files) {
    const owner = await grantingPatient(node);
    jobs.push({ body: readFileSync(new URL(file, SYNTHEA_DIR), 'utf8'), token: await tokenOf(node, owner) });
  }
  let resources = 0;
  let entries = 0;
  const start = performance.now();
  const cpuBefore = cpuMicros(node.child.pid!);
  const importer = async () => {
    for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
      const answer = await fhirCall<Bundle>(node, job.token, 'POST', '?_import=true', job.body);
      entries += answer.entry?.length ?? 0;
      resources += (answer.entry ?? []).filter((e) => e.response?.status?.startsWith('201')).length;
    }
  };
  await Promise.all(Array.from({ length: IMPORT_CONCURRENCY }, importer));
  const ms = performance.now() - start;
  const cpuUsed = cpuMicros(node.child.pid!) - cpuBefore;
  report('fhir-import', {
    resources_per_s: Math.round(resources / (ms / 1000)),
    resources,
    entries,
    bundles: files.length,
    concurrency: IMPORT_CONCURRENCY,
    seconds: round(ms / 1000, 2),
    cpu_us_per_op: Math.round(cpuUsed / Math.max(1, resources)),
    target_resources_per_s: 2000,
  });
}

const node = await startFhirNode();
try {
  await run(node);
} finally {
  await node.close();
}
