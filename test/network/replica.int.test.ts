// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * Issue 14 §1 "Done when", on a real 3-region network (3 nats-server + 3 node processes, `roam
 * network up`), through the `roam` CLI: a patient kept by `eu` names `us` its replica; a
 * practitioner of `ap` with a read grant reads `$everything` and `$summary`; the eu node is
 * killed (SIGKILL) and ap still reads both complete (the same resources), the answer naming the
 * fallback to the replica; a practitioner of us updates one of eu's records while eu is down;
 * eu restarted serves that version itself (nothing lost); an erasure reaches both holders.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Composition } from '@medplum/fhirtypes';
import { roamJson as roamJsonAt } from '../cli/harness.js';
import { heldCopies } from './records-support.js';
import { eventually, startTestNetwork, type TestNetwork } from './support.js';

const REGIONS = ['eu', 'us', 'ap'] as const;
/** Each CLI call's limit: the machine is shared, a sign-in and a commit may take a while. */
const CLI_TIMEOUT_MS = 120_000;

/** `roam … --json` with a generous limit. */
function roamJson<T = Record<string, unknown>>(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<T> {
  return roamJsonAt<T>(args, { timeoutMs: options.timeoutMs ?? CLI_TIMEOUT_MS });
}

interface EverythingOutput {
  readonly count: number;
  readonly records: ReadonlyArray<{ type: string; id: string; version: string }>;
  readonly warnings: readonly string[];
}

describe('the replica custodian on a real 3-region network', { timeout: 900_000 }, () => {
  let net: TestNetwork;
  let dir = '';
  const file = (name: string) => join(dir, name);
  const url: Record<string, string> = {};
  const org: Record<string, string> = {};
  let ANA = '';
  const up = new Set<string>(REGIONS);
  /** Ids of the records eu keeps, by type. */
  const kept: Record<string, string> = {};
  let beforeKill: EverythingOutput;

  const converge = async () => {
    const running = REGIONS.filter((r) => up.has(r));
    const heights = (await Promise.all(running.map((r) => net.status(r)))).map((s) => s.height);
    const target = Math.max(...heights);
    await eventually(
      () => Promise.all(running.map((r) => net.status(r))),
      (all) => all.every((s) => s.height >= target),
    );
  };
  const as = (wallet: string, region: string, args: readonly string[]) => [
    ...args,
    '--wallet',
    file(`${wallet}.wallet.json`),
    ...(wallet === 'ana' ? [] : ['--patient', ANA]),
    '--node',
    url[region]!,
  ];
  const everythingAtAp = () => roamJson<EverythingOutput>(as('dr-ap', 'ap', ['record', 'everything']), { timeoutMs: CLI_TIMEOUT_MS });
  const summaryAtAp = () => roamJson<Bundle>(as('dr-ap', 'ap', ['record', 'summary']), { timeoutMs: CLI_TIMEOUT_MS });
  const ids = (out: EverythingOutput) => out.records.map((r) => `${r.type}/${r.id}`).sort();
  const versionAtAp = (out: EverythingOutput, id: string) => out.records.find((r) => r.id === id)?.version;
  const tokenOf = async (wallet: string, region: string) =>
    (await roamJson<{ access_token: string }>(['token', '--wallet', file(`${wallet}.wallet.json`), '--node', url[region]!])).access_token;
  /** The display texts of the summary's sections' entries (what a clinician reads). */
  const sectionsOf = (bundle: Bundle) => {
    const composition = bundle.entry?.[0]?.resource as Composition;
    return (composition.section ?? []).map((s) => [s.code?.coding?.[0]?.code, (s.entry ?? []).length]);
  };

  before(async () => {
    net = await startTestNetwork(REGIONS);
    dir = net.dir;
    for (const node of net.file.nodes) {
      url[node.region] = node.url;
      org[node.region] = node.orgDid;
    }
    ANA = (await roamJson<{ did: string }>(['wallet', 'create', '--out', file('ana.wallet.json'), '--role', 'patient'])).did;
    await roamJson(['patient', 'register', '--wallet', file('ana.wallet.json'), '--node', url['eu']!]);
    for (const region of REGIONS) {
      await roamJson(['wallet', 'create', '--out', file(`dr-${region}.wallet.json`), '--role', 'practitioner']);
      await roamJson([
        'org',
        'add-practitioner',
        '--wallet',
        join(dir, `${region}/admin.wallet.json`),
        '--practitioner-wallet',
        file(`dr-${region}.wallet.json`),
        '--roles',
        'physician',
        '--node',
        url[region]!,
      ]);
    }
    for (const [region, write] of [['eu', true], ['us', true], ['ap', false]] as const) {
      await roamJson(
        as('ana', 'eu', ['consent', 'grant', '--to', org[region]!, '--scope', 'all', '--classes', 'general', ...(write ? ['--write'] : [])]),
      );
    }
    const named = await roamJson<{ replica: string }>(as('ana', 'eu', ['replica', 'set', '--org', org['us']!]));
    assert.equal(named.replica, org['us']);
    await converge();
    // The eu hospital keeps the record.
    const resources: Record<string, object> = {
      Patient: { resourceType: 'Patient', name: [{ family: 'Traveller', given: ['Ana'] }], birthDate: '1985-02-03' },
      AllergyIntolerance: {
        resourceType: 'AllergyIntolerance',
        clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '91936005', display: 'Allergy to penicillin' }] },
      },
      Condition: {
        resourceType: 'Condition',
        clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006', display: 'Diabetes mellitus type 2' }] },
      },
      Observation: {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
        effectiveDateTime: '2026-01-10',
        valueQuantity: { value: 70, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      },
    };
    for (const [type, resource] of Object.entries(resources)) {
      writeFileSync(file(`${type}.json`), JSON.stringify(resource));
      const added = await roamJson<{ id: string }>(as('dr-eu', 'eu', ['record', 'add', '--file', file(`${type}.json`)]));
      kept[type] = added.id;
    }
    await converge();
    // The replica holds every version eu anchored.
    await eventually(
      () => Promise.resolve(heldCopies(join(dir, 'us'))),
      (rows) => Object.values(kept).every((id) => rows.some((r) => r.record_id === id)),
    );
    beforeKill = await everythingAtAp();
    assert.equal(beforeKill.count, 4, JSON.stringify(beforeKill));
    assert.deepEqual(beforeKill.warnings, []);
  });

  after(async () => {
    await net?.close();
  });

  it('with the eu custodian killed, ap reads $everything complete from the replica, and is told so', async () => {
    const summaryBefore = await summaryAtAp();
    await net.kill('eu');
    up.delete('eu');
    const during = await everythingAtAp();
    assert.deepEqual(ids(during), ids(beforeKill));
    assert.ok(
      during.warnings.some((w) => /did not answer/.test(w) && w.includes(org['us']!) && /replica/.test(w)),
      JSON.stringify(during.warnings),
    );
    const summary = await summaryAtAp();
    assert.deepEqual(sectionsOf(summary), sectionsOf(summaryBefore));
    const text = JSON.stringify(summary);
    assert.match(text, /Allergy to penicillin/);
    assert.match(text, /Diabetes mellitus type 2/);
  });

  it('a practitioner of us updates eu’s Observation while eu is down; ap reads the new version through the replica', async () => {
    const token = await tokenOf('dr-us', 'us');
    const id = kept['Observation']!;
    const response = await fetch(`${url['us']!}/fhir/R4/Observation/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Observation',
        id,
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
        subject: { reference: `Patient/${kept['Patient']!}` },
        effectiveDateTime: '2026-01-10',
        valueQuantity: { value: 88, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      }),
    });
    const body = (await response.json()) as { meta?: { versionId?: string } };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.meta?.versionId, '2');
    await converge();
    // Still down: ap reads the new version, served by the replica in eu's name.
    const during = await eventually(everythingAtAp, (out) => versionAtAp(out, id) === '2', 30_000);
    assert.deepEqual(ids(during), ids(beforeKill));
  });

  it('eu restarted serves the version written at the replica itself: nothing lost', async () => {
    await net.restart('eu');
    up.add('eu');
    await converge();
    const seen = await eventually(
      () => roamJson<{ records: Array<{ id: string; version: string }> }>(as('dr-eu', 'eu', ['record', 'list', '--type', 'Observation'])),
      (out) => out.records.some((r) => r.id === kept['Observation'] && r.version === '2'),
      60_000,
    );
    assert.ok(seen.records.length >= 1);
    const after = await everythingAtAp();
    assert.deepEqual(ids(after), ids(beforeKill));
    assert.deepEqual(after.warnings, []);
    assert.equal(versionAtAp(after, kept['Observation']!), '2');
  });

  it('an erasure by the patient reaches both holders', async () => {
    const id = kept['Condition']!;
    const token = await tokenOf('ana', 'eu');
    const erased = await fetch(`${url['eu']!}/fhir/R4/Condition/${id}/$erase`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.ok(erased.status < 300, `${erased.status} ${await erased.text()}`);
    await converge();
    await eventually(
      () => Promise.resolve(heldCopies(join(dir, 'us'))),
      (rows) => !rows.some((r) => r.record_id === id),
    );
    const after = await everythingAtAp();
    assert.ok(!ids(after).includes(`Condition/${id}`));
  });
});
