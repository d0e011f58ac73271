import assert from 'node:assert/strict';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority, issueCertificate } from './pki.js';

/** GETs `/` of a local HTTPS server, trusting only `ca`; resolves the body or rejects with the TLS error. */
function get(port: number, ca: string, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', ca, servername, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('network PKI', () => {
  it('issues a server certificate that a TLS client trusting only the CA accepts, for the hosts named', async () => {
    const ca = await createCertificateAuthority({ commonName: 'Roam test CA' });
    const server = await issueCertificate({ authority: ca, commonName: 'eu node', hosts: ['127.0.0.1', 'localhost'], use: 'server' });
    const parsed = new X509Certificate(server.certPem);
    assert.ok(parsed.checkIssued(new X509Certificate(ca.certPem)));
    assert.equal(parsed.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(parsed.checkHost('localhost'), 'localhost');
    assert.equal(parsed.checkHost('example.org'), undefined);
    assert.ok(new X509Certificate(ca.certPem).ca);
    assert.ok(!parsed.ca);

    const https = createServer({ cert: server.certPem, key: server.keyPem }, (_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    const { port } = https.address() as AddressInfo;
    try {
      assert.equal(await get(port, ca.certPem), 'hello');
      const otherCa = await createCertificateAuthority({ commonName: 'Another CA' });
      await assert.rejects(get(port, otherCa.certPem), /self[- ]signed|unable to verify|UNABLE_TO_VERIFY/i);
      await assert.rejects(get(port, ca.certPem, 'example.org'), /altnames|does not match/i);
    } finally {
      https.close();
    }
  });

  it('refuses to issue without a host, or from an authority whose files do not parse', async () => {
    const ca = await createCertificateAuthority({ commonName: 'Roam test CA' });
    await assert.rejects(issueCertificate({ authority: ca, commonName: 'x', hosts: [], use: 'server' }), { code: 'BAD_NETWORK_OPTIONS' });
    await assert.rejects(issueCertificate({ authority: { certPem: ca.certPem, keyPem: 'nope' }, commonName: 'x', hosts: ['localhost'], use: 'server' }), { code: 'BAD_NETWORK_OPTIONS' });
  });
});
