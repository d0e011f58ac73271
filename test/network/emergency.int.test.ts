// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * Issue 12 §2 "Done when", on a real 3-region network (3 nats-server + 3 node processes, `roam
 * network up`), driven through the real `roam` CLI: a Synthea patient imported in eu enables
 * emergency access (trustees eu, us, ap; threshold 2); a practitioner of ap with the `emergency`
 * role and no grant is refused, breaks the glass and reads the patient's summary (allergies,
 * medications, problems) through the ap node; the patient's trail read at us shows the
 * break-glass; with the us node stopped a new break-glass still works (2 of 3) and a threshold-3
 * policy fails with EMERGENCY_SHARES_INSUFFICIENT; disabled, `emergency access` is refused
 * (EMERGENCY_DISABLED); after the window the eu custodian refuses again (403). One network for the
 * whole file.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Composition } from '@medplum/fhirtypes';
import { EMERGENCY_RESOURCE_TYPES } from '../../src/contracts/index.js';
import { readNodePassphrase } from '../../src/network/node-passphrase.js';
import { loadNodeConfig, RECORDS_QUERY_PATH, signNodeRequest } from '../../src/node/index.js';
import { roam, roamJson } from '../cli/harness.js';
import { SYNTHEA_DIR } from '../support/testdata.js';
import { eventually, startTestNetwork, type TestNetwork } from './support.js';

const REGIONS = ['eu', 'us', 'ap'] as const;
/** A Synthea patient with an active allergy, active medications and an active problem. */
const SYNTHEA_PATIENT = join(SYNTHEA_DIR, 'Eboni_Brekke_ae30c5e1-23da-4ecd-a320-a2c6047f3a19.json');
/** The window of the first break-glass: long enough for the reads, short enough to see it end. */
const FIRST_WINDOW = '40s';

/** `roam wallet create --out path --role role`; answers the new wallet's DID. */
async function newWallet(path: string, role: 'patient' | 'practitioner'): Promise<string> {
  return (await roamJson<{ did: string }>(['wallet', 'create', '--out', path, '--role', role])).did;
}

interface AccessOutput {
  readonly id: string;
  readonly end: number;
  readonly releases: number;
  readonly threshold: number;
}

interface ShowOutput {
  readonly accesses: Array<{ id: string; active: boolean; releases: Array<{ org: string }> }>;
}

interface AuditOutput {
  readonly allProofsValid: boolean;
  readonly entries: Array<{
    actor: string;
    emergency: string | null;
    purpose: string | null;
    outcome: string;
  }>;
  readonly breakGlass: Array<{ id: string; requester: string; region?: string; reason: string }>;
}

describe(
  'emergency access (break-glass) on a real 3-region network, through the CLI',
  { timeout: 900_000 },
  () => {
    let net: TestNetwork;
    let dir = '';
    const file = (name: string) => join(dir, name);
    const url: Record<string, string> = {};
    const org: Record<string, string> = {};
    let ANA = '';
    let DR_AP = '';
    let first: AccessOutput;
    /** The threshold-3 break-glass that got 2 of 3 releases while the us node was down. */
    let waiting = '';
    const up = new Set<string>(REGIONS);

    /** Every running node has every block any of them had committed when asked. */
    const converge = async () => {
      const running = REGIONS.filter((r) => up.has(r));
      const heights = (await Promise.all(running.map((r) => net.status(r)))).map((s) => s.height);
      const target = Math.max(...heights);
      await eventually(
        () => Promise.all(running.map((r) => net.status(r))),
        (all) => all.every((s) => s.height >= target),
      );
    };
    const asPatient = (args: readonly string[], region = 'eu') => [
      ...args,
      '--wallet',
      file('ana.wallet.json'),
      '--node',
      url[region]!,
    ];
    const breakGlass = (extra: readonly string[] = []) =>
      roam(
        [
          'emergency',
          'access',
          '--wallet',
          file('dr-ap.wallet.json'),
          '--patient',
          ANA,
          '--reason',
          'ETREAT',
          '--node',
          url['ap']!,
          ...extra,
        ],
        { timeoutMs: 90_000 },
      );
    const summaryAtAp = () =>
      roam(
        ['record', 'summary', '--wallet', file('dr-ap.wallet.json'), '--patient', ANA, '--node', url['ap']!],
        {
          timeoutMs: 60_000,
        },
      );

    /** The ap node's signed query to the eu custodian under break-glass `id` (the ap node bypassed). */
    const askEuDirectly = async (id: string) => {
      const ap = await loadNodeConfig(join(dir, 'ap'), { nodePassphrase: readNodePassphrase(dir) });
      const body = JSON.stringify({
        patient: ANA,
        onBehalfOf: DR_AP,
        purpose: 'emergency',
        emergency: id,
        query: { kind: 'everything' },
      });
      const headers = signNodeRequest({
        method: 'POST',
        path: RECORDS_QUERY_PATH,
        body,
        node: ap.keys.nodeDid,
        secretKey: ap.keys.node.secretKey,
        audience: net.file.nodes.find((n) => n.region === 'eu')!.nodeDid,
      });
      const response = await fetch(`${url['eu']!}${RECORDS_QUERY_PATH}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
      });
      return {
        status: response.status,
        body: (await response.json()) as {
          error?: { code: string };
          records?: Array<{ type: string; class: string }>;
        },
      };
    };

    before(async () => {
      net = await startTestNetwork(REGIONS);
      dir = net.dir;
      for (const node of net.file.nodes) {
        url[node.region] = node.url;
        org[node.region] = node.orgDid;
      }
      ANA = await newWallet(file('ana.wallet.json'), 'patient');
      await newWallet(file('dr-eu.wallet.json'), 'practitioner');
      DR_AP = await newWallet(file('dr-ap.wallet.json'), 'practitioner');
      await roamJson(['patient', 'register', '--wallet', file('ana.wallet.json'), '--node', url['eu']!]);
      for (const [region, wallet, roles] of [
        ['eu', 'dr-eu', 'physician'],
        ['ap', 'dr-ap', 'emergency'],
      ] as const) {
        await roamJson([
          'org',
          'add-practitioner',
          '--wallet',
          join(dir, `${region}/admin.wallet.json`),
          '--practitioner-wallet',
          file(`${wallet}.wallet.json`),
          '--roles',
          roles,
          '--node',
          url[region]!,
        ]);
      }
      await roamJson(
        asPatient([
          'consent',
          'grant',
          '--to',
          org['eu']!,
          '--scope',
          'all',
          '--classes',
          'general',
          '--write',
        ]),
      );
      await converge();
      writeFileSync(
        file('patient.json'),
        JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Brekke', given: ['Eboni'] }] }),
      );
      // The eu hospital keeps the record: the Patient, then the Synthea bundle.
      const asDrEu = (args: readonly string[]) => [
        ...args,
        ...['--wallet', file('dr-eu.wallet.json'), '--patient', ANA, '--node', url['eu']!],
      ];
      await roamJson(asDrEu(['record', 'add', '--file', file('patient.json')]));
      const imported = await roamJson<{ imported: number; failed: number }>(
        asDrEu(['import', '--bundle', SYNTHEA_PATIENT]),
        { timeoutMs: 240_000 },
      );
      assert.equal(imported.failed, 0);
      const enabled = await roamJson<{ status: string; threshold: number }>(
        asPatient([
          'emergency',
          'enable',
          '--trustees',
          REGIONS.map((r) => org[r]!).join(','),
          '--threshold',
          '2',
        ]),
      );
      assert.deepEqual([enabled.status, enabled.threshold], ['enabled', 2]);
      await converge();
    });

    after(async () => {
      await net?.close();
    });

    it('a practitioner of ap with the emergency role and no grant gets 403 (NO_GRANT) on $summary', async () => {
      const refused = await summaryAtAp();
      assert.equal(refused.status, 1, refused.stdout);
      assert.match(refused.stderr, /^roam: NO_GRANT: /);
    });

    it('breaks the glass and reads allergies, medications and problems of the patient through the ap node', async () => {
      const started = await breakGlass(['--duration', FIRST_WINDOW, '--json']);
      assert.equal(started.status, 0, started.stderr);
      first = JSON.parse(started.stdout) as AccessOutput;
      assert.ok(first.releases >= first.threshold && first.threshold === 2);
      const summary = await roamJson<Bundle>(
        ['record', 'summary', '--wallet', file('dr-ap.wallet.json'), '--patient', ANA, '--node', url['ap']!],
        { timeoutMs: 60_000 },
      );
      const composition = summary.entry?.[0]?.resource as Composition;
      const section = (loinc: string) =>
        composition.section?.find((s) => s.code?.coding?.[0]?.code === loinc);
      for (const loinc of ['48765-2', '10160-0', '11450-4'])
        assert.ok((section(loinc)?.entry ?? []).length > 0, `section ${loinc} has entries`);
      const text = JSON.stringify(summary);
      assert.match(text, /Dander \(animal\) allergy/);
      assert.match(text, /Miscarriage in first trimester/);
      // The eu custodian serves the access's scope only: summary types of class general.
      const served = await askEuDirectly(first.id);
      assert.equal(served.status, 200, JSON.stringify(served.body));
      assert.ok((served.body.records ?? []).length > 0);
      for (const record of served.body.records ?? []) {
        assert.ok((EMERGENCY_RESOURCE_TYPES as readonly string[]).includes(record.type), record.type);
        assert.equal(record.class, 'general');
      }
    });

    it("the patient's trail, read at us, shows the break-glass (banner and entries)", async () => {
      const trail = await eventually(
        () => roamJson<AuditOutput>(asPatient(['audit', '--limit', '1000'], 'us'), { timeoutMs: 60_000 }),
        (t) =>
          t.entries.some((e) => e.emergency === first.id && e.actor === DR_AP && e.purpose === 'emergency'),
        60_000,
      );
      assert.equal(trail.allProofsValid, true);
      assert.deepEqual(
        trail.breakGlass.map((a) => [a.id, a.requester, a.region, a.reason]),
        [[first.id, DR_AP, 'ap', 'ETREAT']],
      );
      const human = await roam(asPatient(['audit', '--limit', '1000'], 'us'), { timeoutMs: 60_000 });
      assert.equal(human.status, 0, human.stderr);
      assert.match(
        human.stdout,
        new RegExp(`^!! BREAK-GLASS ${first.id}: .* of AP Health \\(region ap\\) .* reason ETREAT`, 'm'),
      );
      assert.match(human.stdout, new RegExp(`break-glass ${first.id}`));
    });

    it('with the us node stopped a new break-glass still works (2 of 3)', async () => {
      await net.kill('us');
      up.delete('us');
      const again = await breakGlass(['--duration', '5m', '--json']);
      assert.equal(again.status, 0, again.stderr);
      const access = JSON.parse(again.stdout) as AccessOutput;
      assert.equal(access.releases, 2);
      const summary = await summaryAtAp();
      assert.equal(summary.status, 0, summary.stderr);
    });

    it('with a threshold-3 policy and us stopped it fails with EMERGENCY_SHARES_INSUFFICIENT', async () => {
      await roamJson(
        asPatient([
          'emergency',
          'enable',
          '--trustees',
          REGIONS.map((r) => org[r]!).join(','),
          '--threshold',
          '3',
        ]),
      );
      await converge();
      const failed = await breakGlass(['--wait', '8s']);
      assert.equal(failed.status, 1, failed.stdout);
      assert.match(failed.stderr, /^roam: EMERGENCY_SHARES_INSUFFICIENT: .* 2 of 3 trustee release\(s\)/);
      waiting = /access (e-[A-Za-z0-9_-]+):/.exec(failed.stderr)?.[1] ?? '';
      assert.notEqual(waiting, '');
    });

    it('with the policy disabled emergency.access is refused (EMERGENCY_DISABLED)', async () => {
      await roamJson(asPatient(['emergency', 'disable']));
      await converge();
      const refused = await breakGlass();
      assert.equal(refused.status, 1, refused.stdout);
      assert.match(refused.stderr, /^roam: EMERGENCY_DISABLED: /);
    });

    it('the us node, restarted, releases its share of the still-active accesses once (restart-safe)', async () => {
      await net.restart('us');
      up.add('us');
      const shown = await eventually(
        () => roamJson<ShowOutput>(asPatient(['emergency', 'show'])),
        (s) => s.accesses.filter((a) => a.active).every((a) => a.releases.some((r) => r.org === org['us'])),
        120_000,
      );
      for (const access of shown.accesses.filter((a) => a.active)) {
        const orgs = access.releases.map((r) => r.org).sort();
        assert.deepEqual(orgs, [...new Set(orgs)], `one release per organization of ${access.id}`);
      }
      // The threshold-3 access that was short of one share opens now.
      const ready = await eventually(
        () =>
          roamJson<AccessOutput & { keys: string }>([
            'emergency',
            'status',
            '--wallet',
            file('dr-ap.wallet.json'),
            '--id',
            waiting,
            '--node',
            url['ap']!,
          ]),
        (status) => status.keys === 'ready',
        60_000,
      );
      assert.equal(ready.releases, 3);
    });

    it('after the window the eu custodian refuses the first break-glass again (403)', async () => {
      await new Promise((r) => setTimeout(r, Math.max(0, first.end - Date.now()) + 1_000));
      const refused = await askEuDirectly(first.id);
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.error?.code, 'EMERGENCY_NOT_ACTIVE');
      assert.equal(refused.body.records, undefined);
    });
  },
);
