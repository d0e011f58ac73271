/**
 * Synthea-shaped records for `npm run bench:scale`: the shipped bundles (testdata/synthea) are
 * templates, and every bench patient is a fresh one (a new wallet, its own Patient resource with
 * its DID as identifier and a numbered name) whose records are cut from one template, in the
 * template's dependency order (the Patient first, each entry after what it references).
 *
 * A patient grows in steps: each step imports the next entries of its template through the real
 * import path (`POST /fhir/R4?_import=true`, with the patient's own token, as `roam import` does),
 * references to entries of earlier steps rewritten to the ids the node answered. When a template
 * runs out the patient starts it again (its Patient excepted) as a new series of encounters, so
 * a patient can hold any number of resources; the node gives every resource a fresh id.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { signIn } from '../../src/client/auth.js';
import { referenceOfLocation } from '../../src/client/fhir.js';
import { withDidIdentifier } from '../../src/cli/record.js';
import { toBase64Url } from '../../src/crypto/index.js';
import { SUPPORTED_TYPES } from '../../src/fhir/index.js';
import type { SignedTx } from '../../src/ledger/index.js';
import { createWallet, type Wallet } from '../../src/wallet/index.js';
import { commit, envelope, fhirCall, grantTx, type FhirEndpoint } from './fhir-setup.js';

const SYNTHEA_DIR = new URL('../../testdata/synthea/', import.meta.url);
const SUPPORTED: ReadonlySet<string> = new Set(SUPPORTED_TYPES);
/** Entries per transaction Bundle, as `roam import` sends them by default. */
const CHUNK_ENTRIES = 100;
/** Transactions per ledger submission while the patients are registered (untimed setup). */
const SETUP_TXS_PER_POST = 250;

/** One shipped bundle: its supported entries in dependency order and the unsupported ones by fullUrl. */
interface Template {
  readonly patientUrl: string;
  /** Supported entries in dependency order, the Patient excepted. */
  readonly items: readonly BundleEntry[];
  readonly patient: BundleEntry;
  /** Entries of types the node does not store, sent along with an entry that references them. */
  readonly companions: ReadonlyMap<string, BundleEntry>;
}

function referencesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) referencesIn(item, out);
  else if (typeof value === 'object' && value !== null)
    for (const [key, member] of Object.entries(value))
      if (key === 'reference' && typeof member === 'string') out.push(member);
      else referencesIn(member, out);
  return out;
}

function rewriteReferences(value: unknown, resolve: (reference: string) => string | undefined): void {
  if (Array.isArray(value)) for (const item of value) rewriteReferences(item, resolve);
  else if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    for (const [key, member] of Object.entries(object))
      if (key === 'reference' && typeof member === 'string') object[key] = resolve(member) ?? member;
      else rewriteReferences(member, resolve);
  }
}

function templateOf(bundle: Bundle): Template {
  const entries = bundle.entry ?? [];
  const byUrl = new Map(entries.map((entry) => [entry.fullUrl ?? '', entry]));
  const patient = entries.find((entry) => entry.resource?.resourceType === 'Patient');
  if (patient?.fullUrl === undefined) throw new Error('a Synthea bundle without a Patient entry');
  const ordered: BundleEntry[] = [];
  const seen = new Set<BundleEntry>([patient]);
  const visit = (entry: BundleEntry) => {
    if (seen.has(entry)) return;
    seen.add(entry);
    for (const ref of referencesIn(entry.resource)) {
      const target = byUrl.get(ref);
      if (target !== undefined && SUPPORTED.has(target.resource?.resourceType ?? '')) visit(target);
    }
    ordered.push(entry);
  };
  for (const entry of entries) if (SUPPORTED.has(entry.resource?.resourceType ?? '')) visit(entry);
  const companions = new Map(
    entries
      .filter((entry) => !SUPPORTED.has(entry.resource?.resourceType ?? '') && entry.fullUrl !== undefined)
      .map((entry) => [entry.fullUrl!, entry]),
  );
  return { patientUrl: patient.fullUrl, items: ordered, patient, companions };
}

/** The shipped Synthea bundles as templates, in file-name order. */
export function loadTemplates(): Template[] {
  return readdirSync(SYNTHEA_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => templateOf(JSON.parse(readFileSync(new URL(file, SYNTHEA_DIR), 'utf8')) as Bundle));
}

/** A bench patient: their wallet, their template and how far into it they are. */
export interface FilledPatient {
  readonly wallet: Wallet;
  readonly template: Template;
  readonly number: number;
  /** `Patient/<id>` once imported. */
  patientRef: string | undefined;
  /** Resources imported so far, the Patient included. */
  resources: number;
  /** Next template item (index into `template.items`) and how many times the template was restarted. */
  cursor: number;
  round: number;
  /** `<round>|<fullUrl>` → `Type/id` the node answered. */
  resolved: Map<string, string>;
}

/**
 * `count` fresh patients registered on the ledger, each granting the node's organization write
 * access (sealed keys), committed in large batches: the setup of a population, not timed.
 */
export async function registerPatients(
  node: FhirEndpoint,
  templates: readonly Template[],
  options: { readonly count: number; readonly firstNumber: number },
): Promise<FilledPatient[]> {
  const patients: FilledPatient[] = Array.from({ length: options.count }, (_, i) => ({
    wallet: createWallet('patient').wallet,
    template: templates[(options.firstNumber + i) % templates.length]!,
    number: options.firstNumber + i,
    patientRef: undefined,
    resources: 0,
    cursor: 0,
    round: 0,
    resolved: new Map(),
  }));
  const grantee = { orgDid: node.orgDid, orgPublicKey: node.orgPublicKey };
  for (let from = 0; from < patients.length; from += SETUP_TXS_PER_POST) {
    const batch = patients.slice(from, from + SETUP_TXS_PER_POST);
    await commit(
      node,
      batch.map((p) =>
        envelope(node.chainId, p.wallet, 'identity.patient.register', {
          encryptionKey: toBase64Url(p.wallet.encryption.publicKey),
        }),
      ),
    );
    const grants: SignedTx[] = [];
    for (const p of batch) grants.push(await grantTx(node, p.wallet, grantee, 'write'));
    await commit(node, grants);
  }
  return patients;
}

/** The Patient resource of a bench patient: the template's, renamed, with the patient's DID. */
function patientEntry(patient: FilledPatient): BundleEntry {
  const entry = structuredClone(patient.template.patient);
  const resource = entry.resource as unknown as Record<string, unknown>;
  resource['identifier'] = [];
  resource['name'] = [{ family: `Scale${patient.number}`, given: ['Bench'] }];
  withDidIdentifier(resource as never, patient.wallet.did);
  return entry;
}

/** A template entry to send, with the round of the template it belongs to. */
interface Pending {
  readonly entry: BundleEntry;
  readonly round: number;
}

/**
 * The next `count` entries of a patient's template, in transaction Bundles of at most
 * CHUNK_ENTRIES that never mix two rounds (their fullUrls are the same).
 */
function nextChunks(patient: FilledPatient, count: number): Pending[][] {
  const chunks: Pending[][] = [];
  let chunk: Pending[] = [];
  const add = (item: Pending) => {
    if (chunk.length === CHUNK_ENTRIES || (chunk.length > 0 && chunk[0]!.round !== item.round)) {
      chunks.push(chunk);
      chunk = [];
    }
    chunk.push(item);
  };
  if (patient.patientRef === undefined) add({ entry: patientEntry(patient), round: patient.round });
  const { items } = patient.template;
  for (let added = chunk.length; added < count; added++) {
    if (patient.cursor >= items.length) {
      patient.cursor = 0;
      patient.round += 1;
    }
    add({ entry: structuredClone(items[patient.cursor]!), round: patient.round });
    patient.cursor += 1;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** One chunk as a transaction Bundle: references to earlier chunks resolved, companions added. */
function chunkBundle(patient: FilledPatient, chunk: readonly Pending[]): Bundle {
  const round = chunk[0]!.round;
  const inChunk = new Set(chunk.map((item) => item.entry.fullUrl));
  const companions = new Map<string, BundleEntry>();
  const resolve = (reference: string): string | undefined => {
    if (reference === patient.template.patientUrl) return patient.patientRef;
    if (inChunk.has(reference)) return undefined;
    const companion = patient.template.companions.get(reference);
    if (companion !== undefined && !companions.has(reference)) companions.set(reference, companion);
    return patient.resolved.get(`${round}|${reference}`);
  };
  for (const { entry } of chunk) rewriteReferences(entry.resource, resolve);
  // Companions reference entries too (a Claim its Encounter): theirs are resolved the same way,
  // which may bring in further companions.
  const done = new Set<string>();
  for (let todo = [...companions.keys()]; todo.length > 0; todo = [...companions.keys()].filter((url) => !done.has(url)))
    for (const url of todo) {
      done.add(url);
      const copy = structuredClone(companions.get(url)!);
      companions.set(url, copy);
      rewriteReferences(copy.resource, resolve);
    }
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [...chunk.map((item) => item.entry), ...companions.values()],
  };
}

/** Imports `count` more resources of `patient` with their own token; returns how many the node created. */
export async function importMore(
  node: FhirEndpoint,
  patient: FilledPatient,
  options: { readonly count: number; readonly onCreated?: (reference: string) => void },
): Promise<number> {
  const token = (await signIn({ baseUrl: node.url }, patient.wallet)).access_token;
  let created = 0;
  for (const chunk of nextChunks(patient, options.count)) {
    const answer = await fhirCall<Bundle>(node, token, 'POST', '?_import=true', chunkBundle(patient, chunk));
    chunk.forEach(({ entry, round }, i) => {
      const response = answer.entry?.[i]?.response;
      const reference = response?.location === undefined ? undefined : referenceOfLocation(response.location);
      if (reference === undefined || response?.status?.startsWith('201') !== true) return;
      created += 1;
      options.onCreated?.(reference);
      if (entry.resource?.resourceType === 'Patient') patient.patientRef = reference;
      else if (entry.fullUrl !== undefined) patient.resolved.set(`${round}|${entry.fullUrl}`, reference);
    });
  }
  patient.resources += created;
  return created;
}
