/**
 * Finding 4 of issue 11, with real processes: `roam init` refuses an http: public URL beyond
 * loopback, `roam start --tls-cert/--tls-key` serves HTTPS only, and the `roam` CLI reaches it
 * when the network's CA is trusted through NODE_EXTRA_CA_CERTS (and not otherwise).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCertificateAuthority, issueCertificate } from '../../src/network/pki.js';
import { freePortRange } from '../support/nats-cluster.js';
import { roam, startCli, tempDir, type RunningCli } from '../cli/harness.js';

describe('roam start over HTTPS (processes)', () => {
  const { dir, cleanup } = tempDir('roam-https-cli-');
  const data = join(dir, 'node');
  const caFile = join(dir, 'ca.crt');
  let node: RunningCli | undefined;

  before(async () => {
    const port = await freePortRange(1);
    const init = await roam(['init', '--data', data, '--org', 'TLS Clinic', '--region', 'eu', '--port', String(port), '--public-url', `https://127.0.0.1:${port}`]);
    assert.equal(init.status, 0, init.stderr);
    const ca = await createCertificateAuthority({ commonName: 'Roam test network CA' });
    const cert = await issueCertificate({ authority: ca, commonName: 'eu node', hosts: ['127.0.0.1'], use: 'server' });
    mkdirSync(join(dir, 'tls'));
    writeFileSync(join(dir, 'tls', 'node.crt'), cert.certPem);
    writeFileSync(join(dir, 'tls', 'node.key'), cert.keyPem, { mode: 0o600 });
    writeFileSync(caFile, ca.certPem);
    node = await startCli(['start', '--data', data, '--tls-cert', join(dir, 'tls', 'node.crt'), '--tls-key', join(dir, 'tls', 'node.key')]);
  });

  after(async () => {
    await node?.stop('SIGKILL');
    cleanup();
  });

  it('roam init refuses an http: public URL for a host that is not loopback', async () => {
    const refused = await roam(['init', '--data', join(dir, 'other'), '--org', 'X', '--region', 'eu', '--public-url', 'http://clinic.example.org:8080']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /NODE_BAD_CONFIG: .*allowHttpNodeUrls/);
  });

  it('serves https; the CLI reaches it when NODE_EXTRA_CA_CERTS names the network CA, not otherwise', async () => {
    assert.match(node!.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const untrusted = await roam(['ledger', 'status', '--node', node!.url]);
    assert.equal(untrusted.status, 1);
    assert.match(untrusted.stderr, /UNABLE_TO_VERIFY|self[- ]signed|certificate/i);
    const trusted = await roam(['ledger', 'status', '--node', node!.url, '--json'], { env: { NODE_EXTRA_CA_CERTS: caFile } });
    assert.equal(trusted.status, 0, trusted.stderr);
    assert.equal((JSON.parse(trusted.stdout) as { region: string }).region, 'eu');
    const plain = await roam(['ledger', 'status', '--node', node!.url.replace('https:', 'http:')], { timeoutMs: 20_000 });
    assert.equal(plain.status, 1, 'plain HTTP gets no answer from the HTTPS node');
  });
});
