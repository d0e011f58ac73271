/**
 * Finding 6 of issue 11 (ledger side): node URLs were accepted with any scheme suffix, query,
 * fragment or userinfo, and `http:` for any host. Other nodes fetch these URLs as they stand,
 * with signed headers and patients' queries, so the ledger now accepts only
 * `https://host[:port][/path]`, and `http:` only for loopback hosts unless the network's genesis
 * allows it (`params.allowHttpNodeUrls`, the demo).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nodeUrlRefusal, validateGenesis } from '../../src/contracts/index.js';
import {
  expectCode,
  expectOk,
  founderOf,
  makeGenesis,
  makeOrg,
  makeWallet,
  TestLedger,
} from '../../src/contracts/testing.js';
import { ResultCode } from '../../src/ledger/index.js';

const ACCEPTED = [
  'https://node.example.org',
  'https://node.example.org:8443',
  'https://node.example.org/roam',
  'https://node.example.org:8443/roam/eu/',
  'https://10.0.0.7:8443',
  'https://[2001:db8::1]:8443',
  'http://127.0.0.1:8080',
  'http://127.12.0.1',
  'http://localhost:8080/x',
  'http://[::1]:8080',
];

const REFUSED_SHAPE = [
  'https://node.example.org?x=1',
  'https://node.example.org/?next=http://169.254.169.254',
  'https://node.example.org#frag',
  'https://user:pass@node.example.org',
  'https://node.example.org@169.254.169.254',
  'https://node.example.org:65536',
  'https://node.example.org:99999',
  'https://node.example.org/a b',
  'https://node.example.org/\\evil',
  'https://node..example.org',
  'HTTPS://node.example.org',
  'ftp://node.example.org',
  'https://',
];

const REFUSED_HTTP = ['http://node.example.org', 'http://10.0.0.7:8080', 'http://169.254.169.254', 'http://128.0.0.1'];

describe('node URL rules (contract)', () => {
  test('nodeUrlRefusal: https with host, port and path only; http for loopback hosts', () => {
    for (const url of ACCEPTED) assert.equal(nodeUrlRefusal(url, { allowHttp: false }), undefined, url);
    for (const url of REFUSED_SHAPE) {
      assert.match(nodeUrlRefusal(url, { allowHttp: true }) ?? '', /expected https:\/\/host/, url);
    }
    for (const url of REFUSED_HTTP) {
      assert.match(nodeUrlRefusal(url, { allowHttp: false }) ?? '', /allowHttpNodeUrls/, url);
      assert.equal(nodeUrlRefusal(url, { allowHttp: true }), undefined, url);
    }
  });

  test('gov.node.register refuses queries, fragments, userinfo and non-loopback http: INVALID_PAYLOAD naming payload.url', () => {
    const org = makeOrg('Org0');
    // Room for every accepted URL as a node of its own (the per-organization cap is not tested here).
    const ledger = new TestLedger(makeGenesis([org], { maxNodesPerOrg: ACCEPTED.length + 1 }));
    const register = (url: string) =>
      ledger.submitRaw(org.admin, 'gov.node.register', {
        node: makeWallet().did,
        url,
        region: 'eu',
        encryptionKey: org.org.encryptionKey,
      });
    for (const url of [...REFUSED_SHAPE, ...REFUSED_HTTP]) {
      const result = expectCode(register(url), ResultCode.INVALID_PAYLOAD);
      assert.match(result.message ?? '', /^"payload\.url"/, url);
    }
    for (const url of ACCEPTED) expectOk(register(url));
  });

  test('a network whose genesis sets allowHttpNodeUrls registers http: nodes on any host', () => {
    const org = makeOrg('Org0');
    const ledger = new TestLedger(makeGenesis([org], { allowHttpNodeUrls: true }));
    expectOk(
      ledger.submitRaw(org.admin, 'gov.node.register', {
        node: makeWallet().did,
        url: 'http://10.0.0.7:8080',
        region: 'eu',
        encryptionKey: org.org.encryptionKey,
      }),
    );
  });

  test("genesis founders' node URLs follow the same rules", () => {
    const org = makeOrg('Org0');
    const founder = founderOf(org);
    const withUrl = (url: string, params: { allowHttpNodeUrls?: boolean } = {}) => ({
      ...makeGenesis([org], params),
      founders: [{ ...founder, nodes: founder.nodes.map((n) => ({ ...n, url })) }],
    });
    assert.throws(() => validateGenesis(withUrl('https://node.example.org/?x=1')), /founders\[0\]\.nodes\[0\]\.url/);
    assert.throws(() => validateGenesis(withUrl('http://node.example.org')), /allowHttpNodeUrls/);
    assert.doesNotThrow(() => validateGenesis(withUrl('http://node.example.org', { allowHttpNodeUrls: true })));
    assert.doesNotThrow(() => validateGenesis(withUrl('http://127.0.0.1:8080')));
  });
});
