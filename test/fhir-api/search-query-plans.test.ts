/**
 * A patient search and `$everything` must not cost more as the node grows (issue 14 §4): every
 * SQLite statement they run on the index and vault reaches its rows through the patient, the
 * record or the blob hash — never by walking a table that holds every patient's rows. The plans
 * are SQLite's own (`EXPLAIN QUERY PLAN` on the node's real `vault.sqlite`, no statistics, as a
 * node runs), for the very statements the requests ran.
 *
 * What it caught: the date rows of a page's candidates were read with `param IN (…) AND record_id
 * IN (…)`, which SQLite answered through `fhir_dates_by_param` — every `_lastUpdated` row of the
 * node, for each search and `$everything` (bench:scale: search p50 ×2.4 and `$everything` p50
 * ×1.5 from a 20k- to a 100k-resource node, same patient).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import { queryPlan, StatementRecorder, type StatementRun } from '../support/sqlite-statements.js';
import {
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  observation,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  type FhirTestNode,
} from './fixture.js';

/** The tables that hold a row (or more) per resource of every patient of the node. */
const GROWING_TABLES = 'fhir_resources|fhir_tokens|fhir_dates|record_versions|blobs';
/** A plan line that walks one of them whole. */
const FULL_SCAN = new RegExp(`^SCAN (${GROWING_TABLES})\\b`);
/** A plan line that reaches rows by search parameter alone: all records' rows of that parameter. */
const BY_PARAMETER_ONLY = new RegExp(
  `^SEARCH (${GROWING_TABLES}) USING (COVERING )?INDEX \\S+ \\(param=\\?\\)$`,
);

const OBSERVATIONS = 12;
/**
 * Statements one page may run on the per-resource tables: the Patient the reference names, the
 * patient's rows, their date rows, the page's ciphertexts — a handful, where reading entry by
 * entry took two more for each entry.
 */
const STATEMENTS_PER_PAGE = 6;

describe('FHIR API: search and $everything reach rows through the patient, never the whole store', () => {
  let t: FhirTestNode;
  let doctorToken: string;
  let patientId: string;
  let recorder: StatementRecorder;

  /** A new patient's Patient id, with OBSERVATIONS Observations, granted to the node's organization. */
  async function patientWithObservations(): Promise<string> {
    const patient = await registeredPatient(t.node);
    await grantOrg(t, patient, { classes: ['general', 'sensitive'] });
    const id = await createPatient(t, await tokenOf(t, patient));
    const res = await fhir<Bundle>(t, doctorToken, 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: Array.from({ length: OBSERVATIONS }, (_, k) => ({
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: observation(id, '8867-4', `2021-01-${String(k + 1).padStart(2, '0')}`, 60 + k),
        request: { method: 'POST', url: 'Observation' },
      })),
    });
    expectStatus(res, 200);
    return id;
  }

  /** The statements `url` ran on the node's vault.sqlite, and its answer's entries. */
  async function vaultStatementsOf(url: string): Promise<StatementRun[]> {
    let entries = -1;
    const runs = await recorder.during(async () => {
      const res = await fhir<Bundle>(t, doctorToken, 'GET', url);
      expectStatus(res, 200);
      entries = res.body.entry?.length ?? 0;
    });
    assert.ok(entries > 0, `${url} found nothing: the plans it ran say nothing`);
    return runs.filter((r) => r.file === join(t.dataDir, 'vault.sqlite'));
  }

  function assertIndexedPlans(runs: readonly StatementRun[]): void {
    for (const sql of new Set(runs.map((r) => r.sql))) {
      const plan = queryPlan(join(t.dataDir, 'vault.sqlite'), sql);
      const bad = plan.filter((line) => FULL_SCAN.test(line) || BY_PARAMETER_ONLY.test(line));
      assert.deepEqual(
        bad,
        [],
        `${sql.replace(/\s+/g, ' ')}\n  walks a table of every patient: ${plan.join(' | ')}`,
      );
    }
  }

  before(async () => {
    recorder = StatementRecorder.install();
    t = await openFhirNode();
    doctorToken = await tokenOf(t, await registeredPractitioner(t));
    patientId = await patientWithObservations();
    await patientWithObservations(); // another patient's rows in the same tables
  });
  after(async () => {
    recorder.uninstall();
    await t.close();
  });

  for (const query of [
    'patient=PATIENT&_count=5',
    'patient=PATIENT&_count=5&_sort=-date',
    'patient=PATIENT&date=ge2021-01-03&_count=5',
    'patient=PATIENT&code=http://loinc.org|8867-4&_count=5',
  ]) {
    it(`Observation?${query}: every plan is keyed by patient, record or hash`, async () => {
      const runs = await vaultStatementsOf(`Observation?${query.replace('PATIENT', patientId)}`);
      assert.ok(
        runs.some((r) => /\bFROM fhir_dates\b/.test(r.sql)),
        'the search read no date rows: the sort key is read elsewhere, and this test must follow it',
      );
      assertIndexedPlans(runs);
    });
  }

  // A page's entries are read together (one statement per page, not two per entry): what a page
  // costs in statements is bounded by a constant, not by the page or the patient's size.
  for (const url of ['Observation?patient=PATIENT&_count=10', 'Patient/PATIENT/$everything?_count=10']) {
    it(`${url}: a bounded number of statements for a page of 10`, async () => {
      const growing = new RegExp(`\\b(${GROWING_TABLES})\\b`);
      // Only the request's reads: the audit shipper runs meanwhile, on tables of its own.
      const runs = (await vaultStatementsOf(url.replace('PATIENT', patientId))).filter((r) =>
        growing.test(r.sql),
      );
      assert.ok(
        runs.length <= STATEMENTS_PER_PAGE,
        `${runs.length} statements:\n${runs.map((r) => r.sql.replace(/\s+/g, ' ').slice(0, 90)).join('\n')}`,
      );
    });
  }

  it('Patient/<id>/$everything: every plan is keyed by patient, record or hash', async () => {
    const runs = await vaultStatementsOf(`Patient/${patientId}/$everything?_count=5`);
    assert.ok(runs.some((r) => /\bFROM fhir_dates\b/.test(r.sql)));
    assertIndexedPlans(runs);
  });
});
