/**
 * FHIR records on a test network (see support.ts): a patient who lets a node's organization keep
 * their records, writes in a loop, and a check of a stopped (or running) node's own files — does
 * every anchor of its records name a ciphertext its vault holds?
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { RecordEntry } from '../../src/contracts/index.js';
import { roamJson, writeGrantArgs } from '../cli/harness.js';
import type { TestNetwork } from './support.js';

/** A FHIR answer: status and JSON body. */
export interface FhirAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A write the node answered 201/200: the resource exactly as it answered. */
export interface Acknowledged {
  readonly key: string;
  readonly resource: Record<string, unknown>;
  /** When the answer arrived (ms since the epoch). */
  readonly at: number;
}

/** One FHIR call with a bearer token. */
export async function fhir(url: string, token: string, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<FhirAnswer> {
  const response = await fetch(`${url}/fhir/R4/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export function observation(patientId: string, n: number): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: '2026-06-01T10:00:00Z',
    valueQuantity: { value: n, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

/** A transaction Bundle creating `resources`. */
export function transactionOf(resources: readonly Record<string, unknown>[]): Record<string, unknown> {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({ resource, request: { method: 'POST', url: 'Observation' } })),
  };
}

/**
 * A patient (wallet in `dir`) registered through `url`, who granted `orgDid` write access and has
 * a Patient resource there; returns the wallet file, the Patient id and a fresh token.
 */
export async function patientKeptBy(options: { dir: string; url: string; orgDid: string }): Promise<{ wallet: string; patientId: string; token: string }> {
  const wallet = join(options.dir, `patient-${Date.now()}.wallet.json`);
  await roamJson(['wallet', 'create', '--out', wallet, '--role', 'patient']);
  await roamJson(['patient', 'register', '--wallet', wallet, '--node', options.url]);
  await roamJson([...writeGrantArgs(options.orgDid), '--wallet', wallet, '--node', options.url]);
  const token = await tokenFor(wallet, options.url);
  const patient = await fhir(options.url, token, 'POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Durable', given: ['Dana'] }] });
  if (patient.status !== 201) throw new Error(`Patient not created: ${patient.status} ${JSON.stringify(patient.body)}`);
  return { wallet, patientId: patient.body['id'] as string, token };
}

/** A fresh access token of `wallet` at the node `url`. */
export async function tokenFor(wallet: string, url: string): Promise<string> {
  return (await roamJson<{ access_token: string }>(['token', '--wallet', wallet, '--node', url])).access_token;
}

/**
 * Writes Observations with `clients` concurrent creates and one client of 3-entry transaction
 * Bundles until `stop()`; every acknowledged version is kept by `Type/id/_history/vid`.
 */
export function writeLoop(options: { url: () => string; token: () => string; patientId: string; clients: number }): {
  readonly acknowledged: Map<string, Acknowledged>;
  /** Resolves at the first acknowledged write after it is called. */
  firstAck(): Promise<void>;
  stop(): Promise<void>;
} {
  const acknowledged = new Map<string, Acknowledged>();
  let running = true;
  let counter = 0;
  let onAck: () => void = () => undefined;
  const keep = (resource: Record<string, unknown>) => {
    const meta = resource['meta'] as { versionId: string };
    const key = `${resource['resourceType'] as string}/${resource['id'] as string}/_history/${meta.versionId}`;
    acknowledged.set(key, { key, resource, at: Date.now() });
    onAck();
  };
  const guard = async (work: () => Promise<void>) => {
    while (running) {
      try {
        await work();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100)); // the node is gone or restarting
      }
    }
  };
  const create = async () => {
    const answer = await fhir(options.url(), options.token(), 'POST', 'Observation', observation(options.patientId, counter++));
    if (answer.status === 201) keep(answer.body);
  };
  const bundle = async () => {
    const body = transactionOf([0, 1, 2].map(() => observation(options.patientId, counter++)));
    const answer = await fhir(options.url(), options.token(), 'POST', '', body);
    if (answer.status !== 200) return;
    for (const entry of (answer.body['entry'] as Array<{ resource: Record<string, unknown> }>) ?? []) keep(entry.resource);
  };
  const workers = [...Array.from({ length: options.clients }, () => guard(create)), guard(bundle)];
  return {
    acknowledged,
    firstAck: () => new Promise<void>((resolve) => (onAck = resolve)),
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

/**
 * What is wrong between a node's ledger and vault files (read-only, the node may run): an anchor
 * of this organization's records with fewer vault versions than anchored, or whose latest
 * ciphertext the vault does not hold. Empty when every anchor names a ciphertext the vault keeps.
 */
export function anchorsWithoutCiphertext(dataDir: string, orgDid: string): string[] {
  const ledger = new Database(join(dataDir, 'ledger.sqlite'), { readonly: true, fileMustExist: true });
  const vault = new Database(join(dataDir, 'vault.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const anchors = ledger
      .prepare<[], { value: string }>("SELECT value FROM state WHERE key >= 'record/' AND key < 'record0'")
      .all()
      .map((row) => JSON.parse(row.value) as RecordEntry)
      .filter((r) => r.custodian === orgDid && r.status === 'active');
    const versions = vault.prepare<[string], { n: number }>('SELECT count(*) AS n FROM record_versions WHERE record_id = ?');
    const blob = vault.prepare<[string, string], { one: number }>(
      'SELECT 1 AS one FROM record_versions v JOIN blobs b ON b.hash = v.content_hash WHERE v.record_id = ? AND v.content_hash = ?',
    );
    const problems: string[] = [];
    for (const anchor of anchors) {
      const held = versions.get(anchor.id)!.n;
      if (held < anchor.versions) problems.push(`${anchor.id}: ${anchor.versions} versions anchored, ${held} in the vault`);
      else if (blob.get(anchor.id, anchor.latest.contentHash) === undefined) problems.push(`${anchor.id}: the latest anchor names no ciphertext of the vault`);
    }
    return problems;
  } finally {
    vault.close();
    ledger.close();
  }
}

/** The versions a node holds as a patient's replica (its replica file, opened read-only beside the running node). */
export function heldCopies(dataDir: string): Array<{ record_id: string; version: number }> {
  const db = new Database(join(dataDir, 'replica.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[], { record_id: string; version: number }>('SELECT record_id, version FROM replica_record_versions').all();
  } finally {
    db.close();
  }
}

/**
 * `roam restore` of `backupDir` into an empty folder where the node of `region` kept its data (the
 * old folder kept beside it, `-lost`), then that node started from it; returns the restore's answer.
 */
export async function restoreInPlace(options: {
  readonly net: TestNetwork;
  readonly region: string;
  readonly dataDir: string;
  readonly backupDir: string;
  readonly timeoutMs: number;
}): Promise<{ height: number }> {
  renameSync(options.dataDir, `${options.dataDir}-lost`);
  const restored = await roamJson<{ height: number }>(['restore', '--from', options.backupDir, '--data', options.dataDir], { timeoutMs: options.timeoutMs });
  await options.net.restart(options.region);
  return restored;
}
