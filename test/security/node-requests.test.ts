/**
 * Finding 5 of issue 11 (receiver side): a signed node request named no receiver, so a custodian
 * that received one could replay it to another custodian within the 60 s window; and one nonce
 * window served every requesting node, so one member sending fast could fill it and have every
 * other node's requests refused. Requests now sign the receiving node's DID (v2), and each
 * requesting node has its own nonce quota under the global cap. Three organizations' nodes on
 * 127.0.0.1 (real HTTP servers, one ordering hub).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StateReader } from '../../src/contracts/index.js';
import { NODE_HEADERS, NodeRequestVerifier, RECORDS_QUERY_PATH, signNodeRequest } from '../../src/node/roaming/index.js';
import { openNetwork, type RegionNode, type TestNetwork } from '../roaming/fixture.js';

describe('signed node requests are bound to their receiver and quota-limited per node', () => {
  let net: TestNetwork;
  let eu: RegionNode;
  let us: RegionNode;
  let ap: RegionNode;

  before(async () => {
    net = await openNetwork([
      { name: 'EU Hospital', region: 'eu' },
      { name: 'US Clinic', region: 'us' },
      { name: 'AP Clinic', region: 'ap' },
    ]);
    [eu, us, ap] = net.nodes as [RegionNode, RegionNode, RegionNode];
  });
  after(() => net.close());

  const body = JSON.stringify({
    patient: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
    onBehalfOf: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
    purpose: 'treatment',
    query: { kind: 'everything' },
  });

  async function post(to: RegionNode, headers: Record<string, string>): Promise<{ status: number; code?: string }> {
    const response = await fetch(`${to.url}${RECORDS_QUERY_PATH}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    const answer = (await response.json()) as { error?: { code?: string } };
    return { status: response.status, ...(answer.error?.code === undefined ? {} : { code: answer.error.code }) };
  }

  test('a request the us node signed for the eu custodian, replayed to the ap custodian within the window: 401', async () => {
    const forEu = signNodeRequest({
      method: 'POST',
      path: RECORDS_QUERY_PATH,
      body,
      node: us.node.did,
      secretKey: us.node.config.keys.node.secretKey,
      audience: eu.node.did,
    });
    const atEu = await post(eu, forEu);
    assert.notEqual(atEu.status, 401, `the eu custodian accepts the request signed for it (${atEu.code})`);
    // What the eu node (or anyone who saw the request) replays to another custodian, as is...
    assert.deepEqual(await post(ap, forEu), { status: 401, code: 'NODE_WRONG_AUDIENCE' });
    // ...or with the audience header rewritten: the signature covers the eu node's DID.
    assert.deepEqual(await post(ap, { ...forEu, [NODE_HEADERS.audience]: ap.node.did }), {
      status: 401,
      code: 'NODE_SIGNATURE_INVALID',
    });
  });

  test("one member node filling its nonce quota does not stop another node's requests", async () => {
    const state: StateReader = {
      get: <T>(key: string) => eu.node.ledger.getState<T>(key),
      range: <T>(prefix: string) => eu.node.ledger.rangeState<T>(prefix),
    };
    const verifier = new NodeRequestVerifier(state, { audience: eu.node.did, maxNonces: 60, maxNoncesPerNode: 20 });
    const from = (sender: RegionNode) => ({
      method: 'GET',
      path: '/ledger/sync?from=1',
      body: '',
      headers: signNodeRequest({
        method: 'GET',
        path: '/ledger/sync?from=1',
        body: '',
        node: sender.node.did,
        secretKey: sender.node.config.keys.node.secretKey,
        audience: eu.node.did,
      }),
    });
    const outcomes: string[] = [];
    for (let i = 0; i < 100; i++) {
      outcomes.push(await verifier.verify(from(us)).then(() => 'ok', (error: { code: string }) => error.code));
    }
    assert.equal(outcomes.filter((o) => o === 'ok').length, 20, 'the flooding node got its quota');
    assert.ok(outcomes.slice(20).every((o) => o === 'NODE_REQUEST_QUOTA'), outcomes.slice(20, 25).join());
    const other = await verifier.verify(from(ap));
    assert.equal(other.did, ap.node.did, "the ap node's request still verifies");
  });
});
