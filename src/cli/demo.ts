/**
 * `roam demo` (what `npm start` runs): a one-node network with a practitioner, a practitioner who
 * may break the glass (role `emergency`), and three patients who granted the demo hospital access,
 * each with a real chart (a Synthea patient, src/cli/demo-records.ts), seeded through the node's
 * real API on the first run.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { Command } from 'commander';
import type { ConsentGrantPayload } from '../contracts/index.js';
import { randomBytes, toBase64Url } from '../crypto/index.js';
import { TxType, type GrantAccess, type SensitivityClass } from '../ledger/index.js';
import { DataFiles, initNetwork } from '../node/index.js';
import { loadWallet, PASSPHRASE_ENV_VAR } from '../wallet/index.js';
import { createAndSaveWallet, parsePort, subcommand, walletKdfParams } from './common.js';
import { connect, type NodeApi } from './connect.js';
import { orgEncryptionKey, sealKeys } from './consent.js';
import { seedPatientRecords } from './demo-records.js';
import { enableEmergency } from './emergency-escrow.js';
import { emit, type OutputOptions } from './output.js';
import { definedListen, startNode, stopOnSignals } from './start.js';

const DEMO_ORG = 'Roam Demo Hospital';
const DEMO_REGION = 'eu';
/**
 * What each demo patient grants the hospital: all resource types, for treatment, no expiry. Write
 * access: the hospital keeps the patient's real chart (imported on the first run), and the ledger
 * lets only an organization with a write grant anchor records.
 */
const DEMO_PATIENTS: ReadonlyArray<{ access: GrantAccess; classes: SensitivityClass[] }> = [
  { access: 'write', classes: ['general'] },
  { access: 'write', classes: ['general'] },
  { access: 'write', classes: ['general', 'sensitive'] },
];

/** DIR/demo.json: what the first run seeded, so later runs can print the same welcome. */
interface DemoSeed {
  readonly orgDid: string;
  readonly adminDid: string;
  readonly practitioner: { readonly did: string; readonly wallet: string };
  /** A practitioner with the `emergency` role: the one who may break the glass. */
  readonly emergencyPractitioner?: { readonly did: string; readonly wallet: string };
  readonly patients: ReadonlyArray<{
    readonly did: string;
    readonly wallet: string;
    readonly grantId: string;
    readonly access: string;
    readonly classes: readonly string[];
    /** The Synthea patient whose records were imported (null: testdata/ not shipped). */
    readonly records?: { readonly source: string | null; readonly imported: number };
  }>;
  /**
   * A patient with a real chart kept by the hospital, no grant (revoked after the import) and
   * emergency access enabled (1-of-1: the hospital is the trustee): the break-glass story.
   */
  readonly emergencyPatient?: {
    readonly did: string;
    readonly wallet: string;
    readonly records: { readonly source: string | null; readonly imported: number };
  };
  /** Where the generated passphrase is, when ROAM_PASSPHRASE was not set on the first run. */
  readonly passphraseFile: string | null;
  /** How long the first run's seeding took, in ms. */
  readonly seedMs?: number;
}

interface DemoOptions extends OutputOptions {
  readonly data: string;
  readonly host?: string;
  readonly port?: number;
}

export function registerDemo(program: Command): void {
  subcommand(program, 'demo', 'run a demo node; the first run creates and seeds it (what npm start runs)')
    .option('--data <dir>', 'data folder of the demo node', './data')
    .option('--port <port>', 'port to listen on (default 8080)', parsePort)
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .addHelpText(
      'after',
      '\nWallets use ROAM_PASSPHRASE, or a passphrase generated into <dir>/demo-passphrase.txt.',
    )
    .action(async (options: DemoOptions) => {
      const dir = options.data;
      const firstRun = !existsSync(DataFiles.config(dir));
      const passphrase = firstRun ? demoPassphrase(dir) : undefined;
      if (firstRun && passphrase) {
        const walletKdf = walletKdfParams();
        await initNetwork({
          dataDir: dir,
          orgName: DEMO_ORG,
          region: DEMO_REGION,
          adminPassphrase: passphrase.value,
          // The demo serves plain HTTP, also when listening beyond loopback (--host).
          allowHttpNodeUrls: true,
          ...definedListen(options),
          ...(walletKdf ? { walletKdf } : {}),
        });
      }
      const running = await startNode(dir, definedListen(options));
      stopOnSignals(running, () => {
        if (!options.json) process.stdout.write('roam demo stopped\n');
      });
      const seed = passphrase
        ? await seedDemo(dir, running.url, passphrase.value, passphrase.file)
        : readSeed(dir);
      emit(options, { url: running.url, firstRun, ...seed }, () => welcome(running.url, dir, seed));
    });
}

/** ROAM_PASSPHRASE, or a new random passphrase written to DIR/demo-passphrase.txt (0600). */
function demoPassphrase(dir: string): { value: string; file: string | null } {
  const fromEnv = process.env[PASSPHRASE_ENV_VAR];
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, file: null };
  const file = join(dir, 'demo-passphrase.txt');
  const value = toBase64Url(randomBytes(18));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(file, value + '\n', { mode: 0o600 });
  return { value, file };
}

/** Seeds the demo through the node's API, as any client would, and records it in demo.json. */
async function seedDemo(
  dir: string,
  url: string,
  passphrase: string,
  passphraseFile: string | null,
): Promise<DemoSeed> {
  const started = Date.now();
  const admin = await loadWallet(DataFiles.adminWallet(dir), passphrase);
  // The organization's admin reads the directory (ledger reads need a signed-in party).
  const api = connect(url, admin);
  const walletDir = join(dir, 'wallets');
  mkdirSync(walletDir, { recursive: true, mode: 0o700 });
  const orgDid = (await api.status()).org.did;
  const orgKey = orgEncryptionKey(await api.orgs(), orgDid);

  const practitionerPath = join(walletDir, 'practitioner.wallet.json');
  const { wallet: practitioner } = await createAndSaveWallet(practitionerPath, 'practitioner', passphrase);
  await api.submit(admin, TxType.PractitionerRegister, {
    practitioner: practitioner.did,
    roles: ['physician'],
    encryptionKey: toBase64Url(practitioner.encryption.publicKey),
  });
  const emergencyPath = join(walletDir, 'emergency.wallet.json');
  const { wallet: emergency } = await createAndSaveWallet(emergencyPath, 'practitioner', passphrase);
  await api.submit(admin, TxType.PractitionerRegister, {
    practitioner: emergency.did,
    roles: ['physician', 'emergency'],
    encryptionKey: toBase64Url(emergency.encryption.publicKey),
  });

  const patient = { api, url, orgDid, orgKey, walletDir, passphrase };
  const patients = [];
  for (const [i, { access, classes }] of DEMO_PATIENTS.entries()) {
    const { seeded } = await seedConsentingPatient(patient, {
      name: `patient-${i + 1}`,
      index: i,
      access,
      classes,
    });
    patients.push(seeded);
  }
  const emergencyPatient = await seedEmergencyPatient(patient);

  const seed: DemoSeed = {
    orgDid,
    adminDid: admin.did,
    practitioner: { did: practitioner.did, wallet: practitionerPath },
    emergencyPractitioner: { did: emergency.did, wallet: emergencyPath },
    patients,
    emergencyPatient,
    passphraseFile,
    seedMs: Date.now() - started,
  };
  writeFileSync(join(dir, 'demo.json'), JSON.stringify(seed, null, 2) + '\n');
  return seed;
}

/** What seeding a demo patient needs: the node, the hospital and where wallets go. */
interface PatientSeeding {
  readonly api: NodeApi;
  readonly url: string;
  readonly orgDid: string;
  readonly orgKey: Uint8Array;
  readonly walletDir: string;
  readonly passphrase: string;
}

/**
 * A patient who registers, grants the hospital `access` to `classes` and gets Synthea patient
 * `index`'s records (imported as the patient: the hospital keeps them under the grant).
 */
async function seedConsentingPatient(
  seeding: PatientSeeding,
  patient: { name: string; index: number; access: GrantAccess; classes: SensitivityClass[] },
) {
  const { api, orgDid, orgKey } = seeding;
  const { access, classes } = patient;
  const path = join(seeding.walletDir, `${patient.name}.wallet.json`);
  const { wallet } = await createAndSaveWallet(path, 'patient', seeding.passphrase);
  await api.submit(wallet, TxType.PatientRegister, {
    encryptionKey: toBase64Url(wallet.encryption.publicKey),
  });
  const grant: ConsentGrantPayload = {
    grantId: `demo-${patient.index + 1}-${toBase64Url(randomBytes(6))}`,
    grantee: orgDid,
    scope: { resourceTypes: ['*'], classes },
    purpose: 'treatment',
    access,
    expiresAt: null,
    // A new patient's record keys are at epoch 0, sealed to the hospital like any CLI grant.
    keys: await sealKeys(
      wallet,
      orgDid,
      orgKey,
      classes.map((c) => ({ class: c, epoch: 0 })),
    ),
  };
  await api.submit(wallet, TxType.ConsentGrant, grant);
  const records = await seedPatientRecords(seeding.url, wallet, patient.index);
  return {
    wallet,
    seeded: { did: wallet.did, wallet: path, grantId: grant.grantId, access, classes, records },
  };
}

/**
 * The break-glass patient: its chart is imported under a grant, the grant is revoked (the
 * hospital keeps the ciphertexts but may no longer open them), then emergency access is enabled
 * with the hospital as the only trustee: only a break-glass opens the record now.
 */
async function seedEmergencyPatient(
  seeding: PatientSeeding,
): Promise<NonNullable<DemoSeed['emergencyPatient']>> {
  const { wallet, seeded } = await seedConsentingPatient(seeding, {
    name: 'patient-emergency',
    index: DEMO_PATIENTS.length,
    access: 'write',
    classes: ['general'],
  });
  await seeding.api.submit(wallet, TxType.ConsentRevoke, { grantId: seeded.grantId });
  await enableEmergency(seeding.api, wallet, {});
  return { did: seeded.did, wallet: seeded.wallet, records: seeded.records };
}

function readSeed(dir: string): DemoSeed | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')) as DemoSeed;
  } catch {
    return null;
  }
}

function welcome(url: string, dir: string, seed: DemoSeed | null): string[] {
  const head = [
    `Roam demo node listening on ${url}`,
    `  web app:      ${url}/  (patient portal, provider console, ledger explorer)`,
    `  data folder:  ${dir}`,
  ];
  if (!seed) return [...head, '', 'Press Ctrl-C to stop.'];
  const pass = seed.passphraseFile === null ? '' : ` --passphrase-file ${seed.passphraseFile}`;
  const patient = seed.patients[0]!;
  const roam = cliName();
  return [
    ...head,
    `  hospital:     ${DEMO_ORG} ${seed.orgDid}`,
    `  admin:        ${seed.adminDid} (${DataFiles.adminWallet(dir)})`,
    `  practitioner: ${seed.practitioner.did} (${seed.practitioner.wallet})`,
    ...(seed.emergencyPractitioner === undefined
      ? []
      : [
          `  emergency:    ${seed.emergencyPractitioner.did} (${seed.emergencyPractitioner.wallet}) may break the glass`,
        ]),
    ...seed.patients.map(
      (p, i) =>
        `  patient ${i + 1}:    ${p.did} (${p.wallet}) grants ${p.access} [${p.classes.join(', ')}]` +
        recordsWords(p.records),
    ),
    ...(seed.emergencyPatient === undefined
      ? []
      : [
          `  patient 4:    ${seed.emergencyPatient.did} (${seed.emergencyPatient.wallet}) no grant, emergency access enabled` +
            recordsWords(seed.emergencyPatient.records),
        ]),
    seed.passphraseFile === null
      ? '  wallets are encrypted with ROAM_PASSPHRASE'
      : `  wallet passphrase: in ${seed.passphraseFile} (keep it private)`,
    '',
    `Open ${url}/ in a browser. As a patient, create a wallet there; as the practitioner, import`,
    `  ${seed.practitioner.wallet} in the provider console with the wallet passphrase above.`,
    '',
    'Try, in another terminal:',
    `  ${roam} ledger status --node ${url}`,
    `  ${roam} record summary --wallet ${seed.practitioner.wallet} --patient ${patient.did} --lang de --node ${url}${pass}`,
    `  ${roam} consent list --wallet ${patient.wallet} --node ${url}${pass}`,
    `  ${roam} audit --wallet ${patient.wallet} --node ${url}${pass}`,
    ...emergencyCommands(seed, url, pass, roam),
    `  ${roam} ledger verify --data ${dir}`,
    '',
    'Press Ctrl-C to stop.',
  ];
}

/** ", 75 records (Synthea Chet Hoeger)", or nothing when no records were imported. */
function recordsWords(
  records: { readonly source: string | null; readonly imported: number } | undefined,
): string {
  if (!records?.source) return '';
  return `, ${records.imported} records (Synthea ${records.source.split('_').slice(0, 2).join(' ')})`;
}

/** The break-glass commands, when the demo has its emergency practitioner and patient. */
function emergencyCommands(seed: DemoSeed, url: string, pass: string, roam: string): string[] {
  const emergency = seed.emergencyPractitioner;
  const patient = seed.emergencyPatient;
  if (emergency === undefined || patient === undefined) return [];
  return [
    `  ${roam} emergency show --wallet ${patient.wallet} --node ${url}${pass}`,
    `  ${roam} emergency access --wallet ${emergency.wallet} --patient ${patient.did} --reason ETREAT --duration 1h --node ${url}${pass}`,
    `  ${roam} record summary --wallet ${emergency.wallet} --patient ${patient.did} --node ${url}${pass}`,
    `  ${roam} audit --wallet ${patient.wallet} --node ${url}${pass}`,
  ];
}

/** How the user can call this CLI again: `roam` when installed, else `node <path to main.js>`. */
function cliName(): string {
  const script = process.argv[1];
  if (script === undefined || basename(script) === 'roam') return 'roam';
  return `node ${relative(process.cwd(), script) || script}`;
}
