/**
 * `roam record add | list | everything | summary`: a patient or practitioner writes and reads records through a node's
 * FHIR R4 API, signed in with the wallet (challenge/response, then `Authorization: Bearer`).
 */
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { signIn } from '../client/auth.js';
import {
  describeOutcome,
  DID_IDENTIFIER_SYSTEM,
  FhirApiError,
  FhirClient,
  type Bundle,
  type FhirResource,
} from '../client/fhir.js';
import { SUPPORTED_TYPES } from '../fhir/index.js';
import { languageFromAcceptLanguage } from '../fhir/ips/index.js';
import { ResultCode } from '../ledger/index.js';
import type { Wallet } from '../wallet/index.js';
import { connect } from './connect.js';
import { fetchOwnRecord, ownSummary, readsOwnRecord, type OwnRecord } from './own-record.js';
import { nodeUrlOption, openWallet, parseDid, passphraseFileOption, subcommand, usage } from './common.js';
import { CliError, CliErrorCode, emit, fields, table, type OutputOptions } from './output.js';

export interface FhirSessionOptions extends OutputOptions {
  readonly wallet: string;
  readonly node: string;
  readonly patient?: string;
  readonly passphraseFile?: string;
}

/** A signed-in FHIR client and whose records it is about. */
export interface FhirSession {
  readonly wallet: Wallet;
  readonly fhir: FhirClient;
  /** The patient DID: --patient, or the wallet's own DID for a patient wallet. */
  readonly patientDid: string;
  readonly node: string;
  /** The signed-in principal's organization (null for a patient). */
  readonly org: string | null;
  /** The access token of the sign-in (for the node's routes outside `/fhir`). */
  readonly accessToken: string;
}

/** Opens the wallet, signs in at the node and decides the patient (a practitioner must name one). */
export async function openFhirSession(options: FhirSessionOptions): Promise<FhirSession> {
  const wallet = await openWallet(options.wallet, options);
  const patientDid = options.patient ?? (wallet.role === 'patient' ? wallet.did : undefined);
  if (patientDid === undefined)
    throw usage(`a ${wallet.role} wallet must name the patient with --patient <did>`);
  const { access_token, org } = await signIn({ baseUrl: options.node }, wallet);
  return {
    wallet,
    fhir: new FhirClient(options.node, access_token),
    patientDid,
    node: options.node,
    org,
    accessToken: access_token,
  };
}

/** The id of the Patient resource carrying `did` as identifier, or undefined when there is none. */
export async function findPatientId(fhir: FhirClient, did: string): Promise<string | undefined> {
  const bundle = await fhir.search('Patient', { identifier: `${DID_IDENTIFIER_SYSTEM}|${did}` });
  return bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource?.id;
}

/** The id of the session patient's Patient resource; else why there is none for the caller. */
export async function requirePatientId(session: FhirSession): Promise<string> {
  const did = session.patientDid;
  let id: string | undefined;
  try {
    id = await findPatientId(session.fhir, did);
  } catch (error) {
    // A search naming a patient the organization holds no usable grant of is refused (403, from
    // the grant alone): say which grant is missing, as below.
    if (error instanceof FhirApiError && error.status === 403) await refuseWithoutGrant(session);
    throw error;
  }
  if (id !== undefined) return id;
  await refuseWithoutGrant(session);
  throw new CliError(
    CliErrorCode.NOT_FOUND,
    `no Patient resource for ${did} on this node or its other custodians; create it first with roam record add --file patient.json`,
  );
}

/**
 * A node refuses a practitioner's search naming a patient its organization may not read (or, for
 * a patient it has no record of, answers it empty): when the patient's grants (on the node's ledger) give the organization no active grant,
 * say so with the code the node would give a read (NO_GRANT, GRANT_REVOKED, GRANT_EXPIRED).
 */
async function refuseWithoutGrant(session: FhirSession): Promise<void> {
  const { org, patientDid } = session;
  if (org === null || session.wallet.did === patientDid) return;
  const theirs = (await connect(session.node, session.wallet).consents(patientDid)).grants.filter((g) => g.grantee === org);
  const now = Date.now();
  if (theirs.some((g) => g.status === 'active' && (g.expiresAt === null || g.expiresAt > now))) return;
  const listed = theirs.map((g) => g.id).join(', ');
  if (theirs.length === 0) {
    throw new CliError(
      ResultCode.NO_GRANT,
      `your organization ${org} holds no grant of ${patientDid} (the patient gives one with roam consent grant --to ${org})`,
    );
  }
  if (theirs.some((g) => g.status === 'active')) {
    throw new CliError(
      ResultCode.GRANT_EXPIRED,
      `the grants of ${patientDid} to your organization ${org} expired (${listed})`,
    );
  }
  throw new CliError(
    ResultCode.GRANT_REVOKED,
    `${patientDid} revoked the grants to your organization ${org} (${listed})`,
  );
}

/** Sets the DID identifier (system urn:ietf:rfc:3986) of a Patient resource, replacing any other. */
export function withDidIdentifier(patient: FhirResource, did: string): void {
  const identifiers = Array.isArray(patient['identifier'])
    ? (patient['identifier'] as Array<{ system?: unknown }>)
    : [];
  patient['identifier'] = [
    ...identifiers.filter((i) => i.system !== DID_IDENTIFIER_SYSTEM),
    { system: DID_IDENTIFIER_SYSTEM, value: did },
  ];
}

/** The element of each type that references the patient. */
const PATIENT_ELEMENT: Readonly<Record<string, string>> = {
  AllergyIntolerance: 'patient',
  Immunization: 'patient',
};

function patientElement(type: string): string {
  return PATIENT_ELEMENT[type] ?? 'subject';
}

const TYPES: readonly string[] = SUPPORTED_TYPES;

function parseType(text: string): string {
  if (!TYPES.includes(text))
    throw new InvalidArgumentError(`expected one of the supported types: ${TYPES.join(', ')}`);
  return text;
}

async function readResource(path: string): Promise<FhirResource> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(CliErrorCode.NOT_FOUND, `no file at ${path}`);
    throw usage(`cannot read a FHIR resource from ${path}: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw usage(`${path} does not hold a FHIR resource (a JSON object)`);
  const type = (value as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string') throw usage(`${path}: the resource has no resourceType`);
  if (!TYPES.includes(type)) throw usage(`${path}: ${type} is not a supported type (${TYPES.join(', ')})`);
  return value as FhirResource;
}

/** The clinically relevant date of a record, else its lastUpdated. */
export function recordDate(r: FhirResource): string {
  const period = (name: string) => (r[name] as { start?: string } | undefined)?.start;
  const candidates = [
    r['effectiveDateTime'],
    period('effectivePeriod'),
    r['onsetDateTime'],
    r['recordedDate'],
    r['occurrenceDateTime'],
    r['performedDateTime'],
    period('performedPeriod'),
    r['authoredOn'],
    period('period'),
    r['issued'],
    r['date'],
    r['birthDate'],
    r.meta?.lastUpdated,
  ];
  const found = candidates.find((c): c is string => typeof c === 'string');
  return found === undefined ? '' : found.slice(0, 10);
}

interface CodeableConcept {
  text?: string;
  coding?: Array<{ display?: string; code?: string }>;
}

/** A short display of a record's code (or a Patient's name). */
export function recordDisplay(r: FhirResource, max = 48): string {
  let text: string | undefined;
  if (r.resourceType === 'Patient') {
    const name = (r['name'] as Array<{ text?: string; given?: string[]; family?: string }> | undefined)?.[0];
    text = name?.text ?? [...(name?.given ?? []), name?.family ?? ''].join(' ').trim();
  } else {
    const concept = (r['code'] ?? r['vaccineCode'] ?? r['medicationCodeableConcept'] ?? r['type']) as
      CodeableConcept | CodeableConcept[] | undefined;
    const first = Array.isArray(concept) ? concept[0] : concept;
    text = first?.text ?? first?.coding?.[0]?.display ?? first?.coding?.[0]?.code;
  }
  text ??= '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

interface AddOptions extends FhirSessionOptions {
  readonly file: string;
}

interface ListOptions extends FhirSessionOptions {
  readonly type?: string;
}

export function registerRecord(program: Command): void {
  const record = program.command('record').description("a patient's FHIR records on a node");

  subcommand(record, 'add', 'add a FHIR resource (JSON file) to a patient record')
    .requiredOption('--wallet <file>', 'your wallet (patient, or practitioner of the node’s organization)')
    .option('--patient <did>', 'the patient’s DID (default: your own, for a patient wallet)', parseDid)
    .requiredOption('--file <file>', 'a FHIR R4 resource in JSON, e.g. an Observation')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .addHelpText(
      'after',
      `
A Patient resource gets the patient's DID as identifier (system ${DID_IDENTIFIER_SYSTEM}); add it
first. Any other resource that names no patient gets a reference to the Patient resource carrying
the DID (found with Patient?identifier=${DID_IDENTIFIER_SYSTEM}|<did>). The node encrypts the record
under the patient's keys (from the patient's consent grant to its organization) and anchors the
version on the ledger.`,
    )
    .action(async (options: AddOptions) => {
      const resource = await readResource(options.file);
      const session = await openFhirSession(options);
      const { fhir, patientDid } = session;
      if (resource.resourceType === 'Patient') {
        withDidIdentifier(resource, patientDid);
      } else {
        const element = patientElement(resource.resourceType);
        if (resource[element] === undefined) {
          const patientId = await requirePatientId(session);
          resource[element] = { reference: `Patient/${patientId}` };
        }
      }
      delete resource.id;
      const created = await fhir.create(resource);
      const data = {
        resourceType: created.resource.resourceType,
        id: created.resource.id ?? null,
        version: created.resource.meta?.versionId ?? null,
        patient: patientDid,
        anchor: created.anchor ?? null,
        location: created.location ?? null,
      };
      emit(options, data, () => [
        `Added ${data.resourceType}/${data.id ?? '?'}`,
        ...fields([
          ['version', data.version ?? '?'],
          ['patient', patientDid],
          created.anchor === undefined
            ? ['location', data.location ?? '(none)']
            : ['ledger anchor', created.anchor],
        ]),
      ]);
    });

  subcommand(record, 'list', "list a patient's records (a patient's own: from every custodian, decrypted here)")
    .requiredOption('--wallet <file>', 'your wallet (patient, or practitioner of the node’s organization)')
    .option('--type <type>', `only this resource type (${TYPES.join(', ')})`, parseType)
    .option('--patient <did>', 'the patient’s DID (required for a practitioner; default: your own)', parseDid)
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .addHelpText(
      'after',
      `
A patient wallet reading its own records gets its whole record: the node fetches the ciphertexts
from every custodian with a proof this wallet signs (GET /vault/records), and the wallet decrypts
them here; a custodian not reached is reported as a warning. A practitioner sees, decrypted by the
node, the records an active consent grant to their organization covers (types the grant does not
cover are reported as skipped). Search pages are followed to the end.`,
    )
    .action(async (options: ListOptions) => {
      const session = await openFhirSession(options);
      if (readsOwnRecord(session)) {
        emitOwnRecord(options, session, await fetchOwnRecord(session, options.type));
        return;
      }
      const { fhir, patientDid, wallet } = session;
      const types = options.type === undefined ? TYPES : [options.type];
      const own = wallet.role === 'patient' && patientDid === wallet.did;
      // A patient searching their own records needs no filter; anyone else names the patient.
      const patientId = own ? undefined : await requirePatientId(session);
      const records: FhirResource[] = [];
      const skipped: Array<{ type: string; code: string; message: string }> = [];
      for (const type of types) {
        const params: Record<string, string> =
          patientId === undefined
            ? {}
            : type === 'Patient'
              ? { _id: patientId }
              : { patient: `Patient/${patientId}` };
        try {
          records.push(...(await fhir.searchAll(type, params)));
        } catch (error) {
          // All types: one the grant does not cover is skipped, not fatal.
          if (options.type === undefined && error instanceof FhirApiError && error.status === 403) {
            skipped.push({ type, code: error.code, message: error.message });
            continue;
          }
          throw error;
        }
      }
      const rows = recordRows(records);
      emit(options, { patient: patientDid, count: rows.length, records: rows, skipped }, () => [
        ...recordTable(patientDid, rows),
        ...skipped.map((s) => `skipped ${s.type}: ${s.code}: ${s.message}`),
      ]);
    });

  subcommand(
    record,
    'everything',
    'everything of a patient ($everything), records other custodians keep included',
  )
    .requiredOption('--wallet <file>', 'your wallet (patient, or practitioner of the node’s organization)')
    .option('--patient <did>', 'the patient’s DID (required for a practitioner; default: your own)', parseDid)
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .addHelpText(
      'after',
      `
GET /fhir/R4/Patient/<id>/$everything on the node, every page. The node asks the other custodians
of the patient's records (other organizations' nodes, found on the ledger) for what your
organization's grant covers, checks their answers against the ledger anchors and decrypts them
for you. A custodian that was not reached or refused is reported as a warning; a caller with no
grant at all is refused (403). A patient wallet reading its own records gets them as roam record
list does: from every custodian, decrypted here with the wallet's keys.`,
    )
    .action(async (options: FhirSessionOptions) => {
      const session = await openFhirSession(options);
      if (readsOwnRecord(session)) {
        emitOwnRecord(options, session, await fetchOwnRecord(session));
        return;
      }
      const { fhir, patientDid } = session;
      const patientId = await requirePatientId(session);
      const { resources, outcomes } = await fhir.everything(patientId);
      const rows = recordRows(resources);
      const warnings = outcomes.map((o) => describeOutcome(o).message);
      emit(
        options,
        { patient: patientDid, patientResource: patientId, count: rows.length, records: rows, warnings },
        () => [...recordTable(patientDid, rows), ...warnings.map((w) => `warning: ${w}`)],
      );
    });

  subcommand(record, 'summary', "a patient's International Patient Summary ($summary), records other custodians keep included")
    .requiredOption('--wallet <file>', 'your wallet (patient, or practitioner of the node’s organization)')
    .option('--patient <did>', 'the patient’s DID (required for a practitioner; default: your own)', parseDid)
    .option('--lang <language>', 'language of the section titles and headings (an Accept-Language value: en, de, fr, es)')
    .option('--out <file>', 'write the FHIR document (a Bundle of type document) to this file')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .addHelpText(
      'after',
      `
GET /fhir/R4/Patient/<id>/$summary on the node: an HL7 International Patient Summary built from every
record of the patient you may read, as $everything would give them to you (the same access and
audit). A patient wallet reading its own records builds the summary here instead, from its whole
record (every custodian's, decrypted with the wallet's keys: the node cannot open other custodians'
records), authored by the patient. Without --out it prints the sections and how many entries each
holds (--json: the document).`,
    )
    .action(async (options: FhirSessionOptions & { lang?: string; out?: string }) => {
      const session = await openFhirSession(options);
      const document = readsOwnRecord(session)
        ? ownSummary(await fetchOwnRecord(session), languageFromAcceptLanguage(options.lang), session.patientDid)
        : await session.fhir.summary(
            await requirePatientId(session),
            options.lang === undefined ? {} : { language: options.lang },
          );
      if (options.out !== undefined) writeFileSync(options.out, JSON.stringify(document, null, 2) + '\n');
      const sections = summarySections(document);
      emit(
        options,
        options.out === undefined ? document : { patient: session.patientDid, out: options.out, sections },
        () => [
          ...table(['section', 'entries'], sections.map((s) => [s.title, String(s.entries)])),
          ...(options.out === undefined ? [] : [`written to ${options.out}`]),
        ],
      );
    });
}

/** Title and entry count of each section of an IPS document's Composition (its first entry). */
function summarySections(document: Bundle): Array<{ title: string; entries: number }> {
  const composition = document.entry?.[0]?.resource as { section?: Array<{ title?: string; entry?: unknown[] }> } | undefined;
  return (composition?.section ?? []).map((section) => ({ title: section.title ?? '', entries: section.entry?.length ?? 0 }));
}

/** Prints a patient's whole record as `list` and `everything` do, with the custodians missing as warnings. */
function emitOwnRecord(options: OutputOptions, session: FhirSession, own: OwnRecord): void {
  const rows = recordRows(own.resources);
  const { patientDid } = session;
  emit(options, { patient: patientDid, count: rows.length, records: rows, warnings: own.warnings }, () => [
    ...recordTable(patientDid, rows),
    ...own.warnings.map((w) => `warning: ${w}`),
  ]);
}

interface RecordRow {
  readonly type: string;
  readonly id: string;
  readonly version: string;
  readonly date: string;
  readonly display: string;
}

function recordRows(records: readonly FhirResource[]): RecordRow[] {
  return records.map((r) => ({
    type: r.resourceType,
    id: r.id ?? '',
    version: r.meta?.versionId ?? '',
    date: recordDate(r),
    display: recordDisplay(r),
  }));
}

function recordTable(patientDid: string, rows: readonly RecordRow[]): string[] {
  return rows.length === 0
    ? [`No records for ${patientDid}`]
    : table(
        ['type', 'id', 'version', 'date', 'code'],
        rows.map((r) => [r.type, r.id, r.version, r.date, r.display]),
      );
}
