// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test", "before", "after"], "package": "node:test" }] }] */
/**
 * Attacks on the replica endpoints of a node (real nodes and HTTP on 127.0.0.1, one chain):
 * a node that does not hold a record ships versions of it; a holder ships a version whose bytes
 * do not hash to the anchor; a shipment is replayed; a holder ships a record of a patient whose
 * replica is not the receiver; a node asks an organization that is not the patient's replica, or
 * asks the replica for a practitioner without a grant; a holder ships an older version (no longer
 * the latest) without its anchoring transaction, naming another version's, or with another
 * version's bytes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signNodeRequest } from '../../src/node/roaming/index.js';
import { REPLICA_QUERY_PATH, REPLICA_VERSIONS_PATH, type ShippedVersion } from '../../src/node/replica/wire.js';
import type { Wallet } from '../../src/wallet/index.js';
import { commit } from '../auth/fixture.js';
import { envelope } from '../http/fixture.js';
import { expectStatus, fhir, grantOrg, observation, registeredPatient, registeredPractitioner, tokenOf } from '../fhir-api/fixture.js';
import { createTravellerPatient, openNetwork, type RegionNode, type TestNetwork } from '../roaming/fixture.js';

/** Version `version` (default: the current one) of `holder`'s own record `id`, as its shipper would send it. */
function shippedFrom(holder: RegionNode, id: string, version?: number): ShippedVersion {
  const row = holder.node.fhir.index.getResource(id);
  assert.ok(row);
  const { info, blob, wrappedDek } = holder.node.fhir.vault.readCiphertext(id, version ?? row.version);
  return {
    id,
    type: info.resourceType,
    version: info.version,
    patient: info.patient,
    custodian: info.custodian,
    class: info.class,
    epoch: info.epoch,
    contentHash: info.contentHash,
    ciphertext: Buffer.from(blob).toString('base64url'),
    wrappedDek: { iv: wrappedDek.iv, ct: wrappedDek.ct },
    lastUpdated: row.lastUpdated,
    date: null,
  };
}

interface Signed {
  readonly headers: Record<string, string>;
  readonly payload: string;
}

function signedBy(from: RegionNode, to: RegionNode, path: string, body: unknown): Signed {
  const payload = JSON.stringify(body);
  const headers = signNodeRequest({
    method: 'POST',
    path,
    body: payload,
    node: from.node.did,
    secretKey: from.node.config.keys.node.secretKey,
    audience: to.node.did,
  });
  return { headers, payload };
}

async function send(to: RegionNode, path: string, signed: Signed) {
  const res = await to.app.inject({
    method: 'POST',
    url: path,
    headers: { ...signed.headers, 'content-type': 'application/json' },
    payload: signed.payload,
  });
  return { status: res.statusCode, body: res.json<{ error?: { code: string }; results?: Array<{ status: string; code?: string }>; records?: unknown[] }>() };
}

describe('replica endpoints: attacks', () => {
  let net: TestNetwork;
  let eu: RegionNode;
  let us: RegionNode;
  let ap: RegionNode;
  let patient: Wallet;
  let other: Wallet;
  let obsId: string;
  let otherObsId: string;
  let drAp: Wallet;
  let tokEu = '';

  before(async () => {
    net = await openNetwork([
      { name: 'EU Hospital', region: 'eu' },
      { name: 'US Clinic', region: 'us' },
      { name: 'AP Lab', region: 'ap' },
    ]);
    [eu, us, ap] = net.nodes as [RegionNode, RegionNode, RegionNode];
    patient = await registeredPatient(eu.node);
    other = await registeredPatient(eu.node);
    const drEu = await registeredPractitioner(eu);
    drAp = await registeredPractitioner(ap);
    for (const p of [patient, other]) await grantOrg(eu, p);
    await grantOrg(us, patient);
    await grantOrg(us, other);
    await commit(eu.node, envelope(patient, 'records.replica', { replica: us.node.orgDid }));
    await net.settle();
    tokEu = await tokenOf(eu, drEu);
    const patientId = await createTravellerPatient(eu, tokEu, patient.did);
    const created = await fhir<{ id: string }>(eu, tokEu, 'POST', 'Observation', observation(patientId, '8867-4', '2026-01-10'));
    expectStatus(created, 201);
    obsId = created.body.id;
    const otherId = await createTravellerPatient(eu, tokEu, other.did);
    const otherObs = await fhir<{ id: string }>(eu, tokEu, 'POST', 'Observation', observation(otherId, '8867-4', '2026-01-12'));
    expectStatus(otherObs, 201);
    otherObsId = otherObs.body.id;
    await net.settle();
    // eu's own shipper is done before the tests tamper with us's copies.
    const until = Date.now() + 15_000;
    while (eu.node.replica.backlog > 0 || us.node.replica.store.get(obsId) === undefined) {
      assert.ok(Date.now() < until, 'eu did not ship its versions to us in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  after(async () => {
    await net?.close();
  });

  test('a node that does not hold the record ships a version of it: 403 REPLICA_NOT_HOLDER, nothing stored', async () => {
    us.node.replica.store.erase(obsId);
    const version = shippedFrom(eu, obsId);
    const res = await send(us, REPLICA_VERSIONS_PATH, signedBy(ap, us, REPLICA_VERSIONS_PATH, { versions: [version] }));
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error?.code, 'REPLICA_NOT_HOLDER');
    assert.equal(us.node.replica.store.get(obsId), undefined);
  });

  test('a holder ships bytes that do not hash to the anchor: refused REPLICA_HASH_MISMATCH, nothing stored', async () => {
    us.node.replica.store.erase(obsId);
    const version = shippedFrom(eu, obsId);
    const bytes = Buffer.from(version.ciphertext, 'base64url');
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    const altered = { ...version, ciphertext: bytes.toString('base64url') };
    const res = await send(us, REPLICA_VERSIONS_PATH, signedBy(eu, us, REPLICA_VERSIONS_PATH, { versions: [altered] }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.results?.map((r) => [r.status, r.code]), [['refused', 'REPLICA_HASH_MISMATCH']]);
    assert.equal(us.node.replica.store.get(obsId), undefined);
  });

  test('a replayed shipment is refused (NODE_REQUEST_REPLAYED); the same versions again are idempotent', async () => {
    us.node.replica.store.erase(obsId);
    const signed = signedBy(eu, us, REPLICA_VERSIONS_PATH, { versions: [shippedFrom(eu, obsId)] });
    const first = await send(us, REPLICA_VERSIONS_PATH, signed);
    assert.deepEqual(first.body.results?.map((r) => r.status), ['stored']);
    const replay = await send(us, REPLICA_VERSIONS_PATH, signed);
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error?.code, 'NODE_REQUEST_REPLAYED');
    const again = await send(us, REPLICA_VERSIONS_PATH, signedBy(eu, us, REPLICA_VERSIONS_PATH, { versions: [shippedFrom(eu, obsId)] }));
    assert.deepEqual(again.body.results?.map((r) => r.status), ['exists']);
    assert.equal(us.node.replica.store.get(obsId)?.version, 1);
  });

  test('a holder ships a record of a patient whose replica the receiver is not: 403 REPLICA_NOT_HOLDER', async () => {
    const res = await send(us, REPLICA_VERSIONS_PATH, signedBy(eu, us, REPLICA_VERSIONS_PATH, { versions: [shippedFrom(eu, otherObsId)] }));
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error?.code, 'REPLICA_NOT_HOLDER');
    assert.equal(us.node.replica.store.get(otherObsId), undefined);
  });

  test('a replica query to an organization that is not the patient’s replica: 403 REPLICA_NOT_IN_EFFECT', async () => {
    const query = { patient: other.did, onBehalfOf: drAp.did, purpose: 'treatment', query: { kind: 'everything' }, custodian: eu.node.orgDid };
    const res = await send(us, REPLICA_QUERY_PATH, signedBy(ap, us, REPLICA_QUERY_PATH, query));
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error?.code, 'REPLICA_NOT_IN_EFFECT');
    assert.equal(res.body.records, undefined);
  });

  test('the replica decides as any custodian: a practitioner whose organization holds no grant gets 403 NO_GRANT', async () => {
    const query = { patient: patient.did, onBehalfOf: drAp.did, purpose: 'treatment', query: { kind: 'everything' }, custodian: eu.node.orgDid };
    const res = await send(us, REPLICA_QUERY_PATH, signedBy(ap, us, REPLICA_QUERY_PATH, query));
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error?.code, 'NO_GRANT');
    assert.equal(res.body.records, undefined);
  });

  test('an older version is taken only with its own anchoring transaction and bytes', async () => {
    const v1Tx = us.node.replica.store.get(obsId, 1)?.anchorTx;
    assert.ok(v1Tx, 'us holds version 1 with the transaction that anchored it');
    const current = await fhir<Record<string, unknown>>(eu, tokEu, 'GET', `Observation/${obsId}`);
    expectStatus(await fhir(eu, tokEu, 'PUT', `Observation/${obsId}`, { ...current.body, status: 'amended' }), 200);
    await net.settle();
    const until = Date.now() + 15_000;
    while (eu.node.replica.backlog > 0 || us.node.replica.store.get(obsId, 2) === undefined) {
      assert.ok(Date.now() < until, 'eu did not ship version 2 to us in time');
      await new Promise((r) => setTimeout(r, 20));
    }
    const v2Tx = us.node.replica.store.get(obsId, 2)?.anchorTx;
    assert.ok(v2Tx && v2Tx !== v1Tx);
    us.node.replica.store.erase(obsId);
    const v1 = shippedFrom(eu, obsId, 1);
    const v2 = shippedFrom(eu, obsId, 2);
    const ship = async (version: ShippedVersion) =>
      (await send(us, REPLICA_VERSIONS_PATH, signedBy(eu, us, REPLICA_VERSIONS_PATH, { versions: [version] }))).body.results?.map((r) => [r.status, r.code]);
    // Without its anchoring transaction an older version cannot be checked (a sender of an earlier build): not taken.
    assert.deepEqual(await ship(v1), [['superseded', undefined]]);
    // Naming version 2's transaction: that transaction anchors no version 1 of this record.
    assert.deepEqual(await ship({ ...v1, anchorTx: v2Tx }), [['refused', 'REPLICA_ANCHOR_MISMATCH']]);
    // Version 2's bytes (and stated hash) as version 1, with version 1's transaction: the hash check.
    assert.deepEqual(await ship({ ...v2, version: 1, anchorTx: v1Tx }), [['refused', 'REPLICA_HASH_MISMATCH']]);
    assert.deepEqual(us.node.replica.store.versionsOf(obsId), []);
    assert.deepEqual(await ship({ ...v1, anchorTx: v1Tx }), [['stored', undefined]]);
    assert.deepEqual(await ship(v2), [['stored', undefined]]);
    assert.deepEqual(us.node.replica.store.versionsOf(obsId), [1, 2]);
  });
});
