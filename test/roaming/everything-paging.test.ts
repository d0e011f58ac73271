// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test", "before", "after"], "package": "node:test" }] }] */
/**
 * A roaming page costs the custodian what that page needs (issue 14 §4), counted at real nodes
 * (eu and us founders, HTTP servers on 127.0.0.1, real SQLite files): a patient's records are
 * kept partly by the eu hospital (the custodian asked) and partly by the us clinic (local to the
 * reader), interleaved in every order. Paging `$everything` and patient searches at the us node
 * with a small `_count`, each custodian answer carries at most `count + 1` records and reads at
 * most that many ciphertexts, and the pages together are the one big page: every record exactly
 * once, in order, with the same total.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RECORDS_QUERY_PATH, type RoamingClientOptions } from '../../src/node/roaming/index.js';
import { createTravellerPatient, openTravellerPair, type RegionNode, type TestNetwork } from './fixture.js';
import { allPages, countAnswers, pageOf, useRemoteThrough, writeInterleaved, type PageSeen } from './paging-fixture.js';

/** Observations written (one in three at the us clinic, the rest at the eu hospital). */
const WRITES = 60;
const COUNT = 10;

/** Ids of all pages, in order. */
function idsOf(pages: readonly PageSeen[]): string[] {
  return pages.flatMap((p) => p.ids);
}

describe('roaming paging: each page asks the custodian only for that page', () => {
  let net: TestNetwork;
  let eu: RegionNode;
  let us: RegionNode;
  let tokUs: string;
  let euPatientId: string;

  before(async () => {
    const pair = await openTravellerPair();
    ({ net, eu, us, tokUs, euPatientId } = pair);
    const usPatientId = await createTravellerPatient(us, tokUs, pair.patient.did);
    await writeInterleaved(
      [
        { t: us, token: tokUs, patientId: usPatientId, every: 3 },
        { t: eu, token: pair.tokEu, patientId: euPatientId, every: 1 },
      ],
      WRITES,
    );
    await net.settle();
  });

  after(async () => {
    await net?.close();
  });

  /**
   * Pages `path` at the us node with `_count=COUNT` and checks them against one big page; returns
   * the records of each eu answer and the ciphertexts the eu vault read per query.
   */
  async function pageAndCompare(
    path: string,
  ): Promise<{ answers: ReturnType<typeof countAnswers>; vaultRows: number[]; pages: PageSeen[]; decryptions: number }> {
    const big = await pageOf(us, tokUs, path, 1000);
    assert.equal(big.next, undefined, 'one page holds every record');
    assert.ok(big.ids.length > 3 * COUNT, `enough records to page: ${big.ids.length}`);
    const answers = countAnswers(eu.node.fhir.roaming.custodian);
    const { vault } = eu.node.fhir;
    const readCiphertexts = vault.readCiphertexts.bind(vault);
    const vaultRows: number[] = [];
    vault.readCiphertexts = (rows) => {
      vaultRows.push(rows.length);
      return readCiphertexts(rows);
    };
    let pages: PageSeen[];
    const decryptionsBefore = us.node.fhir.roaming.remote.decryptions;
    try {
      pages = await allPages(us, tokUs, path, COUNT);
    } finally {
      answers.restore();
      vault.readCiphertexts = readCiphertexts;
    }
    const ids = idsOf(pages);
    assert.equal(new Set(ids).size, ids.length, 'no record on two pages');
    assert.deepEqual(ids, big.ids, 'the pages, one after the other, are the big page');
    for (const page of pages) {
      assert.equal(page.total, big.total, 'every page has the big page’s total');
      assert.equal(page.outcomes, 0, 'no warning');
    }
    assert.ok(pages.slice(0, -1).every((p) => p.ids.length === COUNT), 'every page but the last is full');
    assert.equal(answers.sizes.length, pages.length, 'one custodian answer per page');
    const decryptions = us.node.fhir.roaming.remote.decryptions - decryptionsBefore;
    return { answers, vaultRows, pages, decryptions };
  }

  test('$everything of a patient kept at two custodians: ≤ count + 1 records per custodian answer', async () => {
    const { answers, vaultRows, pages, decryptions } = await pageAndCompare(`Patient/${euPatientId}/$everything`);
    for (const size of answers.sizes) assert.ok(size <= COUNT + 1, `a page's custodian answer carried ${size} records`);
    for (const rows of vaultRows) assert.ok(rows <= COUNT + 1, `a page read ${rows} ciphertexts at the custodian`);
    // A page decrypts what it shows plus the one that tells whether a next page exists.
    assert.ok(decryptions <= pages.length * (COUNT + 1), `${decryptions} remote decryptions for ${pages.length} pages`);
  });

  test('a patient search sorted by -date: ≤ count + 1 records per answer, no clinical date of a record kept elsewhere sent', async () => {
    const { answers } = await pageAndCompare(`Observation?patient=Patient/${euPatientId}&_sort=-date`);
    let paged = 0;
    answers.queries.forEach((query, i) => {
      const page = query.query.kind === 'search' ? query.query.page : undefined;
      if (page === undefined) return; // the cursor is a us record: asked for all, as before paging
      paged++;
      // A cursor's date goes only to the custodian of its record (eu keeps what it sent).
      if (page.after !== undefined) assert.ok(answers.sent.has(page.after.id), `eu was told the date of ${page.after.id}`);
      assert.ok(answers.sizes[i]! <= COUNT + 1, `a paged answer carried ${answers.sizes[i]} records`);
    });
    assert.ok(paged >= 2, `only ${paged} of ${answers.queries.length} pages were asked paged`);
  });

  test('a date-sorted page whose cursor is a record the us clinic keeps: its date is not sent to eu', async () => {
    const path = `Observation?patient=Patient/${euPatientId}&_sort=date`;
    const whole = countAnswers(eu.node.fhir.roaming.custodian);
    let big: PageSeen;
    try {
      big = await pageOf(us, tokUs, path, 1000);
    } finally {
      whole.restore();
    }
    // The first record of the us clinic's after the first place: a page of that many ends on it.
    const at = big.ids.findIndex((id, i) => i > 0 && !whole.sent.has(id.slice('Observation/'.length)));
    assert.ok(at > 0, 'the us clinic keeps records of the patient');
    const first = await pageOf(us, tokUs, path, at + 1);
    assert.equal(first.ids[at], big.ids[at]);
    assert.ok(first.next !== undefined);
    const asked = countAnswers(eu.node.fhir.roaming.custodian);
    let second: PageSeen;
    try {
      second = await pageOf(us, tokUs, path, at + 1, first.next);
    } finally {
      asked.restore();
    }
    assert.deepEqual(second.ids, big.ids.slice(at + 1, 2 * (at + 1)));
    assert.equal(asked.queries.length, 1);
    const query = asked.queries[0]!.query;
    const page = query.kind === 'search' ? query.page : undefined;
    assert.equal(page?.after, undefined, `eu was told where ${big.ids[at]} sorts: ${JSON.stringify(page)}`);
  });

  test('a search with a filter matched again on the plaintext, sorted by _lastUpdated', async () => {
    const { answers } = await pageAndCompare(
      `Observation?patient=Patient/${euPatientId}&code=http://loinc.org|8867-4&_sort=_lastUpdated`,
    );
    for (const size of answers.sizes) assert.ok(size <= COUNT + 1, `a page's custodian answer carried ${size} records`);
  });

  test('_summary=count: the total alone, no record sent', async () => {
    const answers = countAnswers(eu.node.fhir.roaming.custodian);
    let counted: PageSeen;
    try {
      counted = await pageOf(us, tokUs, `Observation?patient=Patient/${euPatientId}&_summary=count`, 10);
    } finally {
      answers.restore();
    }
    const big = await pageOf(us, tokUs, `Observation?patient=Patient/${euPatientId}`, 1000);
    assert.equal(counted.total, big.ids.length);
    assert.deepEqual(answers.sizes, [0]);
  });

  test('a custodian of a version before paging refuses the page member: asked again unpaged, the same pages', async () => {
    const path = `Patient/${euPatientId}/$everything`;
    const big = await pageOf(us, tokUs, path, 1000);
    let refused = 0;
    let asked = 0;
    // What an older eu node answers a query with `page`: its strict schema's refusal.
    const older: RoamingClientOptions['http'] = {
      request: async (url, call) => {
        if (url.endsWith(RECORDS_QUERY_PATH)) asked++;
        if (url.endsWith(RECORDS_QUERY_PATH) && typeof call.body === 'string' && call.body.includes('"page":')) {
          refused++;
          const body = Buffer.from(
            JSON.stringify({ error: { code: 'VALIDATION_FAILED', message: '"body.query" Unrecognized key: "page"' } }),
          );
          return { status: 400, body, text: () => body.toString('utf8') };
        }
        return us.node.peerHttp.request(url, call);
      },
    };
    const restore = useRemoteThrough(us, older);
    let pages: PageSeen[];
    try {
      pages = await allPages(us, tokUs, path, COUNT);
    } finally {
      restore();
    }
    assert.deepEqual(idsOf(pages), big.ids);
    assert.ok(pages.every((p) => p.outcomes === 0 && p.total === big.total));
    assert.equal(refused, pages.length, 'each page first asked with its page');
    assert.equal(asked, 2 * pages.length, 'then once more without it');
  });
});
