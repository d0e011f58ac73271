// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StateReader } from '../../contracts/index.js';
import { didFromSigningKey, generateSigningKeyPair, toBase64Url } from '../../crypto/index.js';
import { StateKey } from '../../ledger/index.js';
import type { PartyRecord } from '../../ledger/types.js';
import { HttpError } from '../http/errors.js';
import { NODE_HEADERS, signNodeRequest } from './signing.js';
import { NodeRequestVerifier, NonceWindow } from './verify.js';

const ORG = didFromSigningKey(generateSigningKeyPair().publicKey);

/** A ledger state with one member organization and the given node parties. */
function stateWith(parties: PartyRecord[]): StateReader {
  const rows = new Map<string, unknown>([[StateKey.org(ORG), { did: ORG, status: 'active' }]]);
  for (const p of parties) rows.set(StateKey.party(p.did), p);
  return {
    get: <T>(key: string) => rows.get(key) as T | undefined,
    range: <T>(prefix: string) =>
      [...rows].filter(([k]) => k.startsWith(prefix)).map(([k, v]): [string, T] => [k, v as T]),
  };
}

function nodeParty(status: PartyRecord['status'] = 'active') {
  const keys = generateSigningKeyPair();
  const did = didFromSigningKey(keys.publicKey);
  const party: PartyRecord = {
    did,
    kind: 'node',
    signingKey: toBase64Url(keys.publicKey),
    encryptionKey: toBase64Url(new Uint8Array(32)),
    status,
    org: ORG,
    url: 'http://127.0.0.1:1',
    registeredAt: 0,
  };
  return { keys, did, party };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    assert.ok(error instanceof HttpError, String(error));
    assert.equal(error.statusCode, 401);
    return error.code;
  }
}

/** The receiving node's DID. */
const SELF = didFromSigningKey(generateSigningKeyPair().publicKey);

describe('signed node requests', () => {
  const body = '{"patient":"did:key:z"}';
  const path = '/node/v1/records/query';

  test('a request signed by an active node verifies once; its replay is refused', async () => {
    const { keys, did, party } = nodeParty();
    const verifier = new NodeRequestVerifier(stateWith([party]), { audience: SELF });
    const headers = signNodeRequest({ method: 'POST', path, body, node: did, secretKey: keys.secretKey, audience: SELF });
    const node = await verifier.verify({ method: 'POST', path, body: Buffer.from(body), headers });
    assert.deepEqual(node, { did, org: ORG });
    assert.equal(
      await codeOf(verifier.verify({ method: 'POST', path, body, headers })),
      'NODE_REQUEST_REPLAYED',
    );
  });

  test('what the signature covers: method, path with query, body, time, nonce, node, audience', async () => {
    const { keys, did, party } = nodeParty();
    const verifier = new NodeRequestVerifier(stateWith([party]), { audience: SELF });
    const sign = () => signNodeRequest({ method: 'POST', path, body, node: did, secretKey: keys.secretKey, audience: SELF });
    const cases: Array<
      [string, (h: Record<string, string>) => Parameters<NodeRequestVerifier['verify']>[0]]
    > = [
      ['method', (h) => ({ method: 'PUT', path, body, headers: h })],
      ['path', (h) => ({ method: 'POST', path: `${path}?x=1`, body, headers: h })],
      ['body', (h) => ({ method: 'POST', path, body: `${body} `, headers: h })],
      [
        'time',
        (h) => ({
          method: 'POST',
          path,
          body,
          headers: { ...h, [NODE_HEADERS.time]: String(Number(h[NODE_HEADERS.time]) - 1) },
        }),
      ],
      [
        'nonce',
        (h) => ({ method: 'POST', path, body, headers: { ...h, [NODE_HEADERS.nonce]: 'A'.repeat(22) } }),
      ],
    ];
    // The audience header is checked against this node's DID before the signature: a request
    // whose header is rewritten to this node still carries a signature over the other audience.
    const other = didFromSigningKey(generateSigningKeyPair().publicKey);
    const forOther = signNodeRequest({ method: 'POST', path, body, node: did, secretKey: keys.secretKey, audience: other });
    assert.equal(await codeOf(verifier.verify({ method: 'POST', path, body, headers: forOther })), 'NODE_WRONG_AUDIENCE');
    const relabelled = { ...forOther, [NODE_HEADERS.audience]: SELF };
    assert.equal(await codeOf(verifier.verify({ method: 'POST', path, body, headers: relabelled })), 'NODE_SIGNATURE_INVALID');
    for (const [what, tamper] of cases) {
      const request = tamper(sign());
      assert.equal(await codeOf(verifier.verify(request)), 'NODE_SIGNATURE_INVALID', what);
    }
  });

  test('unknown, deactivated and non-node parties; stale times; missing headers', async () => {
    const active = nodeParty();
    const gone = nodeParty('deactivated');
    const verifier = new NodeRequestVerifier(stateWith([active.party, gone.party]), { audience: SELF });
    const stranger = generateSigningKeyPair();
    const as = (did: string, secretKey: Uint8Array, time?: number) => ({
      method: 'POST',
      path,
      body,
      headers: signNodeRequest({
        method: 'POST',
        path,
        body,
        node: did,
        secretKey,
        audience: SELF,
        ...(time === undefined ? {} : { time }),
      }),
    });
    const strangerDid = didFromSigningKey(stranger.publicKey);
    assert.equal(await codeOf(verifier.verify(as(strangerDid, stranger.secretKey))), 'NODE_UNKNOWN');
    assert.equal(await codeOf(verifier.verify(as(gone.did, gone.keys.secretKey))), 'NODE_UNKNOWN');
    assert.equal(
      await codeOf(verifier.verify(as(active.did, active.keys.secretKey, Date.now() - 61_000))),
      'NODE_REQUEST_STALE',
    );
    assert.equal(
      await codeOf(verifier.verify(as(active.did, active.keys.secretKey, Date.now() + 61_000))),
      'NODE_REQUEST_STALE',
    );
    const ok = as(active.did, active.keys.secretKey);
    for (const name of Object.values(NODE_HEADERS)) {
      const headers: Record<string, string | undefined> = { ...ok.headers, [name]: undefined };
      assert.equal(await codeOf(verifier.verify({ ...ok, headers })), 'NODE_AUTH_MISSING', name);
    }
    // A forged request does not spend the real one's nonce.
    const forged = {
      ...ok,
      headers: { ...ok.headers, [NODE_HEADERS.signature]: toBase64Url(new Uint8Array(64)) },
    };
    assert.equal(await codeOf(verifier.verify(forged)), 'NODE_SIGNATURE_INVALID');
    assert.equal(await codeOf(verifier.verify(ok)), 'OK');
  });
});

describe('NonceWindow', () => {
  test('forgets nonces after their time and holds at most `max`', () => {
    const window = new NonceWindow(1000, 2);
    assert.equal(window.remember('n', 'a', 0), 'new');
    assert.equal(window.remember('n', 'a', 500), 'replayed');
    assert.equal(window.remember('m', 'a', 500), 'new', 'nonces are per node');
    assert.equal(window.remember('n', 'b', 600), 'full');
    assert.equal(window.remember('n', 'b', 1000), 'new', 'the first expired and was dropped');
    assert.equal(window.remember('n', 'c', 1001), 'full');
    assert.equal(window.remember('n', 'a', 1600), 'new', 'the replay window of "a" is over');
    assert.equal(window.size, 2);
  });

  test('one node holds at most `maxPerNode` nonces; the others keep theirs', () => {
    const window = new NonceWindow(1000, 10, 2);
    assert.equal(window.remember('n', 'a', 0), 'new');
    assert.equal(window.remember('n', 'b', 0), 'new');
    assert.equal(window.remember('n', 'c', 0), 'node-full');
    assert.equal(window.remember('m', 'a', 0), 'new');
    assert.equal(window.remember('n', 'c', 1000), 'new', 'expired nonces give the quota back');
  });
});
