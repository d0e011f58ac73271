// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * Records through the real CLI and node: `roam record add | list`, `roam import` (a Synthea
 * bundle, in chunks) and `roam audit` (the patient's access trail with checked proofs).
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkIpsDocument } from '../../src/fhir/ips/index.js';
import { jsonFilesIn, SYNTHEA_DIR } from '../support/testdata.js';
import { roam, roamJson, startCli, tempDir, writeGrantArgs, type RunningCli } from './harness.js';

function smallestSynthea(): string {
  const [smallest] = jsonFilesIn(SYNTHEA_DIR).sort((a, b) => statSync(a).size - statSync(b).size);
  assert.ok(smallest !== undefined, `no Synthea bundles in ${SYNTHEA_DIR}`);
  return smallest;
}

interface ListOutput {
  count: number;
  records: Array<{ type: string; id: string; version: string; date: string; display: string }>;
}

interface AuditOutput {
  source: string;
  count: number;
  allProofsValid: boolean;
  entries: Array<{
    id: string;
    action: string;
    resourceType: string | null;
    outcome: string;
    proofValid: boolean;
    actorKind: string | null;
    actorOrgName: string | null;
    grantId: string | null;
  }>;
}

describe('roam record, import and audit', () => {
  const { dir, cleanup } = tempDir();
  const data = join(dir, 'node');
  const wallet = join(dir, 'patient.wallet.json');
  let node: RunningCli | undefined;
  let patientDid = '';
  let observationId = '';
  const withNode = (args: string[]) => [...args, '--wallet', wallet, '--node', node!.url];

  before(async () => {
    const init = await roamJson<{ orgDid: string }>([
      'init',
      '--data',
      data,
      '--org',
      'Records General',
      '--region',
      'eu',
      '--port',
      '0',
    ]);
    node = await startCli(['start', '--data', data, '--port', '0']);
    patientDid = (await roamJson<{ did: string }>(['wallet', 'create', '--out', wallet, '--role', 'patient']))
      .did;
    await roamJson(withNode(['patient', 'register']));
    await roamJson(withNode(writeGrantArgs(init.orgDid)));
  });

  after(async () => {
    await node?.stop('SIGKILL');
    cleanup();
  });

  it('record add: a Patient gets the DID identifier; an Observation is linked to it', async () => {
    const before = await roam(withNode(['record', 'add', '--file', join(dir, 'missing.json')]));
    assert.equal(before.status, 1);
    assert.match(before.stderr, /^roam: NOT_FOUND: no file at /);

    const patientFile = join(dir, 'patient.json');
    writeFileSync(
      patientFile,
      JSON.stringify({
        resourceType: 'Patient',
        name: [{ given: ['Ada'], family: 'Lovelace' }],
        gender: 'female',
      }),
    );
    const patient = await roamJson<{ id: string; version: string; location: string }>(
      withNode(['record', 'add', '--file', patientFile]),
    );
    assert.equal(patient.version, '1');
    assert.equal(patient.location, `${node!.url}/fhir/R4/Patient/${patient.id}/_history/1`);

    const obsFile = join(dir, 'obs.json');
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      effectiveDateTime: '2026-03-01T10:00:00Z',
      valueQuantity: { value: 72, unit: 'beats/minute' },
    };
    writeFileSync(obsFile, JSON.stringify(observation));
    writeFileSync(join(dir, 'obs-ok.json'), JSON.stringify(observation));
    const human = await roam(withNode(['record', 'add', '--file', obsFile]));
    assert.equal(human.status, 0, human.stderr);
    const match = /^Added Observation\/(\S+)\n/.exec(human.stdout);
    assert.ok(match, human.stdout);
    observationId = match[1]!;
    assert.match(human.stdout, /location:\s+http:\/\/\S+\/_history\/1/);

    // An invalid resource: the node's OperationOutcome, naming the element.
    writeFileSync(obsFile, JSON.stringify({ ...observation, status: 42 }));
    const bad = await roam(withNode(['record', 'add', '--file', obsFile]));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^roam: [A-Z_]+: .*status/);
    assert.equal(bad.stderr.split('\n').filter((l) => l !== '').length, 1, bad.stderr);
  });

  it('record list shows the records (table and JSON)', async () => {
    const listed = await roamJson<ListOutput>(withNode(['record', 'list']));
    assert.deepEqual(listed.records.map((r) => r.type).sort(), ['Observation', 'Patient']);
    const obs = listed.records.find((r) => r.type === 'Observation')!;
    assert.deepEqual(obs, {
      type: 'Observation',
      id: observationId,
      version: '1',
      date: '2026-03-01',
      display: 'Heart rate',
    });

    const human = await roam(withNode(['record', 'list', '--type', 'Observation']));
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /^type\s+id\s+version\s+date\s+code\n/);
    assert.match(
      human.stdout,
      new RegExp(`Observation\\s+${observationId}\\s+1\\s+2026-03-01\\s+Heart rate`),
    );

    const usage = await roam(withNode(['record', 'list', '--type', 'Claim']));
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /^roam: USAGE: .*supported types/);
  });

  it('record summary writes the patient\'s IPS document (German titles with --lang de) that the IPS checker accepts', async () => {
    const out = join(dir, 'summary.json');
    const written = await roamJson<{ out: string; sections: Array<{ title: string; entries: number }> }>(
      withNode(['record', 'summary', '--lang', 'de', '--out', out]),
    );
    assert.equal(written.out, out);
    const document = JSON.parse(readFileSync(out, 'utf8')) as Parameters<typeof checkIpsDocument>[0];
    assert.deepEqual(checkIpsDocument(document).issues, []);
    const titles = written.sections.map((section) => section.title);
    // The three required sections, titled in German (no problems recorded: an empty section).
    assert.ok(titles.includes('Problemliste'), titles.join(', '));
    assert.ok(written.sections.length >= 3, titles.join(', '));
    assert.equal(written.sections.find((section) => section.title === 'Problemliste')?.entries, 0);

    const human = await roam(withNode(['record', 'summary']));
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /^section\s+entries\n/);
    assert.match(human.stdout, /Problem List\s+0/);
  });

  it('import: a failed chunk stops the import; the summary says what was imported', async () => {
    const obs = (status: string, n: number) => ({
      fullUrl: `urn:uuid:00000000-0000-4000-8000-00000000000${n}`,
      resource: {
        resourceType: 'Observation',
        status,
        code: { text: `test ${n}` },
        subject: { reference: 'urn:uuid:00000000-0000-4000-8000-000000000000' },
      },
      request: { method: 'POST', url: 'Observation' },
    });
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000000',
          resource: { resourceType: 'Patient', name: [{ family: 'Ignored' }] },
          request: { method: 'POST', url: 'Patient' },
        },
        obs('final', 1),
        { resource: { resourceType: 'Claim', status: 'active' }, request: { method: 'POST', url: 'Claim' } },
        obs('bogus', 2),
        obs('final', 3),
      ],
    };
    const file = join(dir, 'bad-bundle.json');
    writeFileSync(file, JSON.stringify(bundle));
    const result = await roam(withNode(['import', '--bundle', file, '--chunk-size', '1', '--json']));
    assert.equal(result.status, 1, result.stderr);
    const summary = JSON.parse(result.stdout) as { imported: number; skipped: number; failed: number };
    assert.deepEqual([summary.imported, summary.skipped, summary.failed], [1, 1, 2]);
    assert.match(result.stderr, /^roam: CODE_INVALID: chunk 2 failed, 2 entries not imported: .*status/);
    const human = await roam(withNode(['import', '--bundle', file, '--chunk-size', '1']));
    assert.equal(human.status, 1);
    assert.match(human.stdout, /imported 1, skipped 1 unsupported by type \(Claim 1\), failed 2\n/);
  });

  it('import: a Synthea bundle in chunks, cross-chunk references resolved', async () => {
    const file = smallestSynthea();
    const summary = await roamJson<{
      imported: number;
      skipped: number;
      failed: number;
      chunks: number;
      total: number;
      patientResource: string;
    }>(withNode(['import', '--patient', patientDid, '--bundle', file, '--chunk-size', '30']), {
      timeoutMs: 45_000,
    });
    assert.equal(summary.failed, 0);
    assert.ok(summary.chunks >= 2, `chunks: ${summary.chunks}`);
    assert.ok(summary.imported > 0);
    // The node already had the patient's Patient: the bundle's one is not sent.
    assert.equal(summary.imported + summary.skipped + 1, summary.total);

    const conditions = await roamJson<ListOutput>(withNode(['record', 'list', '--type', 'Condition']));
    assert.ok(conditions.count > 0);
    const patients = await roamJson<ListOutput>(withNode(['record', 'list', '--type', 'Patient']));
    assert.equal(patients.count, 1);
  });

  it('a practitioner of the granted organization names the patient to list and add', async () => {
    const practitionerWallet = join(dir, 'practitioner.wallet.json');
    await roamJson(['wallet', 'create', '--out', practitionerWallet, '--role', 'practitioner']);
    await roamJson([
      'org',
      'add-practitioner',
      '--wallet',
      join(data, 'admin.wallet.json'),
      '--practitioner-wallet',
      practitionerWallet,
      '--roles',
      'physician',
      '--node',
      node!.url,
    ]);
    const asPractitioner = (args: string[]) => [...args, '--wallet', practitionerWallet, '--node', node!.url];
    const noPatient = await roam(asPractitioner(['record', 'list']));
    assert.equal(noPatient.status, 2);
    assert.match(
      noPatient.stderr,
      /^roam: USAGE: a practitioner wallet must name the patient with --patient/,
    );

    const listed = await roamJson<ListOutput>(
      asPractitioner(['record', 'list', '--patient', patientDid, '--type', 'Observation']),
    );
    assert.ok(listed.records.some((r) => r.id === observationId));
    const added = await roamJson<{ resourceType: string; version: string }>(
      asPractitioner(['record', 'add', '--patient', patientDid, '--file', join(dir, 'obs-ok.json')]),
    );
    assert.deepEqual([added.resourceType, added.version], ['Observation', '1']);

    // $everything: the same records as the listing of every type, and no warnings on one node.
    const everything = await roamJson<ListOutput & { warnings: string[]; patientResource: string }>(
      asPractitioner(['record', 'everything', '--patient', patientDid]),
    );
    const all = await roamJson<ListOutput>(asPractitioner(['record', 'list', '--patient', patientDid]));
    const ids = (l: ListOutput) => l.records.map((r) => `${r.type}/${r.id}`).sort();
    assert.deepEqual(ids(everything), ids(all));
    assert.ok(everything.records.some((r) => r.id === observationId));
    assert.deepEqual(everything.warnings, []);
    assert.equal(
      `Patient/${everything.patientResource}`,
      ids(everything).find((r) => r.startsWith('Patient/')),
    );
  });

  it('audit lists creates and searches with valid inclusion proofs', async () => {
    // Nodes ship audit entries to the ledger shortly after each access.
    let trail: AuditOutput | undefined;
    for (let attempt = 0; attempt < 20; attempt++) {
      trail = await roamJson<AuditOutput>(withNode(['audit', '--limit', '1000']));
      if (trail.entries.some((e) => e.actorKind === 'practitioner' && e.action === 'create')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(trail);
    assert.equal(trail.allProofsValid, true);
    assert.ok(trail.entries.every((e) => e.proofValid));
    assert.ok(trail.entries.some((e) => e.action === 'create' && e.resourceType === 'Observation'));
    assert.ok(trail.entries.some((e) => e.action === 'search' && e.outcome === 'success'));
    const byPractitioner = trail.entries.find((e) => e.actorKind === 'practitioner' && e.action === 'create');
    assert.ok(byPractitioner, "the practitioner's create is in the trail");
    assert.equal(byPractitioner.actorOrgName, 'Records General');
    assert.match(byPractitioner.grantId ?? '', /^g-/);

    assert.equal(trail.source, 'fhir-view');

    // Found by scanning the blocks (as the signed-in patient: the ledger shows a patient its own
    // transactions only), the same entries (a superset: the view searches above were themselves
    // audited meanwhile).
    const scanned = await roamJson<AuditOutput>(withNode(['audit', '--limit', '1000', '--from-ledger']));
    assert.equal(scanned.source, 'ledger-scan');
    assert.equal(scanned.allProofsValid, true);
    const scannedIds = new Set(scanned.entries.map((e) => e.id));
    assert.ok(trail.entries.every((e) => scannedIds.has(e.id)));

    const human = await roam(withNode(['audit', '--limit', '5']));
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /^proof\s+when\s+node\s+who\s+org\s+action\s+record\s+grant\s+outcome\n/);
    const rows = human.stdout.trimEnd().split('\n').slice(2);
    assert.equal(rows.length, 5);
    assert.ok(rows.every((r) => r.startsWith('✓')));
  });
});
