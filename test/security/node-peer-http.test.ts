/**
 * Findings 5 and 6 of issue 11 (requester side): node-to-node calls followed redirects with the
 * signed headers, read answers without content-length with no cap, trusted any URL the ledger
 * named (loopback, link-local metadata addresses included) and could not verify peers against
 * the network's own CA. Every call now goes through the node's `PeerHttpClient`; these tests
 * drive it as the roaming client does, against real HTTP(S) servers on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { StateReader } from '../../src/contracts/index.js';
import { didFromSigningKey, generateSigningKeyPair, toBase64Url } from '../../src/crypto/index.js';
import { StateKey } from '../../src/ledger/index.js';
import type { PartyRecord } from '../../src/ledger/types.js';
import { createCertificateAuthority, issueCertificate, type CertificateFiles } from '../../src/network/pki.js';
import { PeerHttpClient } from '../../src/node/network/peer-http.js';
import { catchUpFromPeers } from '../../src/node/network/peer-sync.js';
import type { PeerNode } from '../../src/node/network/peers.js';
import { MAX_ANSWER_BYTES, RoamingClient } from '../../src/node/roaming/client.js';
import { openTestNode } from '../http/fixture.js';
import type { RecordQueryRequest } from '../../src/node/roaming/index.js';

const requester = generateSigningKeyPair();
const REQUESTER_DID = didFromSigningKey(requester.publicKey);
const QUERY: RecordQueryRequest = {
  patient: didFromSigningKey(generateSigningKeyPair().publicKey),
  onBehalfOf: didFromSigningKey(generateSigningKeyPair().publicKey),
  purpose: 'treatment',
  query: { kind: 'everything' },
};

/** A ledger state with one member organization whose one node is registered at `url`. */
function custodianAt(url: string): { state: StateReader; org: string } {
  const org = didFromSigningKey(generateSigningKeyPair().publicKey);
  const nodeKeys = generateSigningKeyPair();
  const node = didFromSigningKey(nodeKeys.publicKey);
  const party: PartyRecord = {
    did: node,
    kind: 'node',
    signingKey: toBase64Url(nodeKeys.publicKey),
    encryptionKey: toBase64Url(new Uint8Array(32)),
    status: 'active',
    org,
    url,
    registeredAt: 0,
  };
  const rows = new Map<string, unknown>([
    [StateKey.org(org), { did: org, status: 'active' }],
    [StateKey.party(node), party],
    [StateKey.orgNode(org, node), node],
  ]);
  const state: StateReader = {
    get: <T>(key: string) => rows.get(key) as T | undefined,
    range: <T>(prefix: string) =>
      [...rows].filter(([k]) => k.startsWith(prefix)).map(([k, v]): [string, T] => [k, v as T]),
  };
  return { state, org };
}

function roamingClient(state: StateReader, http: PeerHttpClient, timeoutMs = 10_000): RoamingClient {
  return new RoamingClient({ nodeDid: REQUESTER_DID, secretKey: requester.secretKey, state, http, timeoutMs });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('node-to-node HTTP: redirects, answer caps, addresses, network CA', () => {
  let ca: CertificateFiles;
  let otherCa: CertificateFiles;
  const local = new PeerHttpClient({ allowPrivateAddresses: true });

  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'Roam test network CA' });
    otherCa = await createCertificateAuthority({ commonName: 'Someone else CA' });
  });
  after(() => local.close());

  test('a custodian answering 302 to another server: that server never receives the signed headers', async () => {
    const seenElsewhere: IncomingMessage['headers'][] = [];
    const elsewhere = createHttpServer((request, response) => {
      seenElsewhere.push(request.headers);
      response.end('{}');
    });
    const elsewherePort = await listen(elsewhere);
    const redirecting = createHttpServer((_request, response) => {
      response.writeHead(307, { location: `http://127.0.0.1:${elsewherePort}/node/v1/records/query` });
      response.end();
    });
    const port = await listen(redirecting);
    try {
      const { state, org } = custodianAt(`http://127.0.0.1:${port}`);
      const answer = await roamingClient(state, local).query(org, QUERY);
      assert.equal(answer.kind, 'unreachable');
      assert.match(answer.kind === 'unreachable' ? answer.message : '', /PEER_REDIRECT/);
      assert.deepEqual(seenElsewhere, [], 'the redirect target was never contacted');
    } finally {
      await Promise.all([stop(redirecting), stop(elsewhere)]);
    }
  });

  test('a custodian streaming a chunked answer past the cap is cut while it streams', async () => {
    let written = 0;
    let closedEarly = false;
    const total = MAX_ANSWER_BYTES + 8 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const flooding = createHttpServer((_request, response) => {
      // No content-length: chunked transfer encoding, so only counting the bytes can stop it.
      response.writeHead(200, { 'content-type': 'application/json' });
      response.on('close', () => (closedEarly = written < total));
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        response.end();
      };
      pump();
    });
    const port = await listen(flooding);
    try {
      const { state, org } = custodianAt(`http://127.0.0.1:${port}`);
      const answer = await roamingClient(state, local).query(org, QUERY);
      assert.equal(answer.kind, 'unreachable');
      assert.match(answer.kind === 'unreachable' ? answer.message : '', /PEER_ANSWER_TOO_LARGE/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(closedEarly, `the connection was cut before the end (${written} of ${total} bytes written)`);
    } finally {
      await stop(flooding);
    }
  });

  test('an endless chunked body is cut at the call cap; a slow one at the total timeout', async () => {
    const endless = createHttpServer((request, response) => {
      response.writeHead(200);
      const timer = setInterval(() => response.write(Buffer.alloc(64 * 1024)), request.url === '/slow' ? 200 : 1);
      response.on('close', () => clearInterval(timer));
    });
    const port = await listen(endless);
    try {
      await assert.rejects(local.request(`http://127.0.0.1:${port}/`, { method: 'GET', maxBytes: 1024 * 1024 }), {
        code: 'PEER_ANSWER_TOO_LARGE',
      });
      const started = Date.now();
      await assert.rejects(local.request(`http://127.0.0.1:${port}/slow`, { method: 'GET', timeoutMs: 500 }), {
        code: 'PEER_TIMEOUT',
      });
      assert.ok(Date.now() - started < 3_000);
    } finally {
      await stop(endless);
    }
  });

  test('a node URL at a private or loopback address is refused at connect time unless allowed', async () => {
    let reached = 0;
    const internal = createHttpServer((_request, response) => {
      reached += 1;
      response.end('{"records":[]}');
    });
    const port = await listen(internal);
    const strict = new PeerHttpClient();
    try {
      for (const url of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::ffff:127.0.0.1]:${port}`]) {
        const { state, org } = custodianAt(url);
        const answer = await roamingClient(state, strict).query(org, QUERY);
        assert.equal(answer.kind, 'unreachable', url);
        assert.match(answer.kind === 'unreachable' ? answer.message : '', /PEER_ADDRESS_REFUSED/, url);
      }
      for (const url of ['http://169.254.169.254/latest/meta-data', 'http://10.0.0.1:8080', 'http://[fd00::1]:8080', 'http://0.0.0.0:80']) {
        await assert.rejects(strict.request(url, { method: 'GET', timeoutMs: 2_000 }), { code: 'PEER_ADDRESS_REFUSED' }, url);
      }
      assert.equal(reached, 0, 'the internal server was never reached');
      // node.json `peers.allowPrivateAddresses` (a network on one machine) lets them through.
      const { state, org } = custodianAt(`http://127.0.0.1:${port}`);
      const allowed = await roamingClient(state, local).query(org, QUERY);
      assert.equal(allowed.kind, 'ok');
      assert.equal(reached, 1);
    } finally {
      await strict.close();
      await stop(internal);
    }
  });

  test("peers are verified against the network's CA: a certificate from another CA is refused", async () => {
    const hosts = ['127.0.0.1', 'localhost'];
    const trusted = await issueCertificate({ authority: ca, commonName: 'eu node', hosts, use: 'server' });
    const foreign = await issueCertificate({ authority: otherCa, commonName: 'impostor', hosts, use: 'server' });
    const serve = (files: CertificateFiles) =>
      createHttpsServer({ cert: files.certPem, key: files.keyPem }, (_request, response) => response.end('{"records":[]}'));
    const good = serve(trusted);
    const impostor = serve(foreign);
    const goodPort = await listen(good);
    const impostorPort = await listen(impostor);
    const client = new PeerHttpClient({ caPem: ca.certPem, allowPrivateAddresses: true });
    try {
      const ok = await client.request(`https://127.0.0.1:${goodPort}/`, { method: 'GET' });
      assert.equal(ok.status, 200);
      await assert.rejects(client.request(`https://127.0.0.1:${impostorPort}/`, { method: 'GET' }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'PEER_UNREACHABLE');
        assert.match(error.message, /self[- ]signed|unable to verify|UNABLE_TO_VERIFY|certificate/i);
        return true;
      });
      // The system roots are not used when the network CA is configured, nor the other way round.
      const systemRootsOnly = new PeerHttpClient({ allowPrivateAddresses: true });
      await assert.rejects(systemRootsOnly.request(`https://127.0.0.1:${goodPort}/`, { method: 'GET' }), { code: 'PEER_UNREACHABLE' });
      await systemRootsOnly.close();
    } finally {
      await client.close();
      await Promise.all([stop(good), stop(impostor)]);
    }
  });

  test('catch-up: a peer URL at an internal address is never contacted, a redirecting peer is not followed', async () => {
    const t = await openTestNode();
    const hits: string[] = [];
    const internal = createHttpServer((request, response) => {
      hits.push(request.url ?? '');
      response.end(JSON.stringify({ chainId: t.node.ledger.chainId, genesisHash: t.node.ledger.genesisHash, height: 99 }));
    });
    const internalPort = await listen(internal);
    const redirecting = createHttpServer((_request, response) => {
      response.writeHead(302, { location: `http://127.0.0.1:${internalPort}/ledger/status` });
      response.end();
    });
    const redirectPort = await listen(redirecting);
    const strict = new PeerHttpClient();
    const peer = (url: string): PeerNode => ({ did: t.node.did, org: t.node.orgDid, orgName: 'Peer', region: 'eu', url, signingKey: '' });
    const run = async (http: PeerHttpClient, url: string) => {
      const log: string[] = [];
      await catchUpFromPeers({
        ledger: t.node.ledger,
        peers: [peer(url)],
        signer: { did: t.node.did, secretKey: t.node.config.keys.node.secretKey },
        http,
        log: (line) => log.push(line),
      });
      return log.join('\n');
    };
    try {
      assert.match(await run(strict, `http://127.0.0.1:${internalPort}`), /PEER_ADDRESS_REFUSED/);
      assert.match(await run(local, `http://127.0.0.1:${redirectPort}`), /PEER_REDIRECT/);
      assert.deepEqual(hits, [], 'the internal server was never reached');
    } finally {
      await strict.close();
      await Promise.all([stop(internal), stop(redirecting)]);
      await t.close();
    }
  });
});
