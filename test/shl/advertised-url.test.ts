/**
 * A node told to listen on a port of its own choosing (`--port 0`, as `roam demo --port 0` does)
 * hands out SMART Health Links under the URL it actually listens at: before, the manifest URL and
 * the viewer URL said `http://127.0.0.1:0`, a link no one could open (found by
 * test/e2e/share-link.int.test.ts against `roam demo --port 0`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signIn } from '../../src/client/auth.js';
import { ShareLinkClient } from '../../src/client/share-links.js';
import { startHttp, type RunningHttp } from '../../src/node/http/listen.js';
import { initNetwork } from '../../src/node/init.js';
import { RoamNode } from '../../src/node/roam-node.js';
import { parseShlink } from '../../src/shl/index.js';
import { registeredPatient } from '../auth/fixture.js';
import { useChain } from '../http/fixture.js';

describe('SMART Health Links of a node listening on port 0', () => {
  let dataDir: string;
  let node: RoamNode;
  let http: RunningHttp;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'roam-shl-port0-'));
    await initNetwork({
      dataDir,
      orgName: 'Clinic of Test',
      region: 'eu-west',
      adminPassphrase: 'correct horse battery staple',
      host: '127.0.0.1',
      port: 0,
      walletKdf: { N: 32768, r: 8, p: 1 },
    });
    node = await RoamNode.open({ dataDir, blockLimits: { timeoutMs: 5 } });
    useChain(node.ledger.chainId);
    http = await startHttp(node, { host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await http?.close();
    await node?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('names the port it listens at in the viewer URL and the manifest URL', async () => {
    assert.notEqual(new URL(http.url).port, '0');
    assert.equal(node.advertisedUrl(), http.url);
    const patient = await registeredPatient(node);
    const { access_token } = await signIn({ baseUrl: http.url }, patient);
    const created = await new ShareLinkClient({ baseUrl: http.url, accessToken: access_token }).create({
      document: { resourceType: 'Bundle', type: 'document', entry: [] },
    });
    assert.ok(created.link.startsWith(`${http.url}/shl#shlink:/`), created.link);
    assert.ok(parseShlink(created.link).url.startsWith(`${http.url}/shl/m/`));
    // The node's status says the same URL.
    const status = (await (await fetch(`${http.url}/ledger/status`)).json()) as { url: string };
    assert.equal(status.url, http.url);
  });
});
