// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test", "before", "after"], "package": "node:test" }] }] */
/**
 * Break-glass (issue 12 §2), its limits, in one process: three founder organizations (eu, us,
 * ap) with one node each on one chain, HTTP on 127.0.0.1. A patient treated in eu enables
 * emergency access (trustees eu, us, ap; threshold 2; class general). A practitioner of ap with
 * the `emergency` role breaks the glass and reads the patient's summary types through the ap
 * node; everything else stays refused: practitioners without the role or without their own
 * access, another organization using the access, types and classes outside it, writes, and the
 * time after its window. The custodian checks an access on its own ledger and clock, and audits
 * a refusal once. Reconstruction skips forged release shares (real escrow crypto).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent as FhirAuditEvent, Bundle } from '@medplum/fhirtypes';
import { buildEmergencyEnable, emergencyAccessTx, newEmergencyId } from '../../src/client/index.js';
import type { AuditRecord } from '../../src/contracts/index.js';
import { generateEncryptionKeyPair } from '../../src/crypto/index.js';
import { StateKey } from '../../src/ledger/index.js';
import type { OrgRecord } from '../../src/ledger/types.js';
import {
  EmergencyKeyStore,
  KeyReconstruction,
  type EmergencyAccessRecord,
} from '../../src/node/emergency/index.js';
import { DID_IDENTIFIER_SYSTEM } from '../../src/node/fhir/index.js';
import { RECORDS_QUERY_PATH, signNodeRequest } from '../../src/node/roaming/index.js';
import { createEscrow, deriveRecordKey, openEscrowShare, sealReleasedShare } from '../../src/vault/index.js';
import { createWallet, deriveRecordKeySeed, type Wallet } from '../../src/wallet/index.js';
import { envelope } from '../http/fixture.js';
import {
  assertOutcome,
  commit,
  condition,
  expectStatus,
  fhir,
  grantOrg,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  waitForAudit,
} from '../fhir-api/fixture.js';
import {
  createTravellerPatient,
  openNetwork,
  type RegionNode,
  type TestNetwork,
} from '../roaming/fixture.js';

/** Submits `tx` and answers its committed result code. */
async function resultOf(node: RegionNode, tx: unknown): Promise<string> {
  const outcome = await node.node.submit([tx]);
  const accepted = outcome.accepted[0];
  if (accepted === undefined) return outcome.rejected[0]?.code ?? 'REJECTED';
  return (await node.node.waitForCommit(accepted.id, 10_000)).code;
}

/** A signed node request to `custodian`'s records endpoint, as `from` sends it. */
async function custodianQuery(
  custodian: RegionNode,
  from: RegionNode,
  body: unknown,
): Promise<{ status: number; body: { error?: { code: string }; records?: Array<{ type: string }> } }> {
  const payload = JSON.stringify(body);
  const headers = signNodeRequest({
    method: 'POST',
    path: RECORDS_QUERY_PATH,
    body: payload,
    node: from.node.did,
    secretKey: from.node.config.keys.node.secretKey,
    audience: custodian.node.did,
  });
  const res = await custodian.app.inject({
    method: 'POST',
    url: RECORDS_QUERY_PATH,
    headers: { ...headers, 'content-type': 'application/json' },
    payload,
  });
  return { status: res.statusCode, body: res.json() };
}

/** Waits until `node` holds the keys of access `id` (its status route says `ready`). */
async function keysReady(node: RegionNode, id: string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (node.node.emergency?.statusOf(id)?.state !== 'ready') {
    assert.ok(Date.now() < until, `access ${id}: ${JSON.stringify(node.node.emergency?.statusOf(id))}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function typesOf(bundle: Bundle): string[] {
  return [...new Set((bundle.entry ?? []).map((e) => e.resource?.resourceType ?? '?'))].sort();
}

describe('security: emergency access (break-glass)', () => {
  let net: TestNetwork;
  let eu: RegionNode;
  let us: RegionNode;
  let ap: RegionNode;
  let patient: Wallet;
  let euPatientId: string;
  let sensitiveCondition: string;
  let encounter: string;
  /** ap practitioners: with the role and an access; with the role, no access; without the role. */
  let drAp: Wallet;
  let drApOther: Wallet;
  let drApPlain: Wallet;
  let drUs: Wallet;
  let access: string;

  const summaryOf = async (token: string): Promise<ReturnType<typeof fhir<Bundle>>> =>
    fhir<Bundle>(ap, token, 'GET', `Patient/${euPatientId}/$summary`);

  /** `from`'s signed query to the eu custodian under break-glass `id`, for `onBehalfOf`. */
  const emergencyQuery = (
    from: RegionNode,
    onBehalfOf: Wallet,
    id: string,
    query: unknown = { kind: 'everything' },
  ): ReturnType<typeof custodianQuery> =>
    custodianQuery(eu, from, {
      patient: patient.did,
      onBehalfOf: onBehalfOf.did,
      purpose: 'emergency',
      emergency: id,
      query,
    });

  const breakGlass = async (wallet: Wallet, durationMs: number): Promise<string> => {
    const tx = emergencyAccessTx({ patient: patient.did, reason: 'ETREAT', durationMs });
    await commit(ap.node, envelope(wallet, tx.type, tx.payload));
    return tx.payload.id;
  };

  before(async () => {
    net = await openNetwork([
      { name: 'EU Hospital', region: 'eu' },
      { name: 'US Clinic', region: 'us' },
      { name: 'AP Lab', region: 'ap' },
    ]);
    [eu, us, ap] = net.nodes as [RegionNode, RegionNode, RegionNode];
    patient = await registeredPatient(eu.node);
    const drEu = await registeredPractitioner(eu);
    drAp = await registeredPractitioner(ap, ['emergency']);
    drApOther = await registeredPractitioner(ap, ['emergency']);
    drApPlain = await registeredPractitioner(ap);
    drUs = await registeredPractitioner(us, ['emergency']);
    await grantOrg(eu, patient, { classes: ['general', 'sensitive'] });
    await net.settle();
    const tokEu = await tokenOf(eu, drEu);
    euPatientId = await createTravellerPatient(eu, tokEu, patient.did);
    const write = async (resource: Record<string, unknown>): Promise<string> => {
      const res = await fhir<{ id: string }>(eu, tokEu, 'POST', resource.resourceType as string, resource);
      expectStatus(res, 201);
      return res.body.id;
    };
    const subject = { reference: `Patient/${euPatientId}` };
    await write(condition(euPatientId, false));
    sensitiveCondition = await write(condition(euPatientId, true));
    await write({
      resourceType: 'AllergyIntolerance',
      clinicalStatus: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
        ],
      },
      code: {
        coding: [{ system: 'http://snomed.info/sct', code: '91936005', display: 'Allergy to penicillin' }],
      },
      patient: subject,
    });
    await write({
      resourceType: 'MedicationStatement',
      status: 'active',
      medicationCodeableConcept: {
        coding: [
          {
            system: 'http://www.nlm.nih.gov/research/umls/rxnorm',
            code: '197361',
            display: 'Amlodipine 5 MG',
          },
        ],
      },
      subject,
    });
    encounter = await write({
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject,
    });
    const trustees = [eu, us, ap].map((n) => {
      const org = eu.node.ledger.getState<OrgRecord>(StateKey.org(n.node.orgDid))!;
      return { did: org.did, encryptionKey: org.encryptionKey, status: org.status };
    });
    const enable = await buildEmergencyEnable({
      patient: patient.did,
      recordKeySeed: deriveRecordKeySeed(patient),
      trustees,
      epoch: 0,
      threshold: 2,
      classes: ['general'],
    });
    await commit(eu.node, envelope(patient, enable.type, enable.payload));
    await net.settle();
  });

  after(async () => {
    await net?.close();
  });

  test('without a grant or a break-glass, the ap practitioner is refused', async () => {
    assertOutcome(await summaryOf(await tokenOf(ap, drAp)), 403, /NO_GRANT/);
  });

  test('a practitioner without the emergency role cannot break the glass; nothing is released', async () => {
    const tx = emergencyAccessTx({ patient: patient.did, reason: 'ETREAT', durationMs: 60_000 });
    assert.equal(await resultOf(ap, envelope(drApPlain, tx.type, tx.payload)), 'EMERGENCY_ROLE_REQUIRED');
    await net.settle();
    assert.equal(ap.node.ledger.getState(StateKey.emergency(tx.payload.id)), undefined);
    assertOutcome(await summaryOf(await tokenOf(ap, drApPlain)), 403, /NO_GRANT/);
  });

  test('the ap practitioner breaks the glass and reads the summary types of class general, audited as break-glass', async () => {
    access = await breakGlass(drAp, 10 * 60_000);
    await keysReady(ap, access);
    const token = await tokenOf(ap, drAp);
    const summary = await summaryOf(token);
    expectStatus(summary, 200);
    const types = typesOf(summary.body);
    for (const type of ['AllergyIntolerance', 'Condition', 'MedicationStatement', 'Patient'])
      assert.ok(types.includes(type), `${type} in ${types.join(',')}`);
    const ids = new Set((summary.body.entry ?? []).map((e) => e.resource?.id));
    assert.ok(!ids.has(sensitiveCondition), 'the sensitive Condition is not released');
    // $everything: the summary types only (no Encounter), never the sensitive class.
    const everything = await fhir<Bundle>(ap, token, 'GET', `Patient/${euPatientId}/$everything`);
    expectStatus(everything, 200);
    assert.ok(!typesOf(everything.body).includes('Encounter'));
    assert.ok(!(everything.body.entry ?? []).some((e) => e.resource?.id === sensitiveCondition));
    // The trail: the ap node's entries and the eu custodian's, purpose emergency and the access id.
    const entries = await waitForAudit(eu, patient.did, (all) =>
      ['ap', 'eu'].every((region) =>
        all.some(
          (e) =>
            e.emergency === access &&
            e.purpose === 'emergency' &&
            e.outcome === 'success' &&
            e.recordedBy === (region === 'ap' ? ap : eu).node.did,
        ),
      ),
    );
    assert.ok(entries.filter((e) => e.emergency === access).every((e) => e.actor === drAp.did));
  });

  test('the patient’s AuditEvent view marks the break-glass: DCM 110127 and purposeOfEvent ETREAT', async () => {
    const res = await fhir<Bundle>(
      eu,
      await tokenOf(eu, patient),
      'GET',
      `AuditEvent?patient=${euPatientId}`,
    );
    expectStatus(res, 200);
    const events = (res.body.entry ?? []).map((e) => e.resource as FhirAuditEvent);
    const loud = events.filter((e) => e.subtype?.some((s) => s.code === '110127'));
    assert.ok(loud.length >= 2, JSON.stringify(events.map((e) => e.subtype)));
    for (const e of loud) {
      assert.equal(e.purposeOfEvent?.[0]?.coding?.[0]?.code, 'ETREAT');
      assert.ok(e.entity?.some((x) => x.what?.identifier?.value === access));
    }
    assert.ok(
      events
        .filter((e) => !loud.includes(e))
        .every((e) => e.purposeOfEvent?.[0]?.coding?.[0]?.code !== 'ETREAT'),
    );
  });

  test('types and classes outside the access, and writes, stay refused under break-glass', async () => {
    const token = await tokenOf(ap, drAp);
    assertOutcome(await fhir(ap, token, 'GET', `Encounter?patient=${euPatientId}`), 403, /NO_GRANT/);
    assertOutcome(await fhir(ap, token, 'GET', `Encounter/${encounter}`), 403);
    assertOutcome(await fhir(ap, token, 'GET', `Condition/${sensitiveCondition}`), 403);
    assertOutcome(await fhir(ap, token, 'POST', 'Condition', condition(euPatientId, false)), 403, /NO_GRANT/);
    // The custodian answers the access's scope only, whatever the requesting node asks.
    const encounters = await emergencyQuery(ap, drAp, access, {
      kind: 'search',
      type: 'Encounter',
      params: [],
    });
    assert.equal(encounters.status, 403);
    assert.equal(encounters.body.error?.code, 'SCOPE_NOT_COVERED');
    const all = await emergencyQuery(ap, drAp, access);
    assert.equal(all.status, 200);
    const served = new Set((all.body.records ?? []).map((r) => r.type));
    assert.ok(served.has('Condition') && !served.has('Encounter'), [...served].join(','));
  });

  test('another practitioner of the same organization, and the view of the trail, get nothing from the access', async () => {
    const token = await tokenOf(ap, drApOther);
    assertOutcome(await summaryOf(token), 403, /NO_GRANT/);
    // The trail is not among what a break-glass reaches (the ledger views take no emergency reach).
    const byDid = encodeURIComponent(`${DID_IDENTIFIER_SYSTEM}|${patient.did}`);
    assertOutcome(
      await fhir(ap, await tokenOf(ap, drAp), 'GET', `AuditEvent?patient:identifier=${byDid}`),
      403,
      /NO_GRANT/,
    );
  });

  test('the custodian refuses an access used by another organization or practitioner: 403 EMERGENCY_NOT_ACTIVE, audited once', async () => {
    for (const [from, onBehalfOf] of [
      [us, drUs],
      [ap, drApOther],
    ] as const) {
      const res = await emergencyQuery(from, onBehalfOf, access);
      assert.equal(res.status, 403);
      assert.equal(res.body.error?.code, 'EMERGENCY_NOT_ACTIVE');
      assert.equal(res.body.records, undefined);
    }
    const unknown = newEmergencyId();
    const res = await emergencyQuery(ap, drAp, unknown);
    assert.equal(res.body.error?.code, 'EMERGENCY_NOT_ACTIVE');
    const denied = (all: AuditRecord[], actor: string, id: string): AuditRecord[] =>
      all.filter((e) => e.actor === actor && e.emergency === id && e.outcome === 'denied');
    const entries = await waitForAudit(
      eu,
      patient.did,
      (all) => denied(all, drUs.did, access).length > 0 && denied(all, drAp.did, unknown).length > 0,
    );
    assert.equal(denied(entries, drUs.did, access).length, 1);
    assert.equal(denied(entries, drApOther.did, access).length, 1);
    assert.equal(denied(entries, drAp.did, unknown).length, 1);
  });

  test('after the window the node and the custodian refuse again, and the keys are gone', async () => {
    const short = await breakGlass(drApOther, 3_000);
    await keysReady(ap, short);
    const token = await tokenOf(ap, drApOther);
    expectStatus(await summaryOf(token), 200);
    const end = ap.node.ledger.getState<EmergencyAccessRecord>(StateKey.emergency(short))!.end;
    await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now()) + 50));
    assertOutcome(await summaryOf(token), 403, /NO_GRANT/);
    const res = await emergencyQuery(ap, drApOther, short);
    assert.equal(res.status, 403);
    assert.equal(res.body.error?.code, 'EMERGENCY_NOT_ACTIVE');
    assert.equal(ap.node.emergency?.statusOf(short)?.state, 'ended');
  });

  test('the status route answers the requester only, with counts and no key material', async () => {
    const as = async (wallet: Wallet) =>
      ap.app.inject({
        method: 'GET',
        url: `/emergency/accesses/${access}/keys`,
        headers: { authorization: `Bearer ${await tokenOf(ap, wallet)}` },
      });
    const mine = await as(drAp);
    assert.equal(mine.statusCode, 200);
    assert.deepEqual(
      { ...mine.json<Record<string, unknown>>(), start: 0, end: 0 },
      {
        id: access,
        patient: patient.did,
        start: 0,
        end: 0,
        threshold: 2,
        trustees: 3,
        releases: 3,
        keys: 'ready',
      },
    );
    const other = await as(drApOther);
    assert.equal(other.statusCode, 404);
    const missing = await ap.app.inject({
      method: 'GET',
      url: `/emergency/accesses/${newEmergencyId()}/keys`,
      headers: { authorization: `Bearer ${await tokenOf(ap, drAp)}` },
    });
    assert.deepEqual(missing.json(), other.json(), 'another’s access reads like an unknown one');
  });

  test('a DID search names the patient under break-glass too (how the doctor finds the chart)', async () => {
    const token = await tokenOf(ap, drAp);
    const identifier = encodeURIComponent(`${DID_IDENTIFIER_SYSTEM}|${patient.did}`);
    const res = await fhir<Bundle>(ap, token, 'GET', `Patient/$summary?identifier=${identifier}`);
    expectStatus(res, 200);
    assert.ok(typesOf(res.body).includes('AllergyIntolerance'));
  });
});

describe('security: break-glass key reconstruction with forged release shares', () => {
  test('a forged share is skipped when enough good ones exist; only forged ones give EMERGENCY_SHARES_INVALID', async () => {
    const patient = createWallet('patient').wallet;
    const seed = deriveRecordKeySeed(patient);
    const trustees = ['did:key:z6MkTrusteeA', 'did:key:z6MkTrusteeB', 'did:key:z6MkTrusteeC'].map((org) => ({
      org,
      keys: generateEncryptionKeyPair(),
    }));
    const requester = { org: 'did:key:z6MkRequester', keys: generateEncryptionKeyPair() };
    const { trustees: sealed, escrow } = await createEscrow({
      patient: patient.did,
      recordKeySeed: seed,
      classes: ['general'],
      epoch: 0,
      trustees: trustees.map((t) => ({ org: t.org, publicKey: t.keys.publicKey })),
      threshold: 2,
    });
    const id = newEmergencyId();
    const binding = { access: id, requester: requester.org, commitment: escrow.commitment };
    /** Trustee i's release of `share`, sealed to the requesting organization as a trustee node does. */
    const releaseOf = async (i: number, share: Uint8Array) => ({
      org: trustees[i]!.org,
      node: trustees[i]!.org,
      at: 0,
      share: await sealReleasedShare({ ...binding, requesterPublicKey: requester.keys.publicKey, share }),
    });
    const release = async (i: number) =>
      releaseOf(
        i,
        await openEscrowShare({
          sealed: sealed[i]!.share,
          secretKey: trustees[i]!.keys.secretKey,
          patient: patient.did,
          trustee: trustees[i]!.org,
          commitment: escrow.commitment,
        }),
      );
    // A forged release: a well-sealed share that is not a share of the escrow key.
    const forged = async (i: number) => releaseOf(i, new Uint8Array(randomBytes(33)));
    const accessWith = (releases: EmergencyAccessRecord['releases']): EmergencyAccessRecord => ({
      id,
      patient: patient.did,
      requester: 'did:key:z6MkDoctor',
      org: requester.org,
      reason: 'ETREAT',
      start: 0,
      end: Date.now() + 60_000,
      policyVersion: 1,
      classes: ['general'],
      threshold: 2,
      trustees: sealed,
      escrow,
      releases,
    });
    const reconstructionWith = (store: EmergencyKeyStore) =>
      new KeyReconstruction(
        {
          orgDid: requester.org,
          orgEncryptionSecretKey: requester.keys.secretKey,
          state: { get: () => undefined, range: () => [] },
        },
        store,
      );

    const good = new EmergencyKeyStore();
    const mixed = accessWith([await forged(0), await release(1), await release(2)]);
    assert.deepEqual(await reconstructionWith(good).reconstruct(mixed, Date.now()), { state: 'ready' });
    assert.deepEqual(
      good.keysOf(patient.did).get('general|0'),
      deriveRecordKey(seed, patient.did, 'general', 0),
    );

    const bad = new EmergencyKeyStore();
    const onlyForged = accessWith([await forged(0), await forged(1), await release(2)]);
    const status = await reconstructionWith(bad).reconstruct(onlyForged, Date.now());
    assert.equal(status.state, 'invalid');
    assert.equal(status.state === 'invalid' ? status.code : '', 'EMERGENCY_SHARES_INVALID');
    assert.equal(bad.keysOf(patient.did).size, 0);
    good.clear();
  });
});
