// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test", "before", "after"], "package": "node:test" }] }] */
/**
 * Attacks on roaming pages (issue 14 §4), at real nodes (eu, us and ap founders, HTTP servers on
 * 127.0.0.1, real SQLite files). The patient's records are kept by the eu hospital; the us clinic
 * holds a grant, the ap clinic none. A page's cursor now travels to the custodian, so:
 * - a forged cursor is a 400 OperationOutcome naming `_page`, the same for every caller, and
 *   nothing is fetched;
 * - a page link taken from a us practitioner gives an ap practitioner exactly what it gets
 *   without it (the same refusal), nothing fetched;
 * - a custodian that lies about its page (reorders, replays earlier pages' records, sends more
 *   than asked, claims a false sort key) cannot make the us node show a record twice, out of
 *   order or on a page that does not move on: at worst a record is missing, with a warning;
 * - every page is decided afresh: after a revocation the next page link is refused, nothing fetched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { encodeCursor } from '../../src/fhir/index.js';
import { RECORDS_QUERY_PATH, type RecordQueryAnswer, type RoamingClientOptions } from '../../src/node/roaming/index.js';
import { fhir, revoke } from '../fhir-api/fixture.js';
import type { RegionNode } from '../roaming/fixture.js';
import { allPages, openBystanderTrio, pageOf, useRemoteThrough, type BystanderTrio } from '../roaming/paging-fixture.js';

const RECORDS = 24;
const COUNT = 5;

describe('roaming pages: forged cursors, borrowed page links, lying custodians, revocation', () => {
  let trio: BystanderTrio;
  let everything: string;

  before(async () => {
    trio = await openBystanderTrio(RECORDS);
    everything = `Patient/${trio.patientId}/$everything`;
  });

  after(async () => {
    await trio?.net.close();
  });

  /** The custodian queries `node` sends while `run` runs. */
  async function queriesDuring(node: RegionNode, run: () => Promise<void>): Promise<number> {
    let queries = 0;
    const stop = node.node.peerHttp.observe((call) => {
      if (call.path === RECORDS_QUERY_PATH) queries++;
    });
    try {
      await run();
    } finally {
      stop();
    }
    return queries;
  }

  test('a forged cursor: 400 OperationOutcome naming _page for every caller, nothing fetched', async () => {
    const { us, ap, tokUs, tokAp, patientId } = trio;
    const forged = [
      { url: everything, cursor: { sort: '$everything', key: [0], id: '../../Observation/x' } },
      { url: everything, cursor: { sort: '$everything', key: [0], id: 'NotAType/abc' } },
      { url: everything, cursor: { sort: '$everything', key: [0], id: `Observation/${'a'.repeat(80)}` } },
      { url: `Observation?patient=Patient/${patientId}`, cursor: { sort: '_lastUpdated', key: [0], id: 'Observation/abc' } },
    ];
    for (const { url, cursor } of forged) {
      const link = `${url}${url.includes('?') ? '&' : '?'}_page=${encodeCursor(cursor)}`;
      const answers: { status: number; body: OperationOutcome }[] = [];
      const queries = await queriesDuring(us, async () => {
        for (const [node, token] of [[us, tokUs], [ap, tokAp]] as const) {
          const res = await fhir<OperationOutcome>(node, token, 'GET', link);
          answers.push({ status: res.status, body: res.body });
        }
      });
      const [withGrant, withoutGrant] = answers;
      assert.equal(withGrant?.status, 400, `${cursor.id}: ${JSON.stringify(withGrant?.body)}`);
      assert.equal(withGrant?.body.resourceType, 'OperationOutcome');
      assert.deepEqual(withGrant?.body.issue?.[0]?.expression, ['_page']);
      // The caller without access learns nothing: the same answer, byte for byte.
      assert.deepEqual(withoutGrant, withGrant);
      assert.equal(queries, 0, `${cursor.id}: the custodian was asked`);
    }
  });

  test('a page link of a us practitioner used by an ap practitioner: the refusal it gets without it, nothing fetched', async () => {
    const { us, ap, tokUs, tokAp } = trio;
    const first = await pageOf(us, tokUs, everything, COUNT);
    assert.ok(first.next !== undefined);
    let plain: { status: number; body: unknown } | undefined;
    let borrowed: { status: number; body: unknown } | undefined;
    const queries = await queriesDuring(ap, async () => {
      const without = await fhir(ap, tokAp, 'GET', `${everything}?_count=${COUNT}`);
      const withLink = await fhir(ap, tokAp, 'GET', `${everything}?_count=${COUNT}&_page=${first.next}`);
      plain = { status: without.status, body: without.body };
      borrowed = { status: withLink.status, body: withLink.body };
    });
    assert.equal(plain?.status, 403);
    assert.deepEqual(borrowed, plain);
    assert.equal(queries, 0, 'the ap node asked a custodian');
  });

  test('a custodian that reorders, replays, oversends and misplaces: no page repeats or misorders a record', async () => {
    const { us, tokUs } = trio;
    const honest = await pageOf(us, tokUs, everything, 1000);
    let victim: string | undefined;
    const seen: unknown[] = [];
    // The eu custodian's answers as the us node receives them, altered in transit.
    const lying: RoamingClientOptions['http'] = {
      request: async (url, call) => {
        const response = await us.node.peerHttp.request(url, call);
        if (!url.endsWith(RECORDS_QUERY_PATH) || response.status !== 200) return response;
        const answer = JSON.parse(response.text()) as RecordQueryAnswer;
        const records = answer.records.map((record) => {
          if (victim === undefined && record.type === 'Observation') victim = `Observation/${record.id}`;
          // One record placed first in the order by a false `_lastUpdated`.
          return `Observation/${record.id}` === victim ? { ...record, lastUpdated: 0 } : record;
        });
        // Reversed, earlier answers' records replayed, and more than the limit.
        const altered = [...records.reverse(), ...seen];
        seen.push(...answer.records);
        const body = Buffer.from(JSON.stringify({ ...answer, records: altered }));
        return { status: response.status, body, text: () => body.toString('utf8') };
      },
    };
    const restore = useRemoteThrough(us, lying);
    let pages;
    try {
      pages = await allPages(us, tokUs, everything, COUNT, 3 * RECORDS);
    } finally {
      restore();
    }
    const ids = pages.flatMap((p) => p.ids);
    assert.ok(victim !== undefined);
    assert.equal(new Set(ids).size, ids.length, 'a record on two pages');
    // In the honest order, and nothing but the misplaced record missing.
    assert.deepEqual(ids, honest.ids.filter((id) => id !== victim));
    assert.ok(pages.every((p) => p.ids.length <= COUNT));
    assert.ok(pages.some((p) => p.outcomes > 0), 'the misplaced record is not left out silently');
  });

  test('every page is decided afresh: after a revocation the next page link is refused, nothing fetched', async () => {
    const { net, us, tokUs, patient, usGrant } = trio;
    const first = await pageOf(us, tokUs, everything, COUNT);
    assert.ok(first.next !== undefined);
    await revoke(us, patient, usGrant);
    await net.settle();
    let res: { status: number; body: unknown } | undefined;
    const queries = await queriesDuring(us, async () => {
      res = await fhir<Bundle>(us, tokUs, 'GET', `${everything}?_count=${COUNT}&_page=${first.next}`);
    });
    assert.equal(res?.status, 403);
    assert.match(JSON.stringify(res?.body), /GRANT_REVOKED/);
    assert.equal(queries, 0, 'a revoked page link reached the custodian');
  });
});
