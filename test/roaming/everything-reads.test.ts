// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test", "before", "after"], "package": "node:test" }] }] */
/**
 * The work one roaming `$everything` costs, counted at real nodes (two founder organizations, eu
 * and us, their HTTP servers on 127.0.0.1, real SQLite files): the us node asks the eu custodian
 * once per page; the custodian reads the answer's ciphertexts in one vault query per chunk of
 * rows rather than two per record; the us node reads the records' ledger anchors in one query
 * rather than one per record, and still checks and decrypts every record exactly once.
 * The counters wrap the real stores' methods (the calls still go through to SQLite).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import { RECORDS_QUERY_PATH } from '../../src/node/roaming/index.js';
import {
  expectStatus,
  fhir,
  observation,
} from '../fhir-api/fixture.js';
import { commit } from '../auth/fixture.js';
import { newPatient, registerPatient } from '../http/fixture.js';
import { openTravellerPair, type RegionNode, type TestNetwork } from './fixture.js';

/** Observations the eu hospital keeps of the patient (with the Patient: RECORDS + 1 resources). */
const RECORDS = 40;

/** Replaces `name` of `target` by a wrapper counting its calls (the original still runs). */
function countCalls<T extends object>(target: T, name: keyof T & string): { readonly count: () => number; restore(): void } {
  const original = target[name] as unknown as (...args: unknown[]) => unknown;
  let calls = 0;
  (target as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
    calls++;
    return original.apply(this, args);
  };
  return {
    count: () => calls,
    restore: () => {
      (target as Record<string, unknown>)[name] = original;
    },
  };
}

describe('roaming $everything: round trips and store reads per answer', () => {
  let net: TestNetwork;
  let eu: RegionNode;
  let us: RegionNode;
  let tokUs: string;
  let patientId: string;

  before(async () => {
    let tokEu: string;
    ({ net, eu, us, tokEu, tokUs, euPatientId: patientId } = await openTravellerPair());
    for (let i = 0; i < RECORDS; i++) {
      const day = String(1 + (i % 28)).padStart(2, '0');
      expectStatus(await fhir(eu, tokEu, 'POST', 'Observation', observation(patientId, '8867-4', `2026-01-${day}`, 60 + i)), 201);
    }
    await net.settle();
    // A first read: the us node learns who keeps the patient's records (its custodian directory).
    const heightBefore = us.node.ledger.height;
    expectStatus(await fhir<Bundle>(us, tokUs, 'GET', `Patient/${patientId}/$everything`), 200);
    // Its audit entries move the head (they ship on the outbox's own schedule): wait for that, so
    // the measured read below finds the per-head state cache cold whatever the machine's speed.
    const until = Date.now() + 15_000;
    while (us.node.ledger.height === heightBefore) {
      assert.ok(Date.now() < until, 'the first read’s audit entries were not committed in time');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await net.settle();
    // That wait alone can end on another block committed while the first read ran (a loaded
    // machine), leaving the cache warm at the head the measured read finds. One more block, after
    // everything the first read caused, makes the head one at which no anchor was read yet.
    await commit(us.node, registerPatient(newPatient()));
    await net.settle();
  });

  after(async () => {
    await net?.close();
  });

  test('one custodian request per page, one vault query per answer, one anchor query per answer', async () => {
    // The first read's audit entries committed since: the us node's per-head state cache is cold,
    // as on a busy network where every read's audit moves the head.
    const queries: string[] = [];
    const stopObserving = us.node.peerHttp.observe((call) => {
      if (call.path === RECORDS_QUERY_PATH) queries.push(call.path);
    });
    const { store } = eu.node.fhir.vault;
    const perRecordVersion = countCalls(store, 'getVersion');
    const perRecordBlob = countCalls(store, 'getBlob');
    const batchedVersions = countCalls(store, 'getVersionsWithBlobs');
    const anchorGets = countCalls(us.node.ledger, 'getState');
    const anchorBatches = countCalls(us.node.ledger, 'getStates');
    const remote = us.node.fhir.roaming.remote;
    const decryptionsBefore = remote.decryptions;
    let res;
    try {
      res = await fhir<Bundle>(us, tokUs, 'GET', `Patient/${patientId}/$everything?_count=1000`);
    } finally {
      stopObserving();
      for (const counter of [perRecordVersion, perRecordBlob, batchedVersions, anchorGets, anchorBatches]) counter.restore();
    }
    expectStatus(res, 200);
    const ids = (res.body.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
    assert.equal(ids.length, RECORDS + 1, 'the Patient and every Observation');
    assert.equal(new Set(ids).size, RECORDS + 1);
    assert.equal(queries.length, 1, 'one signed query to the custodian for the page');
    assert.equal(perRecordVersion.count() + perRecordBlob.count(), 0, 'no per-record vault reads at the custodian');
    assert.equal(batchedVersions.count(), 1, 'the answer’s ciphertexts in one vault query');
    // The anchors were not cached (the head moved): read in one query, not one per record.
    assert.equal(anchorBatches.count(), 1, 'the answer’s anchors in one ledger query');
    assert.ok(anchorGets.count() < 10, `anchors read one by one: ${anchorGets.count()} single reads`);
    assert.equal(remote.decryptions - decryptionsBefore, RECORDS + 1, 'every record checked and decrypted once');
  });
});
