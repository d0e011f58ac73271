/**
 * Property of issue #9: a search's answer (status, total, entries) never depends on records the
 * caller may not read. Random grants of random patients to the node's organization, random
 * callers (a practitioner of the organization, or a patient) and random queries; between two
 * runs of the same query, records the caller may NOT read are added (by their own patients).
 * Both answers must be the same.
 *
 * Whether the caller may read a record is decided here independently of the node's access
 * module: by the ledger's own `findCoveringGrant` for the practitioner's organization, and by
 * "own DID" for a patient.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Bundle } from '@medplum/fhirtypes';
import { findCoveringGrant } from '../../src/contracts/index.js';
import type { SensitivityClass } from '../../src/ledger/types.js';
import type { Wallet } from '../../src/wallet/index.js';
import {
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  writeWindow,
  underPassingWriteGrant,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  revoke,
  tokenOf,
  type FhirAnswer,
  type FhirTestNode,
} from '../fhir-api/fixture.js';

const TYPES = ['Condition', 'Observation'] as const;
type RecordType = (typeof TYPES)[number];
const CODES = ['1001', '1002', '1003'] as const;
/** Stands for the code of this run only (no record has it before the run adds one). */
const FRESH = 'fresh';
const CLASSES: readonly SensitivityClass[] = ['general', 'sensitive'];
const PATIENTS = 4;
const SEED = 20_260_409;

interface Person {
  readonly wallet: Wallet;
  readonly token: string;
  readonly patientId: string;
}

/** A practitioner grant as the property draws it. */
interface DrawnGrant {
  readonly types: readonly RecordType[];
  readonly classes: readonly SensitivityClass[];
  readonly revoked: boolean;
}

function resourceOf(type: RecordType, patientId: string, cls: SensitivityClass, code: string): object {
  const meta =
    cls === 'sensitive'
      ? {
          meta: {
            security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
          },
        }
      : {};
  const coded = { code: { coding: [{ system: 'http://example.org/codes', code }] } };
  const subject = { subject: { reference: `Patient/${patientId}` } };
  return type === 'Condition'
    ? { resourceType: 'Condition', ...meta, ...coded, ...subject, onsetDateTime: '2021-01-01' }
    : {
        resourceType: 'Observation',
        ...meta,
        status: 'final',
        ...coded,
        ...subject,
        effectiveDateTime: '2021-01-01',
      };
}

/** What an answer shows: status, total, entry ids, or the outcome's text. */
function observed(res: FhirAnswer): unknown {
  // A refusal names the state of the caller's grants (GRANT_EXPIRED, GRANT_REVOKED, …). Writing
  // the noise adds and revokes a grant of its own (the ledger keeps a patient's version only under
  // a write grant), so which grant code comes first may change between the two queries; that is
  // grant history, not records, and the code is set aside: status and the rest of the text stay.
  if (res.status !== 200)
    return {
      status: res.status,
      body: JSON.stringify(res.body).replace(/GRANT_(EXPIRED|REVOKED)/g, 'GRANT_ENDED'),
    };
  const bundle = res.body as Bundle;
  return {
    status: 200,
    total: bundle.total,
    ids: bundle.entry?.map((e) => e.resource?.id) ?? [],
    next: bundle.link?.find((l) => l.relation === 'next') !== undefined,
  };
}

describe('security (property): a search’s answer does not depend on unreadable records', () => {
  let t: FhirTestNode;
  let people: Person[] = [];
  let doctorToken: string;
  /** Ids of records written so far, for `_id` queries. */
  const written: string[] = [];
  let runs = 0;

  before(async () => {
    t = await openFhirNode();
    const grants = fc.sample(
      fc.record({
        types: fc.subarray([...TYPES]),
        classes: fc.subarray([...CLASSES]),
        revoked: fc.boolean(),
      }),
      { numRuns: PATIENTS, seed: SEED },
    ) as DrawnGrant[];
    people = [];
    const windows: Awaited<ReturnType<typeof writeWindow>>[] = [];
    for (let i = 0; i < PATIENTS; i++) {
      const wallet = await registeredPatient(t.node);
      // Custody: the organization keeps every record (keys of both classes) of the patient;
      // the grant's scope is the Patient resource only, so it gives practitioners no records.
      await grantOrg(t, wallet, { resourceTypes: ['Patient'], classes: ['general', 'sensitive'] });
      const token = await tokenOf(t, wallet);
      // The patient's own writes below are kept under a write grant that expires before the
      // property is checked.
      windows.push(await writeWindow(t, wallet, 20_000));
      people.push({ wallet, token, patientId: await createPatient(t, token) });
    }
    doctorToken = await tokenOf(t, await registeredPractitioner(t));
    // Something readable for everyone to find: one record of each type, class and code per patient.
    for (const person of people)
      for (const type of TYPES)
        for (const cls of CLASSES) {
          const res = await fhir<{ id: string }>(
            t,
            person.token,
            'POST',
            type,
            resourceOf(type, person.patientId, cls, '1001'),
          );
          expectStatus(res, 201);
          written.push(res.body.id);
        }
    // The drawn grants, after the writes (a revocation moves the patient to a new key epoch, under
    // which the node holds no key to write).
    for (let i = 0; i < PATIENTS; i++) {
      const drawn = grants[i]!;
      if (drawn.types.length === 0 || drawn.classes.length === 0) continue;
      const id = await grantOrg(t, people[i]!.wallet, {
        resourceTypes: drawn.types,
        classes: drawn.classes,
        access: 'read',
        keys: [],
      });
      if (drawn.revoked) await revoke(t, people[i]!.wallet, id);
    }
    for (const window of windows) await window.ended();
  });
  after(async () => {
    await t.close();
  });

  /** Whether `caller` (a patient index, or 'doctor') may read a `type` record of class `cls` of patient `p`. */
  function mayRead(caller: number | 'doctor', p: number, type: RecordType, cls: SensitivityClass): boolean {
    if (caller !== 'doctor') return caller === p;
    const state = {
      get: <T>(key: string) => t.node.ledger.getState<T>(key),
      range: <T>(prefix: string) => t.node.ledger.rangeState<T>(prefix),
    };
    return (
      findCoveringGrant(state, people[p]!.wallet.did, t.node.orgDid, type, cls, 'read', Date.now()).code ===
      'OK'
    );
  }

  it('holds for random callers, queries and unreadable records', async () => {
    const query = fc.record({
      caller: fc.oneof(fc.constant<'doctor'>('doctor'), fc.integer({ min: 0, max: PATIENTS - 1 })),
      type: fc.constantFrom(...TYPES),
      code: fc.option(fc.constantFrom(FRESH, ...CODES), { nil: undefined }),
      patient: fc.option(fc.integer({ min: 0, max: PATIENTS - 1 }), { nil: undefined, freq: 2 }),
      // An id some record has, or the id this run's first unreadable record will take.
      byId: fc.option(fc.oneof(fc.constant<typeof FRESH>(FRESH), fc.nat()), { nil: undefined, freq: 2 }),
      count: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    });
    const noise = fc.array(
      fc.record({
        patient: fc.integer({ min: 0, max: PATIENTS - 1 }),
        type: fc.constantFrom(...TYPES),
        class: fc.constantFrom(...CLASSES),
        code: fc.constantFrom(FRESH, ...CODES),
      }),
      { minLength: 1, maxLength: 3 },
    );
    await fc.assert(
      fc.asyncProperty(query, noise, async (q, added) => {
        const fresh = `run-${++runs}`;
        const codeOf = (code: string): string => (code === FRESH ? fresh : code);
        const params = new URLSearchParams();
        if (q.code !== undefined) params.set('code', `http://example.org/codes|${codeOf(q.code)}`);
        if (q.patient !== undefined) params.set('patient', `Patient/${people[q.patient]!.patientId}`);
        const freshId = randomUUID();
        if (q.byId !== undefined)
          params.set('_id', q.byId === FRESH ? freshId : written[q.byId % written.length]!);
        if (q.count !== undefined) params.set('_count', String(q.count));
        if (q.caller === 'doctor' && q.patient === undefined && q.byId === undefined)
          params.set('_id', written[0]!); // a practitioner's search must be scoped
        const token = q.caller === 'doctor' ? doctorToken : people[q.caller]!.token;
        const url = `${q.type}?${params.toString()}`;
        const first = observed(await fhir(t, token, 'GET', url));
        let wrote = 0;
        for (const n of added) {
          if (mayRead(q.caller, n.patient, n.type, n.class)) continue; // only unreadable noise
          const owner = people[n.patient]!;
          const resource = resourceOf(n.type, owner.patientId, n.class, codeOf(n.code));
          // The first one takes the id the query may name (an update that creates it).
          // Kept by the organization under a write grant revoked at once: unreadable to everyone
          // but the patient.
          const first = wrote === 0;
          const res = await underPassingWriteGrant(t, owner.wallet, () =>
            first
              ? fhir<{ id: string }>(t, owner.token, 'PUT', `${n.type}/${freshId}`, {
                  ...resource,
                  id: freshId,
                })
              : fhir<{ id: string }>(t, owner.token, 'POST', n.type, resource),
          );
          expectStatus(res, 201);
          written.push(res.body.id);
          wrote++;
        }
        const second = observed(await fhir(t, token, 'GET', url));
        assert.deepEqual(second, first, `${url} as ${String(q.caller)} after ${wrote} unreadable record(s)`);
      }),
      { numRuns: 40, seed: SEED },
    );
  });
});
