/**
 * Finding 4 of issue 11: node HTTP was clear text, so FHIR answers (decrypted health data) and
 * bearer tokens crossed the wire unencrypted. `roam start` now serves HTTPS only when node.json
 * has `tls` (or `--tls-cert/--tls-key` are given), with HSTS on every answer; a client that
 * speaks plain HTTP to it gets no HTTP answer at all. Real nodes on 127.0.0.1 with certificates
 * from the network PKI (src/network/pki.ts).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { startNode, type RunningNode } from '../../src/cli/start.js';
import { createCertificateAuthority, issueCertificate, type CertificateFiles } from '../../src/network/pki.js';
import { DataFiles, initNetwork } from '../../src/node/index.js';
import { startHttp } from '../../src/node/http/index.js';
import { openTestNode, type TestNode } from '../http/fixture.js';

const TOKEN = 'eyJhbGciOiJFZERTQSJ9.c2VjcmV0LXRva2VuLW5ldmVyLWluLWNsZWFy.c2ln';

/** Sends `text` on a plain TCP connection to `port` and collects everything that comes back. */
function rawExchange(port: number, text: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(text));
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** A new one-node network in a temp folder, announced at an https: URL, with certificates in DATA/tls. */
async function initHttpsNode(ca: CertificateFiles, publicUrl = 'https://127.0.0.1:8443'): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'roam-https-'));
  await initNetwork({
    dataDir,
    orgName: 'Clinic over TLS',
    region: 'eu',
    adminPassphrase: 'test passphrase 1234',
    host: '127.0.0.1',
    port: 0,
    publicUrl,
    walletKdf: { N: 32768, r: 8, p: 1 },
  });
  const node = await issueCertificate({ authority: ca, commonName: 'eu node', hosts: ['127.0.0.1', 'localhost'], use: 'server' });
  mkdirSync(join(dataDir, 'tls'));
  writeFileSync(join(dataDir, 'tls', 'node.crt'), node.certPem);
  writeFileSync(join(dataDir, 'tls', 'node.key'), node.keyPem, { mode: 0o600 });
  writeFileSync(join(dataDir, 'tls', 'ca.crt'), ca.certPem);
  return dataDir;
}

function withTlsConfig(dataDir: string): void {
  const config = JSON.parse(readFileSync(DataFiles.config(dataDir), 'utf8')) as Record<string, unknown>;
  config.tls = { certFile: 'tls/node.crt', keyFile: 'tls/node.key', caFile: 'tls/ca.crt' };
  writeFileSync(DataFiles.config(dataDir), JSON.stringify(config, null, 2));
}

describe('nodes over HTTPS', () => {
  let ca: CertificateFiles;
  let dataDir: string;
  let running: RunningNode;
  let trusting: Agent;

  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'Roam test network CA' });
    dataDir = await initHttpsNode(ca);
    withTlsConfig(dataDir);
    running = await startNode(dataDir, { port: 0 });
    trusting = new Agent({ connect: { ca: ca.certPem } });
  });
  after(async () => {
    await trusting?.close();
    await running?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('roam start with node.json tls serves HTTPS, with HSTS on answers and errors', async () => {
    assert.match(running.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const status = await request(`${running.url}/ledger/status`, { dispatcher: trusting });
    assert.equal(status.statusCode, 200);
    assert.equal(status.headers['strict-transport-security'], 'max-age=31536000');
    const body = (await status.body.json()) as { nodeDid: string };
    assert.equal(body.nodeDid, running.node.did);
    const missing = await request(`${running.url}/no/such/route`, { dispatcher: trusting });
    await missing.body.dump();
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers['strict-transport-security'], 'max-age=31536000');
  });

  test('plain HTTP to the HTTPS node gets no HTTP answer: a bearer token sent in clear is never served', async () => {
    const port = Number(new URL(running.url).port);
    const answer = await rawExchange(
      port,
      `GET /fhir/R4/Patient HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
    );
    assert.ok(!answer.toString('latin1').startsWith('HTTP/'), `no HTTP answer, got ${JSON.stringify(answer.toString('latin1').slice(0, 40))}`);
    assert.ok(!answer.toString('latin1').includes(TOKEN));
  });

  test('a client that does not trust the network CA cannot talk to the node', async () => {
    await assert.rejects(request(`${running.url}/ledger/status`), /self[- ]signed|unable to verify|certificate/i);
  });

  test('--tls-cert/--tls-key flags serve HTTPS without tls in node.json; one without the other, or an http: publicUrl, is refused', async () => {
    const flagsDir = await initHttpsNode(ca);
    const httpUrlDir = await initHttpsNode(ca, 'http://127.0.0.1:8080');
    const tls = { certFile: join(flagsDir, 'tls', 'node.crt'), keyFile: join(flagsDir, 'tls', 'node.key') };
    try {
      await assert.rejects(startNode(flagsDir, { port: 0, tls: { certFile: tls.certFile } }), { code: 'NODE_BAD_CONFIG' });
      await assert.rejects(startNode(httpUrlDir, { port: 0, tls }), { code: 'NODE_BAD_CONFIG' });
      const viaFlags = await startNode(flagsDir, { port: 0, tls });
      try {
        const status = await request(`${viaFlags.url}/ledger/status`, { dispatcher: trusting });
        await status.body.dump();
        assert.equal(status.statusCode, 200);
        assert.match(viaFlags.url, /^https:/);
      } finally {
        await viaFlags.stop();
      }
    } finally {
      rmSync(flagsDir, { recursive: true, force: true });
      rmSync(httpUrlDir, { recursive: true, force: true });
    }
  });
});

describe('a node on plain HTTP (the demo, loopback fixtures)', () => {
  let t: TestNode;
  before(async () => {
    t = await openTestNode();
  });
  after(() => t.close());

  test('sends no HSTS header', async () => {
    const http = await startHttp(t.node, { host: '127.0.0.1', port: 0 });
    try {
      assert.match(http.url, /^http:/);
      const response = await fetch(`${http.url}/ledger/status`);
      await response.arrayBuffer();
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('strict-transport-security'), null);
    } finally {
      await http.close();
    }
  });
});
