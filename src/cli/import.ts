/**
 * `roam import`: posts a FHIR transaction Bundle (e.g. a Synthea patient) to a node's
 * `POST /fhir/R4?_import=true`, in chunks, for one patient DID.
 *
 * The bundle's Patient gets the patient's DID as identifier; when the node already has the
 * patient's Patient resource, the bundle's one is not sent and references to it point to the
 * existing one. Entries are sent in chunks of about --chunk-size, each a transaction: the Patient
 * first, every entry after the entries it references (urn:uuid), and references to entries of
 * earlier chunks rewritten to the `Type/id` the node answered in `response.location`. Entries of
 * types the node does not store are skipped by the node; one referenced by a chunk's entries is
 * sent along with it so that its reference stays as it would in one transaction.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  FhirApiError,
  referenceOfLocation,
  type Bundle,
  type BundleEntry,
  type FhirClient,
} from '../client/fhir.js';
import { SUPPORTED_TYPES } from '../fhir/index.js';
import { nodeUrlOption, parseDid, passphraseFileOption, subcommand, usage } from './common.js';
import { CliError, CliErrorCode, EXIT_FAILURE, describeError, emit, fields } from './output.js';
import { findPatientId, openFhirSession, withDidIdentifier, type FhirSessionOptions } from './record.js';

export const DEFAULT_CHUNK_SIZE = 100;
const TYPES: ReadonlySet<string> = new Set(SUPPORTED_TYPES);

interface ImportOptions extends FhirSessionOptions {
  readonly bundle: string;
  readonly chunkSize: number;
}

interface Item {
  /** Index in the input bundle. */
  readonly index: number;
  readonly entry: BundleEntry;
  readonly type: string;
  readonly supported: boolean;
  /** fullUrls of other entries this one references. */
  readonly refs: readonly string[];
}

export interface ImportSummary {
  readonly patient: string;
  readonly patientResource: string | null;
  readonly total: number;
  readonly imported: number;
  readonly skipped: number;
  readonly skippedByType: Record<string, number>;
  readonly failed: number;
  readonly chunks: number;
  readonly errors: Array<{ chunk: number; code: string; message: string }>;
}

function parseChunkSize(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 1000) throw usage('--chunk-size expects an integer from 1 to 1000');
  return n;
}

function collectRefs(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collectRefs(item, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, member] of Object.entries(value)) {
      if (key === 'reference' && typeof member === 'string') out.push(member);
      else collectRefs(member, out);
    }
  }
}

function rewriteRefs(value: unknown, map: ReadonlyMap<string, string>): void {
  if (Array.isArray(value)) {
    for (const item of value) rewriteRefs(item, map);
  } else if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    for (const [key, member] of Object.entries(object)) {
      if (key === 'reference' && typeof member === 'string') object[key] = map.get(member) ?? member;
      else rewriteRefs(member, map);
    }
  }
}

async function readBundle(path: string): Promise<Bundle> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CliError(CliErrorCode.NOT_FOUND, `no file at ${path}`);
    throw usage(`cannot read a FHIR Bundle from ${path}: ${(error as Error).message}`);
  }
  const bundle = value as Partial<Bundle> | null;
  if (typeof bundle !== 'object' || bundle === null || bundle.resourceType !== 'Bundle')
    throw usage(`${path} does not hold a FHIR Bundle`);
  if (bundle.type !== 'transaction')
    throw usage(`${path} is a ${String(bundle.type)} Bundle; roam import takes a transaction Bundle`);
  if (!Array.isArray(bundle.entry)) throw usage(`${path}: the Bundle has no entries`);
  return bundle as Bundle;
}

/** Supported items in dependency order: the Patient first, each item after those it references. */
function dependencyOrder(items: readonly Item[], byUrl: ReadonlyMap<string, Item>): Item[] {
  const out: Item[] = [];
  const state = new Map<number, 'visiting' | 'done'>();
  const visit = (item: Item) => {
    if (state.has(item.index)) return; // done, or a cycle: left to the node to refuse
    state.set(item.index, 'visiting');
    for (const ref of item.refs) {
      const target = byUrl.get(ref);
      if (target?.supported) visit(target);
    }
    state.set(item.index, 'done');
    out.push(item);
  };
  const supported = items.filter((i) => i.supported);
  for (const item of supported.filter((i) => i.type === 'Patient')) visit(item);
  for (const item of supported) visit(item);
  return out;
}

class Progress {
  private readonly enabled = process.stderr.isTTY === true;
  constructor(private readonly total: number) {}
  update(done: number, failed: number): void {
    if (!this.enabled || this.total === 0) return;
    const width = 30;
    const filled = Math.round((done / this.total) * width);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${this.total} entries${failed > 0 ? `, ${failed} failed` : ''}`,
    );
  }
  end(): void {
    if (this.enabled && this.total > 0) process.stderr.write('\n');
  }
}

/** Imports `bundle` for `patientDid` through `fhir` (see the module comment). */
export async function importBundle(
  fhir: FhirClient,
  patientDid: string,
  bundle: Bundle,
  chunkSize: number,
): Promise<ImportSummary> {
  const entries = bundle.entry ?? [];
  const items: Item[] = entries.map((entry, index) => {
    const type = entry.resource?.resourceType ?? '';
    const refs: string[] = [];
    collectRefs(entry.resource, refs);
    return { index, entry, type, supported: TYPES.has(type), refs };
  });
  const byUrl = new Map<string, Item>();
  for (const item of items) if (item.entry.fullUrl !== undefined) byUrl.set(item.entry.fullUrl, item);

  const skippedByType: Record<string, number> = {};
  for (const item of items.filter((i) => !i.supported))
    skippedByType[item.type || '(none)'] = (skippedByType[item.type || '(none)'] ?? 0) + 1;

  const patients = items.filter((i) => i.type === 'Patient');
  if (patients.length > 1)
    throw usage(`the Bundle has ${patients.length} Patient entries; import one patient at a time`);
  const resolved = new Map<string, string>();
  const existing = await findPatientId(fhir, patientDid);
  let patientResource: string | null = existing === undefined ? null : `Patient/${existing}`;
  const bundlePatient = patients[0];
  let order = dependencyOrder(items, byUrl);
  if (bundlePatient !== undefined) {
    if (existing !== undefined) {
      // The node has the patient already: their records join it.
      order = order.filter((i) => i !== bundlePatient);
      if (bundlePatient.entry.fullUrl !== undefined)
        resolved.set(bundlePatient.entry.fullUrl, `Patient/${existing}`);
    } else {
      withDidIdentifier(bundlePatient.entry.resource!, patientDid);
    }
  } else if (existing === undefined) {
    throw new CliError(
      CliErrorCode.NOT_FOUND,
      `the Bundle has no Patient and the node has none for ${patientDid}; add one with roam record add`,
    );
  }

  const progress = new Progress(order.length);
  const errors: ImportSummary['errors'] = [];
  let imported = 0;
  let failed = 0;
  let chunks = 0;
  for (let start = 0; start < order.length; start += chunkSize) {
    const chunk = order.slice(start, start + chunkSize);
    chunks++;
    if (errors.length > 0) {
      // Later chunks reference earlier ones: after a failure, nothing more is sent.
      failed += chunk.length;
      continue;
    }
    const inChunk = new Set(chunk.map((i) => i.index));
    const companions = new Map<number, Item>();
    for (const item of chunk) {
      for (const ref of item.refs) {
        const target = byUrl.get(ref);
        if (target !== undefined && !target.supported && !inChunk.has(target.index))
          companions.set(target.index, target);
      }
    }
    const sent = [...chunk, ...companions.values()];
    const request: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: sent.map((item) => {
        const entry = structuredClone(item.entry);
        rewriteRefs(entry.resource, resolved);
        return entry;
      }),
    };
    try {
      const response = await fhir.transaction(request, { import: true });
      const answers = response.entry ?? [];
      chunk.forEach((item, i) => {
        const answer = answers[i]?.response;
        const ok = answer?.status?.startsWith('2') === true;
        const reference = answer?.location === undefined ? undefined : referenceOfLocation(answer.location);
        if (ok && reference !== undefined) {
          imported++;
          if (item.entry.fullUrl !== undefined) resolved.set(item.entry.fullUrl, reference);
          if (item === bundlePatient) patientResource = reference;
        } else {
          failed++;
        }
      });
    } catch (error) {
      const { code, message } = describeError(error);
      errors.push({ chunk: chunks, code, message });
      failed += chunk.length;
      if (!(error instanceof FhirApiError)) {
        // The node could not be reached or answered nonsense: not worth the other chunks.
        for (let rest = start + chunkSize; rest < order.length; rest += chunkSize)
          failed += order.slice(rest, rest + chunkSize).length;
        break;
      }
    }
    progress.update(imported + failed, failed);
  }
  progress.end();
  const skipped =
    items.length - order.length - (bundlePatient !== undefined && existing !== undefined ? 1 : 0);
  return {
    patient: patientDid,
    patientResource,
    total: items.length,
    imported,
    skipped,
    skippedByType,
    failed,
    chunks,
    errors,
  };
}

export function registerImport(program: Command): void {
  subcommand(program, 'import', "import a FHIR transaction Bundle (e.g. Synthea) into a patient's record")
    .requiredOption('--wallet <file>', 'your wallet (patient, or practitioner with a write grant)')
    .option('--patient <did>', 'the patient’s DID (required for a practitioner; default: your own)', parseDid)
    .requiredOption('--bundle <file>', 'a FHIR R4 transaction Bundle in JSON')
    .option(
      '--chunk-size <n>',
      'entries per transaction sent to the node',
      parseChunkSize,
      DEFAULT_CHUNK_SIZE,
    )
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .addHelpText(
      'after',
      `
The bundle's Patient gets the patient's DID as identifier (urn:ietf:rfc:3986); if the node already
has a Patient for the DID, that one is kept and the bundle's references point to it. Entries are
sent to POST /fhir/R4?_import=true in transactions of --chunk-size entries, the Patient first,
references to earlier chunks rewritten to the ids the node answered. Types the node does not
store (Claim, Organization, …) are skipped. A progress bar shows on stderr when it is a terminal.
Exits 1 if any entry failed (a failed chunk stops the import: later chunks reference it).`,
    )
    .action(async (options: ImportOptions) => {
      const bundle = await readBundle(options.bundle);
      const { fhir, patientDid } = await openFhirSession(options);
      const summary = await importBundle(fhir, patientDid, bundle, options.chunkSize);
      const byType = Object.entries(summary.skippedByType)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ');
      emit(options, summary, () => [
        ...fields([
          [
            'patient',
            `${patientDid}${summary.patientResource === null ? '' : ` (${summary.patientResource})`}`,
          ],
          ['chunks', String(summary.chunks)],
        ]),
        `imported ${summary.imported}, skipped ${summary.skipped} unsupported${byType === '' ? '' : ` by type (${byType})`}, failed ${summary.failed}`,
      ]);
      const first = summary.errors[0];
      if (summary.failed > 0) {
        // The summary is the output (one JSON object with --json); the failure is reported after it.
        const code = first?.code ?? CliErrorCode.INTERNAL;
        const message =
          first === undefined
            ? `${summary.failed} entries failed`
            : `chunk ${first.chunk} failed, ${summary.failed} entries not imported: ${first.message}`;
        process.stderr.write(`roam: ${code}: ${message}\n`);
        process.exitCode = EXIT_FAILURE;
      }
    });
}
