// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test", "before", "after"], "package": "node:test" }] }] */
/**
 * Roaming reads across regions, end to end through the FHIR API with real tokens: three founder
 * organizations (eu, us, ap) with one node each, their HTTP servers on 127.0.0.1, one chain.
 *
 * The story: a patient registered and treated in `eu` travels to `us`; the us clinic gets a grant
 * and reads `$everything` through the us node; it writes an Observation (custodian us); back home
 * the eu hospital sees it through the eu node; the patient's audit trail lists every access from
 * both regions; a revocation stops the us clinic at its own node and at the eu custodian.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import type { AuditRecord } from '../../src/contracts/index.js';
import { generateSigningKeyPair, didFromSigningKey } from '../../src/crypto/index.js';
import { checkIpsDocument } from '../../src/fhir/ips/index.js';
import { DID_IDENTIFIER_SYSTEM } from '../../src/node/fhir/index.js';
import {
  NODE_HEADERS,
  RemoteRecords,
  RoamingClient,
  RECORDS_QUERY_PATH,
  signNodeRequest,
  type RecordQueryAnswer,
  type RoamingClientOptions,
} from '../../src/node/roaming/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import {
  assertOutcome,
  expectStatus,
  fhir,
  type FhirAnswer,
  grantOrg,
  observation,
  registeredPatient,
  registeredPractitioner,
  revoke,
  tokenOf,
  waitForAudit,
} from '../fhir-api/fixture.js';
import { createTravellerPatient, openNetwork, type RegionNode, type TestNetwork } from './fixture.js';

const HEART_RATE = '8867-4';
const BODY_WEIGHT = '29463-7';

interface Entry {
  readonly resource: { resourceType: string; id?: string } & Record<string, unknown>;
  readonly search?: { mode?: string };
}

function entriesOf(bundle: Bundle): Entry[] {
  return (bundle.entry ?? []) as Entry[];
}

function matchIds(bundle: Bundle): string[] {
  return entriesOf(bundle)
    .filter((e) => e.search?.mode === 'match')
    .map((e) => `${e.resource.resourceType}/${e.resource.id ?? ''}`)
    .sort();
}

function outcomesOf(bundle: Bundle): OperationOutcome[] {
  return entriesOf(bundle)
    .filter((e) => e.search?.mode === 'outcome')
    .map((e) => e.resource as unknown as OperationOutcome);
}

/** A signed node request straight to a custodian's endpoint (bypassing the requester's checks). */
async function nodeQuery(
  custodian: RegionNode,
  body: unknown,
  options: {
    from?: RegionNode;
    secretKey?: Uint8Array;
    node?: string;
    time?: number;
    headers?: Record<string, string>;
  } = {},
): Promise<{
  status: number;
  body: { error?: { code: string; message: string } } & Partial<RecordQueryAnswer>;
  headers: Record<string, unknown>;
}> {
  const payload = JSON.stringify(body);
  const headers =
    options.headers ??
    signNodeRequest({
      method: 'POST',
      path: RECORDS_QUERY_PATH,
      body: payload,
      node: options.node ?? options.from!.node.did,
      secretKey: options.secretKey ?? options.from!.node.config.keys.node.secretKey,
      audience: custodian.node.did,
      ...(options.time === undefined ? {} : { time: options.time }),
    });
  const res = await custodian.app.inject({
    method: 'POST',
    url: RECORDS_QUERY_PATH,
    headers: { ...headers, 'content-type': 'application/json' },
    payload,
  });
  return { status: res.statusCode, body: res.json(), headers: res.headers };
}

/** A node request's error answer: status and stable code (401s carry the RoamNode challenge). */
function assertNodeError(res: Awaited<ReturnType<typeof nodeQuery>>, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error?.code, code);
  assert.equal(res.body.records, undefined);
  if (status === 401) assert.match(String(res.headers['www-authenticate']), /^RoamNode realm="roam"/);
}

describe('roaming reads across regions', () => {
  let net: TestNetwork;
  let eu: RegionNode;
  let us: RegionNode;
  let ap: RegionNode;
  let patient: Wallet;
  let drEu: Wallet;
  let drUs: Wallet;
  let drAp: Wallet;
  let tokEu: string;
  let tokUs: string;
  let usGrant: string;
  let euPatientId: string;
  const euObs: string[] = [];
  let usPatientId: string;
  let usObs: string;

  before(async () => {
    net = await openNetwork([
      { name: 'EU Hospital', region: 'eu' },
      { name: 'US Clinic', region: 'us' },
      { name: 'AP Lab', region: 'ap' },
    ]);
    [eu, us, ap] = net.nodes as [RegionNode, RegionNode, RegionNode];
    patient = await registeredPatient(eu.node);
    drEu = await registeredPractitioner(eu);
    drUs = await registeredPractitioner(us);
    drAp = await registeredPractitioner(ap);
    await grantOrg(eu, patient);
    await net.settle();
    tokEu = await tokenOf(eu, drEu);
    tokUs = await tokenOf(us, drUs);

    // Registered and treated in eu: records written by the eu hospital.
    euPatientId = await createTravellerPatient(eu, tokEu, patient.did, { birthDate: '1985-02-03' });
    for (const [code, date] of [
      [HEART_RATE, '2026-01-10'],
      [BODY_WEIGHT, '2026-01-11'],
      [HEART_RATE, '2026-02-01'],
    ] as const) {
      const res = await fhir<{ id: string }>(
        eu,
        tokEu,
        'POST',
        'Observation',
        observation(euPatientId, code, date),
      );
      expectStatus(res, 201);
      euObs.push(res.body.id);
    }
    await net.settle();
  });

  after(async () => {
    await net?.close();
  });

  test('node endpoints are found on the ledger: every founder node with its URL and region', () => {
    const orgs = eu.node.ledger.rangeState<{ url?: string; region?: string; kind: string }>('party/');
    const nodes = orgs.map(([, p]) => p).filter((p) => p.kind === 'node');
    assert.deepEqual(nodes.map((n) => n.url).sort(), [eu.url, us.url, ap.url].sort());
  });

  test('a practitioner of an organization without a grant is refused at its own node', async () => {
    const tokAp = await tokenOf(ap, drAp);
    const res = await fhir(ap, tokAp, 'GET', `Patient/${euPatientId}/$everything`);
    assertOutcome(res, 403, /NO_GRANT/);
  });

  test('the custodian refuses (403) a signed request of a node whose organization holds no grant', async () => {
    const res = await nodeQuery(
      eu,
      { patient: patient.did, onBehalfOf: drAp.did, purpose: 'treatment', query: { kind: 'everything' } },
      { from: ap },
    );
    assertNodeError(res, 403, 'NO_GRANT');
  });

  test('the custodian refuses a practitioner who is not of the requesting node’s organization', async () => {
    const res = await nodeQuery(
      eu,
      { patient: patient.did, onBehalfOf: drEu.did, purpose: 'treatment', query: { kind: 'everything' } },
      { from: ap },
    );
    assertNodeError(res, 403, 'NOT_PRACTITIONER');
  });

  test('the us clinic, granted, reads $everything, by id and by search through the us node', async () => {
    usGrant = await grantOrg(us, patient);
    await net.settle();
    const everything = await fhir<Bundle>(us, tokUs, 'GET', `Patient/${euPatientId}/$everything`);
    expectStatus(everything, 200);
    assert.deepEqual(
      matchIds(everything.body),
      [`Patient/${euPatientId}`, ...euObs.map((id) => `Observation/${id}`)].sort(),
    );
    assert.equal(everything.body.total, 4);
    assert.deepEqual(outcomesOf(everything.body), []);

    const read = await fhir<{ id: string; code: unknown }>(us, tokUs, 'GET', `Observation/${euObs[0]!}`);
    expectStatus(read, 200);
    assert.equal(read.body.id, euObs[0]);
    assert.deepEqual(read.body.code, observation(euPatientId, HEART_RATE, '2026-01-10').code);

    const search = await fhir<Bundle>(
      us,
      tokUs,
      'GET',
      `Observation?patient=${euPatientId}&code=http://loinc.org|${HEART_RATE}`,
    );
    expectStatus(search, 200);
    assert.deepEqual(matchIds(search.body), [`Observation/${euObs[0]!}`, `Observation/${euObs[2]!}`].sort());

    const dated = await fhir<Bundle>(us, tokUs, 'GET', `Observation?patient=${euPatientId}&date=ge2026-02`);
    assert.deepEqual(matchIds(dated.body), [`Observation/${euObs[2]!}`]);

    // Paging across the merged list: one per page, every record once.
    const seen: string[] = [];
    let next: string | undefined = `Patient/${euPatientId}/$everything?_count=1`;
    while (next !== undefined) {
      const page: FhirAnswer<Bundle> = await fhir<Bundle>(us, tokUs, 'GET', next);
      expectStatus(page, 200);
      seen.push(...matchIds(page.body));
      const link = page.body.link?.find((l) => l.relation === 'next')?.url;
      next = link === undefined ? undefined : link.slice(link.indexOf('/fhir/R4/') + '/fhir/R4/'.length);
    }
    assert.deepEqual(seen.sort(), matchIds(everything.body));

    const missing = await fhir(us, tokUs, 'GET', `Observation/not-anywhere`);
    assertOutcome(missing, 404);
  });

  test('the us clinic’s $summary of the patient holds the records kept in eu (latest vital sign per code)', async () => {
    const summary = await fhir<Bundle>(us, tokUs, 'GET', `Patient/${euPatientId}/$summary`);
    expectStatus(summary, 200);
    assert.deepEqual(checkIpsDocument(summary.body).issues, []);
    const byUrl = new Map((summary.body.entry ?? []).map((e) => [e.fullUrl, e.resource]));
    const composition = summary.body.entry?.[0]?.resource;
    assert.ok(composition?.resourceType === 'Composition');
    assert.doesNotMatch(composition.text?.div ?? '', /Incomplete/);
    const vitals = composition.section?.find((s) => s.code?.coding?.[0]?.code === '8716-3');
    const ids = (vitals?.entry ?? []).map((e) => byUrl.get(e.reference)?.id).sort();
    // eu kept heart rate on 01-10 and 02-01 and body weight on 01-11: the later heart rate and the weight.
    assert.deepEqual(ids, [euObs[1]!, euObs[2]!].sort());
  });

  test('the us clinic writes an Observation (custodian us); the eu hospital sees it through the eu node', async () => {
    usPatientId = await createTravellerPatient(us, tokUs, patient.did);
    const obs = await fhir<{ id: string }>(
      us,
      tokUs,
      'POST',
      'Observation',
      observation(usPatientId, HEART_RATE, '2026-03-05', 88),
    );
    expectStatus(obs, 201);
    usObs = obs.body.id;
    await net.settle();

    const everything = await fhir<Bundle>(eu, tokEu, 'GET', `Patient/${euPatientId}/$everything`);
    expectStatus(everything, 200);
    assert.deepEqual(
      matchIds(everything.body),
      [
        `Patient/${euPatientId}`,
        `Patient/${usPatientId}`,
        ...euObs.map((id) => `Observation/${id}`),
        `Observation/${usObs}`,
      ].sort(),
    );
    const remote = entriesOf(everything.body).find((e) => e.resource.id === usObs)?.resource;
    assert.deepEqual((remote as { valueQuantity?: { value?: number } }).valueQuantity?.value, 88);

    const read = await fhir<{ id: string }>(eu, tokEu, 'GET', `Observation/${usObs}`);
    expectStatus(read, 200);
    assert.equal(read.body.id, usObs);

    // Search with a code: local and remote matches, in date order.
    const search = await fhir<Bundle>(
      eu,
      tokEu,
      'GET',
      `Observation?patient=Patient/${euPatientId}&code=http://loinc.org|${HEART_RATE}&_sort=date`,
    );
    expectStatus(search, 200);
    assert.deepEqual(
      entriesOf(search.body).map((e) => e.resource.id),
      [euObs[0], euObs[2], usObs],
    );

    // The us node answers the same search by the eu Patient id with its own record too.
    const atUs = await fhir<Bundle>(
      us,
      tokUs,
      'GET',
      `Observation?patient=${euPatientId}&code=${HEART_RATE}`,
    );
    assert.deepEqual(
      matchIds(atUs.body),
      [euObs[0]!, euObs[2]!, usObs].map((id) => `Observation/${id}`).sort(),
    );
  });

  test('a Patient search by the DID identifier finds the Patient resources of every custodian', async () => {
    const res = await fhir<Bundle>(
      us,
      tokUs,
      'GET',
      `Patient?identifier=${encodeURIComponent(`${DID_IDENTIFIER_SYSTEM}|${patient.did}`)}`,
    );
    expectStatus(res, 200);
    assert.deepEqual(matchIds(res.body), [`Patient/${euPatientId}`, `Patient/${usPatientId}`].sort());
  });

  test('the patient’s own token reads records kept elsewhere through the node it signed in to', async () => {
    const tokPatient = await tokenOf(us, patient);
    const everything = await fhir<Bundle>(us, tokPatient, 'GET', `Patient/${euPatientId}/$everything`);
    expectStatus(everything, 200);
    assert.equal(everything.body.total, 6);
    const read = await fhir<{ id: string }>(us, tokPatient, 'GET', `Observation/${euObs[1]!}`);
    expectStatus(read, 200);
    // Another patient's token gets nothing of it.
    const other = await registeredPatient(us.node);
    await net.settle();
    const tokOther = await tokenOf(us, other);
    assertOutcome(await fhir(us, tokOther, 'GET', `Observation/${euObs[1]!}`), 403, /NOT_OWN_RECORD/);
  });

  test('the patient’s audit trail lists the accesses from both regions', async () => {
    const hasEntry = (entries: AuditRecord[], match: Partial<AuditRecord>): boolean =>
      entries.some((e) =>
        Object.entries(match).every(([k, v]) => (e as unknown as Record<string, unknown>)[k] === v),
      );
    const wanted: Partial<AuditRecord>[] = [
      // The us node recorded the us clinic's reads, and the eu custodian its disclosures to it.
      { actor: drUs.did, recordedBy: us.node.did, action: 'search', outcome: 'success' },
      { actor: drUs.did, recordedBy: us.node.did, action: 'read', recordId: euObs[0]!, outcome: 'success' },
      { actor: drUs.did, recordedBy: eu.node.did, via: us.node.did, action: 'search', outcome: 'success' },
      { actor: drUs.did, recordedBy: eu.node.did, via: us.node.did, action: 'read', recordId: euObs[0]! },
      // And the other way round for the eu hospital's reads of the us record.
      { actor: drEu.did, recordedBy: eu.node.did, action: 'read', recordId: usObs },
      { actor: drEu.did, recordedBy: us.node.did, via: eu.node.did, action: 'read', recordId: usObs },
      // The refused request of the ap node is on the trail too.
      { actor: drAp.did, recordedBy: eu.node.did, via: ap.node.did, outcome: 'denied' },
    ];
    await eu.node.fhir.audit.flush();
    await us.node.fhir.audit.flush();
    const entries = await waitForAudit(eu, patient.did, (all) => wanted.every((w) => hasEntry(all, w)));
    for (const w of wanted) assert.ok(hasEntry(entries, w), JSON.stringify(w));
    const custodianEntry = entries.find((e) => e.via === us.node.did && e.recordedBy === eu.node.did);
    assert.ok(custodianEntry?.grantId, 'the custodian names the grant it served under');
    // The requester names it too, also for searches whose matches were all kept elsewhere.
    const requesterSearches = entries.filter((e) => e.actor === drUs.did && e.recordedBy === us.node.did && e.action === 'search' && e.outcome === 'success');
    assert.ok(requesterSearches.length > 0);
    for (const entry of requesterSearches) assert.ok(entry.grantId, `the us node names the grant of its search ${JSON.stringify(entry)}`);

    // The patient reads it as AuditEvents through either node.
    const tokPatient = await tokenOf(us, patient);
    const trail = await fhir<Bundle>(us, tokPatient, 'GET', `AuditEvent?_count=1000`);
    expectStatus(trail, 200);
    const agents = JSON.stringify(trail.body.entry);
    for (const did of [drEu.did, drUs.did, eu.node.did, us.node.did]) assert.ok(agents.includes(did), did);
  });

  test('bad node requests: 401 with stable codes', async () => {
    const body = {
      patient: patient.did,
      onBehalfOf: drUs.did,
      purpose: 'treatment',
      query: { kind: 'everything' },
    };
    const missing = await nodeQuery(eu, body, { headers: {} });
    assertNodeError(missing, 401, 'NODE_AUTH_MISSING');

    const stranger = generateSigningKeyPair();
    const unknown = await nodeQuery(eu, body, {
      node: didFromSigningKey(stranger.publicKey),
      secretKey: stranger.secretKey,
    });
    assertNodeError(unknown, 401, 'NODE_UNKNOWN');

    // The us node's DID, signed with another key.
    const forged = await nodeQuery(eu, body, { node: us.node.did, secretKey: stranger.secretKey });
    assertNodeError(forged, 401, 'NODE_SIGNATURE_INVALID');

    // A signature over another body.
    const headers = signNodeRequest({
      method: 'POST',
      path: RECORDS_QUERY_PATH,
      body: JSON.stringify({ ...body, query: { kind: 'read', type: 'Observation', id: euObs[0] } }),
      node: us.node.did,
      secretKey: us.node.config.keys.node.secretKey,
      audience: eu.node.did,
    });
    const swapped = await nodeQuery(eu, body, { headers });
    assertNodeError(swapped, 401, 'NODE_SIGNATURE_INVALID');

    const stale = await nodeQuery(eu, body, { from: us, time: Date.now() - 120_000 });
    assertNodeError(stale, 401, 'NODE_REQUEST_STALE');
    const future = await nodeQuery(eu, body, { from: us, time: Date.now() + 120_000 });
    assertNodeError(future, 401, 'NODE_REQUEST_STALE');

    // The same signed request twice: the second is a replay.
    const once = signNodeRequest({
      method: 'POST',
      path: RECORDS_QUERY_PATH,
      body: JSON.stringify(body),
      node: us.node.did,
      secretKey: us.node.config.keys.node.secretKey,
      audience: eu.node.did,
    });
    const first = await nodeQuery(eu, body, { headers: once });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.ok((first.body.records?.length ?? 0) > 0);
    assert.ok(first.body.records!.every((r) => typeof r.ciphertext === 'string' && !('resource' in r)));
    const replay = await nodeQuery(eu, body, { headers: once });
    assertNodeError(replay, 401, 'NODE_REQUEST_REPLAYED');
    assert.equal(once[NODE_HEADERS.nonce]!.length >= 16, true);
  });

  test('a malformed query from a registered node: 400 naming the member', async () => {
    const bad = await nodeQuery(
      eu,
      { patient: patient.did, onBehalfOf: drUs.did, purpose: 'treatment', query: { kind: 'history' } },
      { from: us },
    );
    assertNodeError(bad, 400, 'VALIDATION_FAILED');
    assert.match(bad.body.error?.message ?? '', /body\.query/);
    const search = await nodeQuery(
      eu,
      {
        patient: patient.did,
        onBehalfOf: drUs.did,
        purpose: 'treatment',
        query: { kind: 'search', type: 'Observation', params: [['patient', euPatientId]] },
      },
      { from: us },
    );
    assertNodeError(search, 400, 'VALIDATION_FAILED');
  });

  test('a revocation stops the us clinic at its own node and at the eu custodian', async () => {
    await revoke(us, patient, usGrant);
    await net.settle();
    const everything = await fhir(us, tokUs, 'GET', `Patient/${euPatientId}/$everything`);
    assertOutcome(everything, 403, /GRANT_REVOKED/);
    const read = await fhir(us, tokUs, 'GET', `Observation/${euObs[0]!}`);
    assertOutcome(read, 403, /GRANT_REVOKED/);

    // The us node bypassed: the eu custodian refuses on its own ledger.
    const direct = await nodeQuery(
      eu,
      { patient: patient.did, onBehalfOf: drUs.did, purpose: 'treatment', query: { kind: 'everything' } },
      { from: us },
    );
    assertNodeError(direct, 403, 'GRANT_REVOKED');
    const directRead = await nodeQuery(
      eu,
      {
        patient: patient.did,
        onBehalfOf: drUs.did,
        purpose: 'treatment',
        query: { kind: 'read', type: 'Observation', id: euObs[0] },
      },
      { from: us },
    );
    assertNodeError(directRead, 403, 'GRANT_REVOKED');

    // The eu hospital still reads the us record: its own grant stands.
    const euRead = await fhir(eu, tokEu, 'GET', `Observation/${usObs}`);
    expectStatus(euRead, 200);
  });

  test('records a custodian altered are left out: checked against the ledger anchors, or they do not open', async () => {
    // A custodian that alters what it serves: the us node's answers, tampered in transit.
    const tampering: RoamingClientOptions['http'] = {
      request: async (url, call) => {
        const response = await eu.node.peerHttp.request(url, call);
        const answer = JSON.parse(response.text()) as RecordQueryAnswer;
        const [first, second] = answer.records;
        assert.ok(first && second);
        const flip = (text: string) => `${text.slice(0, 20)}${text[20] === 'A' ? 'B' : 'A'}${text.slice(21)}`;
        const records = [
          { ...first, ciphertext: flip(first.ciphertext) }, // fails the anchored content hash
          { ...second, wrappedDek: { ...second.wrappedDek, ct: flip(second.wrappedDek.ct) } }, // does not open
        ];
        const body = Buffer.from(JSON.stringify({ ...answer, records }));
        return { status: response.status, body, text: () => body.toString('utf8') };
      },
    };
    const state = {
      get: <T>(key: string) => eu.node.ledger.getState<T>(key),
      range: <T>(prefix: string) => eu.node.ledger.rangeState<T>(prefix),
    };
    const port = { orgDid: eu.node.orgDid, state };
    const client = new RoamingClient({
      nodeDid: eu.node.did,
      secretKey: eu.node.config.keys.node.secretKey,
      state: port.state,
      http: tampering,
    });
    eu.node.fhir.repository.useRemote(new RemoteRecords(port, client));
    try {
      const everything = await fhir<Bundle>(eu, tokEu, 'GET', `Patient/${euPatientId}/$everything`);
      expectStatus(everything, 200);
      assert.deepEqual(
        matchIds(everything.body),
        [`Patient/${euPatientId}`, ...euObs.map((id) => `Observation/${id}`)].sort(),
      );
      const [warning] = outcomesOf(everything.body);
      assert.match(warning?.issue?.[0]?.details?.text ?? '', /US Clinic .*1 record\(s\) that do not match/);
    } finally {
      eu.node.fhir.repository.useRemote(eu.node.fhir.roaming.remote);
    }
  });

  test('a custodian that is down: the Bundle still answers, with an OperationOutcome naming it', async () => {
    await us.stopHttp();
    const everything = await fhir<Bundle>(eu, tokEu, 'GET', `Patient/${euPatientId}/$everything`);
    expectStatus(everything, 200);
    assert.deepEqual(
      matchIds(everything.body),
      [`Patient/${euPatientId}`, ...euObs.map((id) => `Observation/${id}`)].sort(),
    );
    const [outcome, ...more] = outcomesOf(everything.body);
    assert.equal(more.length, 0);
    assert.equal(outcome?.issue?.[0]?.severity, 'warning');
    assert.match(outcome?.issue?.[0]?.details?.text ?? '', /US Clinic .*region us.*was not reached/);

    const search = await fhir<Bundle>(
      eu,
      tokEu,
      'GET',
      `Observation?patient=${euPatientId}&code=${HEART_RATE}`,
    );
    expectStatus(search, 200);
    assert.equal(outcomesOf(search.body).length, 1);

    const read = await fhir(eu, tokEu, 'GET', `Observation/${usObs}`);
    assertOutcome(read, 503, /was not reached/);

    // The summary says it is incomplete, so no reader takes a missing record for none.
    const summary = await fhir<Bundle>(eu, tokEu, 'GET', `Patient/${euPatientId}/$summary`);
    expectStatus(summary, 200);
    assert.deepEqual(checkIpsDocument(summary.body).issues, []);
    const composition = summary.body.entry?.[0]?.resource;
    assert.ok(composition?.resourceType === 'Composition');
    assert.match(composition.text?.div ?? '', /Incomplete: records kept by another organization could not be reached/);
  });
});
