/**
 * Setup of `npm run bench:fhir`: a one-organization node in its own process (serve-node.ts),
 * parties registered and grants committed over the ledger API, tokens from the /auth routes,
 * and FHIR calls with `fetch`. Everything here happens before a clock starts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { signIn } from '../../src/client/auth.js';
import { toBase64Url } from '../../src/crypto/index.js';
import { createTx, signTx, type SignedTx, type TxType } from '../../src/ledger/index.js';
import { DataFiles } from '../../src/node/config.js';
import { initNetwork, loadNodeConfig, type NodeConfig } from '../../src/node/index.js';

type NodeKeys = NodeConfig['keys'];
import { sealGrantKeys } from '../../src/vault/index.js';
import { createWallet, deriveRecordKeySeed, loadWallet, type Wallet } from '../../src/wallet/index.js';

const PASSPHRASE = 'bench-passphrase';

export interface BenchFhirNode {
  readonly url: string;
  /** The network's chain id, named in every transaction. */
  readonly chainId: string;
  readonly fhirUrl: string;
  readonly child: ChildProcess;
  readonly orgDid: string;
  readonly orgPublicKey: Uint8Array;
  readonly admin: Wallet;
  close(): Promise<void>;
}

/** What the setup helpers need of a node: where it is, its organization and the org admin. */
export type FhirEndpoint = Omit<BenchFhirNode, 'child' | 'close'>;

/** A one-organization network initialised in a fresh temp folder, with its org admin's wallet. */
export async function initBenchNetwork(): Promise<{
  dir: string;
  chainId: string;
  keys: NodeKeys;
  admin: Wallet;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'roam-bench-fhir-'));
  const init = await initNetwork({
    dataDir: dir,
    orgName: 'Bench Hospital',
    region: 'eu',
    adminPassphrase: PASSPHRASE,
    walletKdf: { N: 32768, r: 8, p: 1 },
  });
  const { keys } = await loadNodeConfig(dir);
  return { dir, chainId: init.chainId, keys, admin: await loadWallet(init.adminWalletPath, PASSPHRASE) };
}

/** The organization admin's wallet and the node keys of a folder `initBenchNetwork` made (kept by bench:scale). */
export async function openBenchNetwork(dir: string): Promise<{ keys: NodeKeys; admin: Wallet }> {
  const { keys } = await loadNodeConfig(dir);
  return { keys, admin: await loadWallet(DataFiles.adminWallet(dir), PASSPHRASE) };
}

/** Inits a network in a temp folder and runs its node in a child process. */
export async function startFhirNode(): Promise<BenchFhirNode> {
  const { dir, chainId, keys, admin } = await initBenchNetwork();
  const child = spawn(
    process.execPath,
    // BENCH_NODE_ARGS: extra node options for the node process (e.g. --cpu-prof).
    [
      ...(process.env['BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
      '--import',
      'tsx',
      join(import.meta.dirname, 'serve-node.ts'),
      dir,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let url: string | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    url = (JSON.parse(line) as { url: string }).url;
    break;
  }
  if (url === undefined) throw new Error('node process exited before printing its URL');
  return {
    url,
    chainId,
    fhirUrl: `${url}/fhir/R4`,
    child,
    orgDid: keys.orgDid,
    orgPublicKey: keys.orgEncryption.publicKey,
    admin,
    async close() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * CPU time (user + system, all threads: the validation workers included) a process has used so
 * far, in microseconds (from /proc; clock ticks of 10 ms on Linux).
 */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") ": utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS_PER_S;
}
const CLOCK_TICKS_PER_S = 100;

/** Peak resident set of a process in MiB (VmHWM from /proc). */
export function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

export function envelope(chainId: string, wallet: Wallet, type: string, payload: unknown): SignedTx {
  return signTx(
    createTx({ chainId, type: type as TxType, signer: wallet.did, payload }),
    wallet.signing.secretKey,
  );
}

/** Posts transactions with `?wait=commit`; fails unless every one committed with OK. */
export async function commit(node: Pick<BenchFhirNode, 'url'>, txs: readonly SignedTx[]): Promise<void> {
  const response = await fetch(`${node.url}/ledger/tx?wait=commit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ txs }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`ledger submission failed: ${response.status} ${text}`);
  const { results } = JSON.parse(text) as { results: Array<{ status: string; code?: string }> };
  if (results.some((r) => r.status !== 'committed' || r.code !== 'OK'))
    throw new Error(`ledger submission not committed OK: ${text}`);
}

/** A registered patient who granted the node's organization write access to everything, with sealed keys. */
export async function grantingPatient(node: FhirEndpoint): Promise<Wallet> {
  const patient = createWallet('patient').wallet;
  await commit(node, [
    envelope(node.chainId, patient, 'identity.patient.register', {
      encryptionKey: toBase64Url(patient.encryption.publicKey),
    }),
  ]);
  await grantTo(node, patient, { orgDid: node.orgDid, orgPublicKey: node.orgPublicKey }, 'write');
  return patient;
}

/** `patient` grants `grantee` access to all resource types and classes (epoch 0 keys sealed to it), committed through `node`. */
export async function grantTo(
  node: Pick<BenchFhirNode, 'url' | 'chainId'>,
  patient: Wallet,
  grantee: { readonly orgDid: string; readonly orgPublicKey: Uint8Array },
  access: 'read' | 'write',
): Promise<void> {
  await commit(node, [await grantTx(node, patient, grantee, access)]);
}

/** The signed consent.grant of `grantTo`, for callers that commit many at once. */
export async function grantTx(
  node: Pick<BenchFhirNode, 'chainId'>,
  patient: Wallet,
  grantee: { readonly orgDid: string; readonly orgPublicKey: Uint8Array },
  access: 'read' | 'write',
): Promise<SignedTx> {
  const keys = await sealGrantKeys({
    recordKeySeed: deriveRecordKeySeed(patient),
    patient: patient.did,
    grantee: grantee.orgDid,
    granteePublicKey: grantee.orgPublicKey,
    keys: [
      { class: 'general', epoch: 0 },
      { class: 'sensitive', epoch: 0 },
    ],
  });
  return envelope(node.chainId, patient, 'consent.grant', {
    grantId: randomUUID(),
    grantee: grantee.orgDid,
    scope: { resourceTypes: ['*'], classes: ['general', 'sensitive'] },
    purpose: 'treatment',
    access,
    expiresAt: null,
    keys,
  });
}

/** A practitioner of the node's organization, registered by its admin. */
export async function practitioner(node: FhirEndpoint): Promise<Wallet> {
  const wallet = createWallet('practitioner').wallet;
  await commit(node, [
    envelope(node.chainId, node.admin, 'identity.practitioner.register', {
      practitioner: wallet.did,
      roles: ['physician'],
      encryptionKey: toBase64Url(wallet.encryption.publicKey),
    }),
  ]);
  return wallet;
}

export async function tokenOf(node: FhirEndpoint, wallet: Wallet): Promise<string> {
  return (await signIn({ baseUrl: node.url }, wallet)).access_token;
}

/** A FHIR call (`path` relative to /fhir/R4); fails unless the answer is 2xx. */
export async function fhirCall<T>(
  node: FhirEndpoint,
  token: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${node.fhirUrl}/${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** The patient's own Patient resource (created with the patient's token); returns its id. */
export async function createPatientResource(node: FhirEndpoint, token: string): Promise<string> {
  const created = await fhirCall<{ id: string }>(node, token, 'POST', 'Patient', {
    resourceType: 'Patient',
    name: [{ family: 'Benchperson', given: ['Sam'] }],
    gender: 'other',
    birthDate: '1970-01-01',
  });
  return created.id;
}

export function observation(patientId: string, i: number): Record<string, unknown> {
  const day = new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString();
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: day,
    valueQuantity: { value: 60 + (i % 40), unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

/** A transaction Bundle creating `count` Observations of `patientId`, numbered from `from`. */
export function observationBundle(patientId: string, from: number, count: number): Record<string, unknown> {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: Array.from({ length: count }, (_, k) => ({
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: observation(patientId, from + k),
      request: { method: 'POST', url: 'Observation' },
    })),
  };
}
