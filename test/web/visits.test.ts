/**
 * "Who saw my record", grouped (web/src/lib/visits.ts): the entries of one visit are one row in
 * plain words; another actor, another node, a pause longer than the gap or a break-glass make
 * another visit; break-glass visits come first; every entry stays with its own proof result.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  actorWords,
  groupVisits,
  VISIT_GAP_MS,
  visitWords,
  type TrailRow,
} from '../../web/src/lib/visits.js';

const PATIENT = 'did:key:z6MkPatient';
const DOCTOR = 'did:key:z6MkDoctor';
const OTHER = 'did:key:z6MkOtherDoctor';
const NODE_EU = 'did:key:z6MkNodeEu';
const NODE_AP = 'did:key:z6MkNodeAp';
const T0 = Date.UTC(2026, 11, 5, 9, 0, 0);

let counter = 0;
function row(fields: Partial<TrailRow> & Pick<TrailRow, 'at'>): TrailRow {
  counter += 1;
  return {
    id: `e${counter}`,
    actor: DOCTOR,
    actorKind: 'practitioner',
    actorOrg: 'did:key:z6MkHospital',
    actorOrgName: 'Hospital Lyon',
    action: 'search',
    resourceType: 'Condition',
    recordId: null,
    grantId: 'g1',
    purpose: 'treatment',
    emergency: null,
    outcome: 'success',
    recordedBy: NODE_EU,
    region: 'eu',
    viaRegion: null,
    txId: `tx${counter}`,
    height: 1,
    proofValid: true,
    ...fields,
  };
}

/** Opening a chart: one search entry per kind of record, a second apart. */
function chartOpening(start: number, fields: Partial<TrailRow> = {}): TrailRow[] {
  const kinds = ['Condition', 'MedicationRequest', 'AllergyIntolerance', 'Observation', 'Immunization'];
  return kinds.map((resourceType, i) => row({ at: start + i * 1000, resourceType, ...fields }));
}

describe('who saw my record, grouped by visit', () => {
  test('a chart opening and what followed within the gap are one visit, said in words', () => {
    const rows = [
      ...chartOpening(T0),
      row({ at: T0 + 30_000, action: 'read', resourceType: 'Observation' }),
      row({ at: T0 + 31_000, action: 'read', resourceType: 'Observation' }),
      row({ at: T0 + 90_000, action: 'create', resourceType: 'Observation' }),
      row({
        at: T0 + 95_000,
        action: 'read',
        resourceType: 'Condition',
        outcome: 'denied',
        proofValid: false,
      }),
    ];
    const visits = groupVisits(rows);
    assert.equal(visits.length, 1);
    const [visit] = visits;
    assert.equal(visit!.entries.length, rows.length);
    assert.equal(visit!.start, T0);
    assert.equal(visit!.end, T0 + 95_000);
    assert.equal(visit!.allVerified, false, 'one entry whose proof failed marks the visit');
    assert.equal(
      visitWords(visit!),
      'opened your chart (conditions, prescriptions, allergies, observations and immunizations); ' +
        'read 2 observations; added 1 observation; was refused once',
    );
    assert.equal(
      actorWords(visit!, { self: PATIENT, shortDid: (d) => d.slice(-6), region: 'eu' }),
      'practitioner Doctor at Hospital Lyon (eu)',
    );
  });

  test('another actor, another node, or a pause longer than the gap is another visit', () => {
    const rows = [
      ...chartOpening(T0),
      ...chartOpening(T0 + 2000, { actor: OTHER }),
      ...chartOpening(T0 + 3000, { recordedBy: NODE_AP }),
      ...chartOpening(T0 + 4000 + VISIT_GAP_MS + 5000),
    ];
    const visits = groupVisits(rows);
    assert.equal(visits.length, 4);
    assert.deepEqual(
      visits.map((v) => v.entries.length),
      [5, 5, 5, 5],
    );
    // Newest first.
    assert.equal(visits[0]!.start, T0 + 4000 + VISIT_GAP_MS + 5000);
  });

  test('a few searches are "looked through"; the patient is "You"', () => {
    const [visit] = groupVisits([
      row({ at: T0, actor: PATIENT, actorKind: 'patient (you)', actorOrg: null, actorOrgName: null }),
    ]);
    assert.equal(visitWords(visit!), 'looked through your conditions');
    assert.equal(actorWords(visit!, { self: PATIENT, shortDid: (d) => d }), 'You');
  });

  test("a SMART Health Link's openings, recorded by the node that serves it, are said as such", () => {
    const node = { actor: NODE_EU, actorKind: 'node', actorOrg: null, actorOrgName: null, grantId: null, purpose: null };
    const visits = groupVisits([
      row({ at: T0, ...node, action: 'share-link', resourceType: null }),
      row({ at: T0 + 1_000, ...node, action: 'share-link', resourceType: null }),
      row({ at: T0 + 2_000, ...node, action: 'share-link', resourceType: null, outcome: 'denied' }),
    ]);
    assert.equal(visits.length, 1);
    assert.equal(
      visitWords(visits[0]!),
      'served your shared summary link (SMART Health Link) 2 times; was refused once',
    );
  });

  test('break-glass entries are their own visit, first, with the access id', () => {
    const rows = [
      ...chartOpening(T0 + 60 * 60_000),
      ...chartOpening(T0, { purpose: 'emergency', grantId: null, emergency: 'acc-1', recordedBy: NODE_AP }),
      // The same practitioner at the same node right after, under a grant: not the emergency visit.
      row({ at: T0 + 6000, recordedBy: NODE_AP }),
    ];
    const visits = groupVisits(rows);
    assert.equal(visits.length, 3);
    assert.equal(visits[0]!.breakGlass, true);
    assert.equal(visits[0]!.emergency, 'acc-1');
    assert.equal(visits[0]!.entries.length, 5);
    assert.deepEqual(
      visits.slice(1).map((v) => v.breakGlass),
      [false, false],
    );
    // An entry marked by its purpose only (recorded by a node without the emergency field) is too.
    const [byPurpose] = groupVisits([row({ at: T0, purpose: 'emergency' })]);
    assert.equal(byPurpose!.breakGlass, true);
  });
});
