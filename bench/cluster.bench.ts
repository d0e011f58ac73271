/**
 * `npm run bench:cluster`: a 3-region network on this machine — 3 nats-server processes (one
 * JetStream cluster, stream R3) and 3 node processes — measured from a client process.
 *
 * 1. cluster: signed transactions submitted over HTTP to the three nodes in turn (batches,
 *    `?wait=commit`), committed tx/s until all three nodes hold the same head (same block hash
 *    and state root), and the submit-to-commit latency of the batches.
 * 2. roaming-everything: a patient with 500 resources kept by the `eu` hospital; a practitioner of
 *    the `us` clinic (granted) reads the whole `$everything` through the `us` node, which fetches
 *    and decrypts the ciphertexts from `eu`; latency of the full read (every page); then the same
 *    patient's `$summary` (the IPS document built from those records).
 *
 * Each scenario prints one JSON line. Targets (issue 4): ≥ 3,000 committed tx/s with the three
 * nodes in agreement; roaming `$everything` of a 500-resource patient p99 ≤ 100 ms (issue 14 §4;
 * each roaming line also gives the CPU ms per read of the reader's and the custodian's process).
 *
 * The network is secured as `roam network up` makes it (NATS over TLS with nkey users, nodes over
 * HTTPS under the network's CA). To state what that costs, run it again with
 * ROAM_BENCH_CLUSTER_NATS=open (clear text everywhere, no NATS users) and compare; each line
 * carries `nats: "tls" | "open"` (the node HTTP follows the same mode).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import type { StatusResponse } from '../src/wire/index.js';
import { networkDown, networkUp, type NetworkFile } from '../src/network/network.js';
import { readNodePassphrase } from '../src/network/node-passphrase.js';
import { loadNodeConfig, type NodeKeys } from '../src/node/index.js';
import { loadWallet } from '../src/wallet/index.js';
import { freePortRange } from '../test/support/nats-cluster.js';
import {
  createPatientResource,
  fhirCall,
  grantingPatient,
  grantTo,
  observationBundle,
  practitioner,
  tokenOf,
  type FhirEndpoint,
} from './support/fhir-setup.js';
import { consentAndAnchorTxs, newPatients, percentile, registrations, round } from './support/workload.js';

const PASSPHRASE = 'bench-passphrase';
const TXS = Number(process.env['ROAM_BENCH_CLUSTER_TXS'] ?? 60_000);
const NATS_MODE = process.env['ROAM_BENCH_CLUSTER_NATS'] === 'open' ? 'open' : 'tls';
const BATCH = 100;
const CONNECTIONS_PER_NODE = 6;
const ROAMING_RESOURCES = 500;
const ROAMING_RUNS = 60;
/** Page size of the paged roaming `$everything` walk. */
const PAGED_COUNT = 50;
const PATIENTS = 1000;

async function post(url: string, body: string): Promise<void> {
  const response = await fetch(`${url}/ledger/tx?wait=commit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (!response.ok) throw new Error(`setup submission failed: ${response.status} ${await response.text()}`);
}

function report(name: string, fields: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ bench: name, nats: NATS_MODE, ...fields }) + '\n');
}

async function status(url: string): Promise<StatusResponse> {
  const response = await fetch(`${url}/ledger/status`);
  return (await response.json()) as StatusResponse;
}

/** Waits until every node holds the same head; returns it. */
async function converged(urls: readonly string[], atLeast: number): Promise<StatusResponse[]> {
  for (;;) {
    const all = await Promise.all(urls.map(status));
    if (all.every((s) => s.height >= atLeast && s.headHash === all[0]!.headHash && s.stateRoot === all[0]!.stateRoot)) return all;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (0 once it is gone). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command), in clock ticks.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** The network's process ids: node processes by region, NATS servers by name. */
function networkPids(): { nodes: Record<string, number>; nats: Record<string, number> } {
  return JSON.parse(readFileSync(join(dir, 'pids.json'), 'utf8')) as { nodes: Record<string, number>; nats: Record<string, number> };
}

/** CPU seconds used so far by the network's node processes and by its NATS servers. */
function networkCpu(): { nodes: number; nats: number } {
  const pids = networkPids();
  const sum = (list: Record<string, number>) => Object.values(list).reduce((total, pid) => total + cpuSeconds(pid), 0);
  return { nodes: sum(pids.nodes), nats: sum(pids.nats) };
}

/**
 * Runs `read` `runs` times; returns the wall times (ms, sorted) and the CPU ms per run of the
 * reader's and the custodian's node processes (less sensitive to a shared machine than latency).
 */
async function timedReads(runs: number, read: () => Promise<unknown>, regions: { reader: string; custodian: string }) {
  const pids = networkPids().nodes;
  const readerPid = pids[regions.reader]!;
  const custodianPid = pids[regions.custodian]!;
  const cpuBefore = { reader: cpuSeconds(readerPid), custodian: cpuSeconds(custodianPid) };
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const began = performance.now();
    await read();
    times.push(performance.now() - began);
  }
  times.sort((a, b) => a - b);
  return {
    times,
    readerCpuMs: round(((cpuSeconds(readerPid) - cpuBefore.reader) * 1000) / runs),
    custodianCpuMs: round(((cpuSeconds(custodianPid) - cpuBefore.custodian) * 1000) / runs),
  };
}

/** The keys of a node of the benchmark's network (encrypted with the network's node passphrase). */
async function nodeKeysOf(dataDir: string): Promise<NodeKeys> {
  return (await loadNodeConfig(dataDir, { nodePassphrase: readNodePassphrase(dir) })).keys;
}

async function throughput(network: NetworkFile): Promise<void> {
  const urls = network.nodes.map((n) => n.url);
  // The workload of bench:ledger, per region: patients' consent grants to that region's
  // organization and record anchors signed by its node, submitted to that node (patients are
  // registered first, untimed).
  const patients = newPatients(PATIENTS);
  const { chainId } = await status(urls[0]!);
  const registration = registrations(patients, chainId);
  for (let i = 0; i < registration.length; i += 1000) await post(urls[0]!, JSON.stringify({ txs: registration.slice(i, i + 1000) }));
  const nodeKeys = await Promise.all(network.nodes.map((entry) => nodeKeysOf(entry.dataDir)));
  const bodiesByNode = nodeKeys.map((keys) => {
    const txs = consentAndAnchorTxs(Math.ceil(TXS / network.nodes.length), patients, keys.orgDid, { did: keys.nodeDid, keys: keys.node }, chainId);
    const bodies: string[] = [];
    for (let i = 0; i < txs.length; i += BATCH) bodies.push(JSON.stringify({ txs: txs.slice(i, i + BATCH) }));
    return bodies;
  });
  const start = await converged(urls, 0);
  const latencies: number[] = [];
  let committed = 0;
  const began = performance.now();
  const cpuBefore = networkCpu();
  const worker = async (w: number) => {
    const url = urls[w % urls.length]!;
    const bodies = bodiesByNode[w % urls.length]!;
    for (let body = bodies.shift(); body !== undefined; body = bodies.shift()) {
      const sent = performance.now();
      const response = await fetch(`${url}/ledger/tx?wait=commit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const answer = (await response.json()) as { results?: Array<{ status: string; code?: string }> };
      latencies.push(performance.now() - sent);
      committed += (answer.results ?? []).filter((r) => r.status === 'committed' && r.code === 'OK').length;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS_PER_NODE * urls.length }, (_, w) => worker(w)));
  const end = await converged(urls, start[0]!.height + 1);
  const seconds = (performance.now() - began) / 1000;
  const cpuAfter = networkCpu();
  latencies.sort((a, b) => a - b);
  const agreeing = end.every((s) => s.network?.peers.every((p) => p.agreement !== 'diverged') && !s.network.diverged);
  report('cluster', {
    tx_per_s: Math.round(committed / seconds),
    batch_p50_ms: round(percentile(latencies, 50)),
    batch_p99_ms: round(percentile(latencies, 99)),
    txs: committed,
    submitted: bodiesByNode.length * Math.ceil(TXS / network.nodes.length),
    workload: 'consent grants + record anchors',
    txs_per_request: BATCH,
    connections: CONNECTIONS_PER_NODE * urls.length,
    nodes: urls.length,
    nats_servers: network.nats.length,
    height: end[0]!.height,
    // CPU per committed tx, all three nodes together, and the NATS servers: on this 2-core
    // machine 2,000,000 µs/s divided by their sum bounds the throughput however the load is run.
    nodes_cpu_us_per_tx: Math.round(((cpuAfter.nodes - cpuBefore.nodes) * 1e6) / committed),
    nats_cpu_us_per_tx: Math.round(((cpuAfter.nats - cpuBefore.nats) * 1e6) / committed),
    same_head_on_all_nodes: true,
    attestations_agree: agreeing,
    target_tx_per_s: 3000,
  });
}

/** A node of the network as the FHIR bench setup sees it. */
async function benchNode(network: NetworkFile, region: string): Promise<FhirEndpoint> {
  const entry = network.nodes.find((n) => n.region === region)!;
  const keys = await nodeKeysOf(entry.dataDir);
  return {
    url: entry.url,
    chainId: (await status(entry.url)).chainId,
    fhirUrl: `${entry.url}/fhir/R4`,
    orgDid: keys.orgDid,
    orgPublicKey: keys.orgEncryption.publicKey,
    admin: await loadWallet(entry.adminWallet, PASSPHRASE),
  };
}

async function roaming(network: NetworkFile): Promise<void> {
  const eu = await benchNode(network, 'eu');
  const us = await benchNode(network, 'us');
  const patient = await grantingPatient(eu);
  const patientId = await createPatientResource(eu, await tokenOf(eu, patient));
  const euDoctor = await tokenOf(eu, await practitioner(eu));
  for (let i = 0; i < ROAMING_RESOURCES - 1; i += 100) {
    await fhirCall(eu, euDoctor, 'POST', '', observationBundle(patientId, i, Math.min(100, ROAMING_RESOURCES - 1 - i)));
  }
  await grantTo(us, patient, { orgDid: us.orgDid, orgPublicKey: us.orgPublicKey }, 'read');
  const usDoctorWallet = await practitioner(us);
  await converged(network.nodes.map((n) => n.url), (await status(eu.url)).height);
  const usDoctor = await tokenOf(us, usDoctorWallet);
  const everything = async (pageSize = 1000): Promise<number> => {
    let path: string | undefined = `Patient/${patientId}/$everything?_count=${pageSize}`;
    let count = 0;
    while (path) {
      const page: { entry?: Array<{ resource?: { resourceType?: string } }>; link?: Array<{ relation: string; url: string }> } = await fhirCall(us, usDoctor, 'GET', path);
      count += (page.entry ?? []).filter((e) => e.resource?.resourceType !== 'OperationOutcome').length;
      const nextLink = page.link?.find((l) => l.relation === 'next')?.url;
      path = nextLink ? nextLink.slice(nextLink.indexOf('/fhir/R4/') + '/fhir/R4/'.length) : undefined;
    }
    return count;
  };
  for (let i = 0; i < 3; i++) await everything();
  let resources = 0;
  const regions = { reader: 'us', custodian: 'eu' };
  const { times, readerCpuMs, custodianCpuMs } = await timedReads(ROAMING_RUNS, async () => (resources = await everything()), regions);
  if (resources !== ROAMING_RESOURCES) throw new Error(`roaming $everything returned ${resources} resources, expected ${ROAMING_RESOURCES}`);
  report('roaming-everything', {
    p50_ms: round(percentile(times, 50)),
    p99_ms: round(percentile(times, 99)),
    resources,
    runs: ROAMING_RUNS,
    ...regions,
    // CPU per $everything of the two node processes (including the audit each read ships).
    reader_cpu_ms: readerCpuMs,
    custodian_cpu_ms: custodianCpuMs,
    target_p99_ms: 100,
  });

  // The same $everything read page by page (`_count=50`, 10 pages): each page asks the custodian
  // only for that page (issue 14 §4) instead of all 500 records again.
  for (let i = 0; i < 3; i++) await everything(PAGED_COUNT);
  let pagedResources = 0;
  const paged = await timedReads(ROAMING_RUNS, async () => (pagedResources = await everything(PAGED_COUNT)), regions);
  if (pagedResources !== ROAMING_RESOURCES)
    throw new Error(`paged roaming $everything returned ${pagedResources} resources, expected ${ROAMING_RESOURCES}`);
  report('roaming-everything-paged', {
    count: PAGED_COUNT,
    pages: Math.ceil(ROAMING_RESOURCES / PAGED_COUNT),
    // Times and CPU of a walk through all pages.
    p50_ms: round(percentile(paged.times, 50)),
    p99_ms: round(percentile(paged.times, 99)),
    resources: pagedResources,
    runs: ROAMING_RUNS,
    ...regions,
    reader_cpu_ms: paged.readerCpuMs,
    custodian_cpu_ms: paged.custodianCpuMs,
  });

  // The same patient's International Patient Summary through the us node: it gathers what
  // $everything gathers (all 500 records fetched from eu and decrypted), then builds the document.
  const summary = async (): Promise<number> => {
    const document: { type?: string; entry?: unknown[] } = await fhirCall(us, usDoctor, 'GET', `Patient/${patientId}/$summary`);
    if (document.type !== 'document') throw new Error(`$summary answered a ${String(document.type)} Bundle, expected a document`);
    return document.entry?.length ?? 0;
  };
  for (let i = 0; i < 3; i++) await summary();
  let entries = 0;
  const summaryRuns = await timedReads(ROAMING_RUNS, async () => (entries = await summary()), regions);
  report('roaming-summary', {
    p50_ms: round(percentile(summaryRuns.times, 50)),
    p99_ms: round(percentile(summaryRuns.times, 99)),
    source_resources: resources,
    document_entries: entries,
    runs: ROAMING_RUNS,
    ...regions,
    reader_cpu_ms: summaryRuns.readerCpuMs,
    custodian_cpu_ms: summaryRuns.custodianCpuMs,
  });
}

const dir = mkdtempSync(join(tmpdir(), 'roam-bench-cluster-'));
try {
  const network = await networkUp({
    dir,
    regions: ['eu', 'us', 'ap'],
    basePort: await freePortRange(24),
    cli: {
      execPath: process.execPath,
      // ROAM_BENCH_CLUSTER_NODE_ARGS: extra node options for the node processes (e.g. --cpu-prof).
      args: [...(process.env['ROAM_BENCH_CLUSTER_NODE_ARGS']?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', join(import.meta.dirname, '../src/cli/main.ts')],
    },
    passphrase: PASSPHRASE,
    walletKdf: { N: 32768, r: 8, p: 1 },
    secure: NATS_MODE === 'tls',
  });
  // A secured network's nodes serve HTTPS under the network's own CA: the bench trusts it.
  if (network.natsSecurity) setDefaultCACertificates([...getCACertificates('default'), readFileSync(network.natsSecurity.caFile, 'utf8')]);
  if (process.env['ROAM_BENCH_CLUSTER_SKIP_ROAMING'] !== '1') await roaming(network);
  // ROAM_BENCH_CLUSTER_TXS=0: the roaming scenarios only.
  if (TXS > 0) await throughput(network);
} finally {
  await networkDown(dir);
  rmSync(dir, { recursive: true, force: true });
}
