/**
 * The demo's real records: each demo patient gets one of the smaller Synthea patients shipped in
 * testdata/synthea, imported through the node's FHIR API as the patient (`roam import` does the
 * same), so the provider console, the summary and the portal show a real chart on the first start.
 * The smallest bundles keep the first start fast (about 430 stored resources for four patients).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { signIn } from '../client/auth.js';
import { FhirClient, type Bundle } from '../client/fhir.js';
import type { Wallet } from '../wallet/index.js';
import { importBundle } from './import.js';

/** testdata/synthea of the repository (beside src/ and dist/); absent in an installed package. */
const SYNTHEA_DIR = fileURLToPath(new URL('../../testdata/synthea/', import.meta.url));

/**
 * The smallest of the shipped Synthea patients (92, 133, 145 and 162 entries), one per demo
 * patient: the three who consent, then the break-glass patient.
 */
export const DEMO_SYNTHEA_PATIENTS: readonly string[] = [
  'Chet_Hoeger_5c6db3d0-c0fc-4eb7-8eae-dbc7847be741.json',
  'Errol_Walker_dcaa38fa-6be7-44c8-a301-aa38fc7c6ec0.json',
  'Floyd_Connelly_66843218-a9f9-4f16-8347-bdc2a0d14265.json',
  'Eboni_Brekke_ae30c5e1-23da-4ecd-a320-a2c6047f3a19.json',
];

/** One transaction per patient: each chunk waits for its block, and these bundles are small. */
const DEMO_CHUNK_SIZE = 1000;

export interface SeededRecords {
  /** The Synthea file imported, or null when testdata/ is not there (an installed package). */
  readonly source: string | null;
  readonly imported: number;
}

/**
 * Imports Synthea patient number `index` (of {@link DEMO_SYNTHEA_PATIENTS}) into `patient`'s
 * record at the node `url`, signed in as the patient. Nothing when testdata/ is not shipped.
 */
export async function seedPatientRecords(
  url: string,
  patient: Wallet,
  index: number,
): Promise<SeededRecords> {
  const name = DEMO_SYNTHEA_PATIENTS[index % DEMO_SYNTHEA_PATIENTS.length]!;
  const file = `${SYNTHEA_DIR}${name}`;
  if (!existsSync(file)) return { source: null, imported: 0 };
  const bundle = JSON.parse(await readFile(file, 'utf8')) as Bundle;
  const { access_token } = await signIn({ baseUrl: url }, patient);
  const summary = await importBundle(new FhirClient(url, access_token), patient.did, bundle, DEMO_CHUNK_SIZE);
  if (summary.failed > 0) {
    const first = summary.errors[0];
    throw new Error(
      `demo records of ${name}: ${summary.failed} failed${first ? ` (${first.code}: ${first.message})` : ''}`,
    );
  }
  return { source: name, imported: summary.imported };
}
