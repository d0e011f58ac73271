// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * Governance through the real CLI and node: a second organization is admitted, then members
 * propose and vote on a key rotation, a suspension and a reinstatement (`roam org propose-*`,
 * `roam org vote`, `roam org proposals`). The second organization's node is never started: every
 * transaction goes through the first organization's node.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateEncryptionKeyPair, toBase64Url } from '../../src/crypto/index.js';
import { roam, roamJson, startCli, tempDir, type RunningCli } from './harness.js';

interface Initialized {
  orgDid: string;
  adminWalletPath: string;
  joinRequestPath?: string;
}

interface Listed {
  proposals: Array<{ id: string; kind: string; status: string; target?: string; votes: Record<string, boolean> }>;
}

describe('roam org: proposals about members, by vote', () => {
  const { dir, cleanup } = tempDir();
  const dataA = join(dir, 'a');
  const dataB = join(dir, 'b');
  let node: RunningCli | undefined;
  let a: Initialized = { orgDid: '', adminWalletPath: '' };
  let b: Initialized = { orgDid: '', adminWalletPath: '' };

  const proposals = (all = false) =>
    roamJson<Listed>(['org', 'proposals', '--data', dataA, ...(all ? ['--all'] : [])]);
  const asAdmin = (who: Initialized, args: string[]) => ['org', ...args, '--wallet', who.adminWalletPath, '--node', node!.url];

  before(async () => {
    a = await roamJson<Initialized>(['init', '--data', dataA, '--org', 'Hospital A', '--region', 'eu', '--port', '0']);
    node = await startCli(['start', '--data', dataA, '--port', '0']);
    b = await roamJson<Initialized>([
      'init', '--data', dataB, '--org', 'Clinic B', '--region', 'eu', '--port', '0',
      '--join', join(dataA, 'genesis.json'), '--nats', 'nats://127.0.0.1:4222',
    ]);
    // One member: A's yes admits B at once.
    await roamJson(asAdmin(a, ['propose', '--request', b.joinRequestPath!]));
  });

  after(async () => {
    await node?.stop('SIGKILL');
    cleanup();
  });

  it('an organization key rotation stays open until a second member votes yes, and is listed meanwhile', async () => {
    const newKey = toBase64Url(generateEncryptionKeyPair().publicKey);
    const opened = await roamJson<{ proposalId: string; kind: string }>(
      asAdmin(a, ['propose-rotate-key', '--org', a.orgDid, '--encryption-key', newKey]),
    );
    assert.equal(opened.kind, 'org.rotate-key');
    const open = await proposals();
    assert.deepEqual(open.proposals.map((p) => [p.id, p.kind, p.status, p.target]), [[opened.proposalId, 'org.rotate-key', 'open', a.orgDid]]);
    await roamJson(asAdmin(b, ['vote', '--proposal', opened.proposalId]));
    assert.deepEqual((await proposals()).proposals, []);
    const all = await proposals(true);
    assert.equal(all.proposals.find((p) => p.id === opened.proposalId)?.status, 'accepted');
  });

  it('an organization does not propose its own suspension; the other member suspends and reinstates it', async () => {
    const own = await roam(asAdmin(b, ['propose-suspend', '--org', b.orgDid]));
    assert.equal(own.status, 1);
    assert.match(own.stderr, /^roam: NOT_AUTHORIZED: /);

    // B is not among the voters on its own suspension: A's yes is the whole vote.
    await roamJson(asAdmin(a, ['propose-suspend', '--org', b.orgDid]));
    const suspended = await roam(asAdmin(b, ['propose-rotate-key', '--org', b.orgDid, '--encryption-key', toBase64Url(generateEncryptionKeyPair().publicKey)]));
    assert.equal(suspended.status, 1);
    assert.match(suspended.stderr, /^roam: NOT_ORG_ADMIN: /);

    await roamJson(asAdmin(a, ['propose-reinstate', '--org', b.orgDid]));
    const kinds = (await proposals(true)).proposals.filter((p) => p.status === 'accepted').map((p) => p.kind);
    assert.ok(kinds.includes('org.suspend') && kinds.includes('org.reinstate'), kinds.join());
  });

  it('usage errors: one of --org or --node, and the keys each needs', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['propose-rotate-key'], /give exactly one of --org <did> or --node-did <did>/],
      [['propose-rotate-key', '--org', a.orgDid], /--org needs --encryption-key/],
      [['propose-rotate-key', '--node-did', a.orgDid], /--node-did needs --signing-key/],
    ];
    for (const [args, pattern] of cases) {
      const result = await roam(asAdmin(a, args));
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, pattern);
    }
  });
});
