// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * The roaming story end to end on a real 3-region network (3 nats-server + 3 node processes),
 * driven only through the real `roam` CLI, command for command as the README's "A 3-region
 * network" section tells it: a patient registered and treated in eu (records written by the eu
 * hospital) travels to us; the us clinic gets a grant and reads `$everything` through the us node;
 * it writes an Observation (custodian us); back home the eu hospital sees it; the patient's audit
 * trail lists the accesses from both regions; the patient's portal and CLI at us show the whole
 * record, eu's records included (issue 12 §3); a revocation stops the us clinic at its own node and
 * at the eu custodian (the latter checked with a signed node request straight to eu).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signIn } from '../../src/client/auth.js';
import { RoamClient, fetchMyEncryptedRecords, signPatientProof } from '../../src/client/index.js';
import { checkIpsDocument } from '../../src/fhir/ips/index.js';
import { readNodePassphrase } from '../../src/network/node-passphrase.js';
import { loadNodeConfig, RECORDS_QUERY_PATH, signNodeRequest } from '../../src/node/index.js';
import { openOwnRecordsAsync } from '../../src/vault/index.js';
import { deriveRecordKeySeed, loadWallet } from '../../src/wallet/index.js';
import { PASSPHRASE, roam, roamJson } from '../cli/harness.js';
import { SYNTHEA_SAMPLE } from '../support/testdata.js';
import { eventually, startTestNetwork, type TestNetwork } from './support.js';

const REGIONS = ['eu', 'us', 'ap'] as const;

interface Row {
  readonly type: string;
  readonly id: string;
  readonly version: string;
  readonly date: string;
  readonly display: string;
}

interface Listed {
  readonly count: number;
  readonly records: Row[];
  readonly skipped?: Array<{ type: string; code: string }>;
  readonly warnings?: string[];
}

interface AuditOutput {
  readonly allProofsValid: boolean;
  readonly entries: Array<{
    actor: string;
    actorOrgName: string | null;
    action: string;
    resourceType: string | null;
    recordId: string | null;
    outcome: string;
    region: string | null;
    viaRegion: string | null;
    grantId: string | null;
    proofValid: boolean;
  }>;
}

const ids = (rows: readonly Row[]) => rows.map((r) => `${r.type}/${r.id}`).sort();

/** `roam wallet create --out path`; returns the new wallet's DID. */
async function newWallet(path: string, role: 'patient' | 'practitioner'): Promise<string> {
  return (await roamJson<{ did: string }>(['wallet', 'create', '--out', path, '--role', role])).did;
}

describe('the roaming story on a real 3-region network, through the CLI', { timeout: 600_000 }, () => {
  let net: TestNetwork;
  let EU = '';
  let US = '';
  let EU_ORG = '';
  let US_ORG = '';
  let dir = '';
  const file = (name: string) => join(dir, name);
  let ANA = '';
  let DR_EU = '';
  let DR_US = '';
  let US_GRANT = '';
  let euPatientId = '';
  let euObservation = '';
  let usObservation = '';
  let euRecords: string[] = [];

  /** Every node has every block any node had committed when asked (JetStream delivers to all). */
  const converge = async () => {
    const heights = (await Promise.all(REGIONS.map((r) => net.status(r)))).map((s) => s.height);
    const target = Math.max(...heights);
    await eventually(
      () => Promise.all(REGIONS.map((r) => net.status(r))),
      (all) => all.every((s) => s.height >= target),
    );
  };

  before(async () => {
    net = await startTestNetwork(REGIONS);
    dir = net.dir;
    const node = (region: string) => net.file.nodes.find((n) => n.region === region)!;
    EU = node('eu').url;
    US = node('us').url;
    EU_ORG = node('eu').orgDid;
    US_ORG = node('us').orgDid;
    writeFileSync(
      file('ana-patient.json'),
      JSON.stringify({
        resourceType: 'Patient',
        name: [{ family: 'Traveller', given: ['Ana'] }],
        birthDate: '1985-02-03',
      }),
    );
    // The files of the README.
    const observation = (code: string, display: string, at: string, value: number, unit: string) =>
      JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code, display }] },
        effectiveDateTime: at,
        valueQuantity: { value, unit },
      });
    writeFileSync(
      file('eu-heart-rate.json'),
      observation('8867-4', 'Heart rate', '2026-01-10T09:00:00Z', 72, '/min'),
    );
    writeFileSync(
      file('us-temperature.json'),
      observation('8310-5', 'Body temperature', '2026-03-05T15:30:00Z', 38.2, 'Cel'),
    );
  });

  after(async () => {
    await net?.close();
  });

  it('the network: three regions, one chain, each node of its own organization', async () => {
    const statuses = await Promise.all(
      REGIONS.map((r) =>
        roamJson<{ region: string; org: { did: string; name: string }; chainId: string }>([
          'ledger',
          'status',
          '--node',
          net.url(r),
        ]),
      ),
    );
    assert.deepEqual(
      statuses.map((s) => s.region),
      [...REGIONS],
    );
    assert.deepEqual(
      statuses.map((s) => s.org.name),
      ['EU Health', 'US Health', 'AP Health'],
    );
    assert.ok(statuses.every((s) => s.chainId === net.file.chainId));
    assert.equal(statuses[0]!.org.did, EU_ORG);
  });

  it('in eu: the patient registers, the eu hospital registers its practitioner, gets a write grant and keeps the record', async () => {
    ANA = await newWallet(file('ana.wallet.json'), 'patient');
    DR_EU = await newWallet(file('dr-eu.wallet.json'), 'practitioner');
    DR_US = await newWallet(file('dr-us.wallet.json'), 'practitioner');

    await roamJson(['patient', 'register', '--wallet', file('ana.wallet.json'), '--node', EU]);
    await roamJson([
      'org',
      'add-practitioner',
      '--wallet',
      join(dir, 'eu/admin.wallet.json'),
      '--practitioner-wallet',
      file('dr-eu.wallet.json'),
      '--roles',
      'physician',
      '--node',
      EU,
    ]);
    await roamJson([
      'org',
      'add-practitioner',
      '--wallet',
      join(dir, 'us/admin.wallet.json'),
      '--practitioner-wallet',
      file('dr-us.wallet.json'),
      '--roles',
      'physician',
      '--node',
      US,
    ]);
    await roamJson([
      'consent',
      'grant',
      '--wallet',
      file('ana.wallet.json'),
      '--to',
      EU_ORG,
      '--scope',
      'all',
      '--classes',
      'general',
      '--write',
      '--node',
      EU,
    ]);
    await converge();

    const patient = await roamJson<{ resourceType: string; id: string }>([
      'record',
      'add',
      '--wallet',
      file('dr-eu.wallet.json'),
      '--patient',
      ANA,
      '--file',
      file('ana-patient.json'),
      '--node',
      EU,
    ]);
    assert.equal(patient.resourceType, 'Patient');
    euPatientId = patient.id;
    euObservation = (
      await roamJson<{ id: string }>([
        'record',
        'add',
        '--wallet',
        file('dr-eu.wallet.json'),
        '--patient',
        ANA,
        '--file',
        file('eu-heart-rate.json'),
        '--node',
        EU,
      ])
    ).id;
    const imported = await roamJson<{ imported: number; failed: number }>(
      [
        'import',
        '--wallet',
        file('dr-eu.wallet.json'),
        '--patient',
        ANA,
        '--bundle',
        SYNTHEA_SAMPLE,
        '--node',
        EU,
      ],
      { timeoutMs: 180_000 },
    );
    assert.equal(imported.failed, 0);
    assert.ok(imported.imported > 50, `imported ${imported.imported}`);
    const listed = await roamJson<Listed>([
      'record',
      'list',
      '--wallet',
      file('dr-eu.wallet.json'),
      '--patient',
      ANA,
      '--node',
      EU,
    ]);
    euRecords = ids(listed.records);
    assert.ok(
      euRecords.includes(`Patient/${euPatientId}`) && euRecords.includes(`Observation/${euObservation}`),
    );
    await converge();
  });

  it('in us: without a grant the us clinic gets nothing; granted, it reads $everything through the us node', async () => {
    const refused = await roam([
      'record',
      'everything',
      '--wallet',
      file('dr-us.wallet.json'),
      '--patient',
      ANA,
      '--node',
      US,
    ]);
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(refused.stderr, /^roam: NO_GRANT: your organization .* holds no grant of /);

    US_GRANT = (
      await roamJson<{ grantId: string }>([
        'consent',
        'grant',
        '--wallet',
        file('ana.wallet.json'),
        '--to',
        US_ORG,
        '--scope',
        'all',
        '--classes',
        'general',
        '--write',
        '--node',
        US,
      ])
    ).grantId;
    await converge();

    const everything = await roamJson<Listed>(
      ['record', 'everything', '--wallet', file('dr-us.wallet.json'), '--patient', ANA, '--node', US],
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(
      ids(everything.records),
      euRecords,
      'the us node answers every record the eu hospital keeps',
    );
    assert.deepEqual(everything.warnings, []);
    const human = await roam(
      ['record', 'everything', '--wallet', file('dr-us.wallet.json'), '--patient', ANA, '--node', US],
      { timeoutMs: 60_000 },
    );
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /^type\s+id\s+version\s+date\s+code\n/);
    assert.match(
      human.stdout,
      new RegExp(`Observation\\s+${euObservation}\\s+1\\s+2026-01-10\\s+Heart rate`),
    );

    const observations = await roamJson<Listed>(
      [
        'record',
        'list',
        '--wallet',
        file('dr-us.wallet.json'),
        '--patient',
        ANA,
        '--type',
        'Observation',
        '--node',
        US,
      ],
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(
      ids(observations.records),
      euRecords.filter((r) => r.startsWith('Observation/')),
    );
  });

  it('the us clinic writes an Observation (custodian us); back home the eu hospital sees it through the eu node', async () => {
    const added = await roamJson<{ resourceType: string; id: string }>([
      'record',
      'add',
      '--wallet',
      file('dr-us.wallet.json'),
      '--patient',
      ANA,
      '--file',
      file('us-temperature.json'),
      '--node',
      US,
    ]);
    assert.equal(added.resourceType, 'Observation');
    usObservation = added.id;
    await converge();

    const atHome = await roamJson<Listed>(
      [
        'record',
        'list',
        '--wallet',
        file('dr-eu.wallet.json'),
        '--patient',
        ANA,
        '--type',
        'Observation',
        '--node',
        EU,
      ],
      { timeoutMs: 60_000 },
    );
    const theirs = atHome.records.find((r) => r.id === usObservation);
    assert.deepEqual(theirs, {
      type: 'Observation',
      id: usObservation,
      version: '1',
      date: '2026-03-05',
      display: 'Body temperature',
    });
    const everything = await roamJson<Listed>(
      ['record', 'everything', '--wallet', file('dr-eu.wallet.json'), '--patient', ANA, '--node', EU],
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(ids(everything.records), [...euRecords, `Observation/${usObservation}`].sort());
  });

  it("the patient's portal at us shows the records kept in eu: /vault/records with the patient's proof, the wallet decrypts", async () => {
    // What the web app's My record does, signed in at us: a proof for the us node, the whole
    // record as ciphertexts, opened with the wallet's keys (the us node holds none of eu's).
    const ana = await loadWallet(file('ana.wallet.json'), PASSPHRASE);
    const { access_token } = await signIn({ baseUrl: US }, ana);
    const { nodeDid } = await new RoamClient(US).status();
    const portal = await fetchMyEncryptedRecords(US, access_token, {
      patientProof: signPatientProof(ana, { node: nodeDid }),
    });
    assert.deepEqual(portal.incomplete, []);
    assert.ok(
      portal.records.some((r) => r.custodian === EU_ORG) &&
        portal.records.some((r) => r.custodian === US_ORG),
    );
    const seed = deriveRecordKeySeed(ana);
    const { opened, failed } = await openOwnRecordsAsync({
      recordKeySeed: seed,
      patient: ana.did,
      records: portal.records,
    });
    seed.fill(0);
    assert.equal(failed.length, 0);
    const keys = opened
      .map((o) => `${String(o.resource['resourceType'])}/${String(o.resource['id'])}`)
      .sort();
    assert.deepEqual(keys, [...euRecords, `Observation/${usObservation}`].sort());
    // Without the proof (an old client) the us node answers what it keeps itself.
    const local = await fetchMyEncryptedRecords(US, access_token);
    assert.deepEqual(
      local.records.map((r) => r.recordId),
      [usObservation],
    );

    // The CLI with the patient's wallet: the same whole record, and the summary built from it.
    const everything = await roamJson<Listed>(
      ['record', 'everything', '--wallet', file('ana.wallet.json'), '--node', US],
      {
        timeoutMs: 60_000,
      },
    );
    assert.deepEqual(ids(everything.records), keys);
    assert.deepEqual(everything.warnings, []);
    const out = file('ana-summary.json');
    await roamJson(['record', 'summary', '--wallet', file('ana.wallet.json'), '--node', US, '--out', out], {
      timeoutMs: 60_000,
    });
    const summary = JSON.parse(readFileSync(out, 'utf8')) as Parameters<typeof checkIpsDocument>[0];
    assert.deepEqual(checkIpsDocument(summary).issues, []);
    const types = new Set((summary.entry ?? []).map((e) => e.resource?.resourceType));
    assert.ok(types.has('Condition') || types.has('MedicationRequest'), [...types].join(', '));
  });

  it("the patient's audit trail lists the accesses from both regions, every proof checked", async () => {
    const has = (trail: AuditOutput, who: string, org: string, region: string, viaRegion: string | null) =>
      trail.entries.some(
        (e) =>
          e.actor === who &&
          e.actorOrgName === org &&
          e.region === region &&
          e.viaRegion === viaRegion &&
          e.outcome === 'success',
      );
    const wanted = (trail: AuditOutput) =>
      has(trail, DR_EU, 'EU Health', 'eu', null) && // the eu hospital's writes and reads at home
      has(trail, DR_US, 'US Health', 'us', null) && // the us clinic's reads and write at the us node
      has(trail, DR_US, 'US Health', 'eu', 'us') && // the eu custodian's answers to the us node for it
      has(trail, DR_EU, 'EU Health', 'us', 'eu'); // the us custodian's answer to the eu node
    // Nodes ship audit entries to the ledger a moment after each access.
    const trail = await eventually(
      () =>
        roamJson<AuditOutput>(
          ['audit', '--wallet', file('ana.wallet.json'), '--limit', '1000', '--node', EU],
          { timeoutMs: 60_000 },
        ),
      wanted,
      60_000,
    );
    assert.equal(trail.allProofsValid, true);
    assert.ok(trail.entries.every((e) => e.proofValid));
    assert.ok(
      trail.entries.some(
        (e) =>
          e.actor === DR_US &&
          e.action === 'create' &&
          e.recordId === usObservation &&
          e.grantId === US_GRANT,
      ),
    );

    const human = await roam(
      ['audit', '--wallet', file('ana.wallet.json'), '--limit', '1000', '--node', US],
      { timeoutMs: 60_000 },
    );
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /^proof\s+when\s+node\s+who\s+org\s+action\s+record\s+grant\s+outcome\n/);
    assert.match(human.stdout, /✓ .* eu for us .* US Health/);
  });

  it('a revocation stops the us clinic at its own node and at the eu custodian', async () => {
    const usNode = await loadNodeConfig(join(dir, 'us'), { nodePassphrase: readNodePassphrase(dir) });
    const body = JSON.stringify({
      patient: ANA,
      onBehalfOf: DR_US,
      purpose: 'treatment',
      query: { kind: 'everything' },
    });
    const askEuDirectly = async () => {
      const headers = signNodeRequest({
        method: 'POST',
        path: RECORDS_QUERY_PATH,
        body,
        node: usNode.keys.nodeDid,
        secretKey: usNode.keys.node.secretKey,
        audience: net.file.nodes.find((n) => n.region === 'eu')!.nodeDid,
      });
      const response = await fetch(`${EU}${RECORDS_QUERY_PATH}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
      });
      return {
        status: response.status,
        body: (await response.json()) as { error?: { code: string }; records?: unknown[] },
      };
    };
    // Before: the eu custodian answers the us node's signed request (ciphertexts only).
    const granted = await askEuDirectly();
    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    assert.equal(granted.body.records?.length, euRecords.length);

    const revoked = await roamJson<{ grantId: string; epoch: number }>([
      'consent',
      'revoke',
      '--wallet',
      file('ana.wallet.json'),
      '--grant',
      US_GRANT,
      '--node',
      US,
    ]);
    assert.equal(revoked.grantId, US_GRANT);
    await converge();

    // At its own node: the CLI is refused, and so is a plain FHIR call with its token (403).
    const refused = await roam([
      'record',
      'everything',
      '--wallet',
      file('dr-us.wallet.json'),
      '--patient',
      ANA,
      '--node',
      US,
    ]);
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(refused.stderr, /^roam: (\w+: .*)?GRANT_REVOKED/);
    const token = (await roam(['token', '--wallet', file('dr-us.wallet.json'), '--node', US])).stdout.trim();
    const response = await fetch(`${US}/fhir/R4/Patient/${euPatientId}/$everything`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 403);
    assert.match(JSON.stringify(await response.json()), /GRANT_REVOKED/);

    // The us node bypassed: the eu custodian refuses on its own ledger.
    const direct = await askEuDirectly();
    assert.equal(direct.status, 403, JSON.stringify(direct.body));
    assert.equal(direct.body.error?.code, 'GRANT_REVOKED');
    assert.equal(direct.body.records, undefined);

    // The eu hospital still reads the us clinic's Observation: its own grant stands.
    const atHome = await roamJson<Listed>(
      [
        'record',
        'list',
        '--wallet',
        file('dr-eu.wallet.json'),
        '--patient',
        ANA,
        '--type',
        'Observation',
        '--node',
        EU,
      ],
      { timeoutMs: 60_000 },
    );
    assert.ok(atHome.records.some((r) => r.id === usObservation));

    // Both refusals are on the patient's trail.
    await eventually(
      () =>
        roamJson<AuditOutput>(
          ['audit', '--wallet', file('ana.wallet.json'), '--limit', '1000', '--node', EU],
          { timeoutMs: 60_000 },
        ),
      (trail) =>
        trail.allProofsValid &&
        trail.entries
          .filter((e) => e.actor === DR_US && e.outcome === 'denied')
          .some((e) => e.region === 'eu' && e.viaRegion === 'us') &&
        trail.entries.some(
          (e) => e.actor === DR_US && e.outcome === 'denied' && e.region === 'us' && e.viaRegion === null,
        ),
      60_000,
    );
  });
});
