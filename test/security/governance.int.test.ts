// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * Issue #11, finding 1, on real processes (3 nats-server, 3 node processes, one organization per
 * region): one organization's admin registers extra nodes and has them attest a forged block
 * (again and again) on the network's attestation subject; the honest nodes keep committing and
 * report the forgers as diverged. Then the other two organizations suspend it by vote: its node's
 * signed requests are refused and it is no longer a peer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { readOrderingCredentials } from '../../src/node/config.js';
import { connectToNats } from '../../src/ordering/index.js';
import { signedTx } from '../../src/client/index.js';
import type { TxPayloads } from '../../src/contracts/index.js';
import { canonicalBytes, didFromSigningKey, generateEncryptionKeyPair, generateSigningKeyPair, sign, toBase64Url, type SigningKeyPair } from '../../src/crypto/index.js';
import type { TxType } from '../../src/ledger/index.js';
import { loadNodeConfig } from '../../src/node/index.js';
import { loadWallet } from '../../src/wallet/index.js';
import { PASSPHRASE, patientRegistration } from '../cli/harness.js';
import { eventually, startTestNetwork, type TestNetwork } from '../network/support.js';
import { readNodePassphrase } from '../../src/network/node-passphrase.js';
import { fetchAsMemberNode } from '../support/member-read.js';

const REGIONS = ['eu', 'us', 'ap'] as const;

describe('governance between organizations, on a real network', { timeout: 300_000 }, () => {
  let net: TestNetwork;
  let nats: NatsConnection;
  const node = (region: string) => net.file.nodes.find((n) => n.region === region)!;

  /** Signs `payload` with `region`'s admin wallet and commits it through that region's node; returns the result code. */
  const submitAsAdmin = async <T extends TxType>(region: string, type: T, payload: TxPayloads[T]): Promise<string> => {
    const admin = await loadWallet(node(region).adminWallet, PASSPHRASE);
    const tx = signedTx(admin, type, payload, { chainId: net.file.chainId });
    const response = await fetch(`${net.url(region)}/ledger/tx?wait=commit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(tx),
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await response.json()) as { code?: string; error?: { code?: string } };
    return body.code ?? body.error?.code ?? `HTTP ${response.status}`;
  };

  /** An attestation of a block that no node committed, signed with `key` as node `did`. */
  const forged = (did: string, key: SigningKeyPair, height: number): string => {
    const body = { v: 1 as const, chainId: net.file.chainId, node: did, height, hash: 'f'.repeat(64), stateRoot: 'e'.repeat(64), time: Date.now() };
    return JSON.stringify({ ...body, sig: toBase64Url(sign(key.secretKey, canonicalBytes(body))) });
  };

  before(async () => {
    net = await startTestNetwork(REGIONS);
    // The forging organization publishes with the NATS credential the network gave it.
    const ap = (await loadNodeConfig(node('ap').dataDir, { nodePassphrase: readNodePassphrase(net.dir) }));
    nats = await connectToNats({ servers: net.file.nats.map((n) => n.url), name: 'forger', credentials: readOrderingCredentials(ap)! });
  });

  after(async () => {
    await nats?.close();
    await net?.close();
  });

  it("one organization's extra nodes are refused past the cap, and its forged, repeated attestations halt no honest node", async () => {
    const extras = Array.from({ length: 3 }, () => generateSigningKeyPair());
    const codes: string[] = [];
    for (const [i, key] of extras.entries()) {
      codes.push(
        await submitAsAdmin('ap', 'gov.node.register', {
          node: didFromSigningKey(key.publicKey),
          url: `https://ap-extra-${i}.invalid`,
          region: 'ap',
          encryptionKey: toBase64Url(generateEncryptionKeyPair().publicKey),
        }),
      );
    }
    // The cap (default 2 nodes per organization) leaves room for one.
    assert.deepEqual(codes, ['OK', 'NODE_LIMIT_REACHED', 'NODE_LIMIT_REACHED']);

    const height = (await net.status('eu')).height;
    await eventually(() => net.status('us'), (s) => s.height >= height);
    // Every key the organization holds forges: its registered extras and its own node, three times over.
    const apNode = (await loadNodeConfig(node('ap').dataDir, { nodePassphrase: readNodePassphrase(net.dir) })).keys;
    const forgers: Array<[string, SigningKeyPair]> = [
      ...extras.map((key): [string, SigningKeyPair] => [didFromSigningKey(key.publicKey), key]),
      [apNode.nodeDid, apNode.node],
    ];
    const subject = `roam.${net.file.chainId}.attest`;
    for (let round = 0; round < 3; round++) for (const [did, key] of forgers) nats.publish(subject, forged(did, key, height));
    await nats.flush();

    const eu = await eventually(
      () => net.status('eu'),
      (s) => s.network?.peers.some((p) => p.node === forgers[0]![0] && p.agreement === 'diverged') === true,
    );
    assert.equal(eu.network?.diverged, false);
    assert.equal((await net.status('us')).network?.diverged, false);
    // The honest nodes keep committing, and agree.
    const registration = patientRegistration(net.file.chainId).envelope;
    const committed = await fetch(`${net.url('us')}/ledger/tx?wait=commit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(registration), signal: AbortSignal.timeout(60_000) });
    assert.equal(((await committed.json()) as { code?: string }).code, 'OK');
    const head = await net.status('us');
    const euHead = await eventually(() => net.status('eu'), (s) => s.height === head.height);
    assert.equal(euHead.headHash, head.headHash);
  });

  it('a suspended organization: its node is refused by the others and is no longer their peer; reinstated, it is again', async () => {
    const ap = node('ap');
    const asAp = async () => (await fetchAsMemberNode(net.url('eu'), '/ledger/sync?from=1&limit=1', ap.dataDir, { nodePassphrase: readNodePassphrase(net.dir) })).status;
    assert.equal(await asAp(), 200);

    const proposalId = 'suspend-ap-0001';
    assert.equal(await submitAsAdmin('eu', 'gov.proposal.open', { proposalId, kind: 'org.suspend', org: ap.orgDid }), 'OK');
    assert.equal(await submitAsAdmin('ap', 'gov.org.vote', { proposalId, approve: false }), 'NOT_AUTHORIZED');
    assert.equal(await submitAsAdmin('us', 'gov.org.vote', { proposalId, approve: true }), 'OK');
    await eventually(() => net.status('eu'), (s) => s.network?.peers.every((p) => p.org !== ap.orgDid) === true);
    assert.equal(await asAp(), 401);

    const reinstate = 'reinstate-ap-0001';
    assert.equal(await submitAsAdmin('us', 'gov.proposal.open', { proposalId: reinstate, kind: 'org.reinstate', org: ap.orgDid }), 'OK');
    assert.equal(await submitAsAdmin('eu', 'gov.org.vote', { proposalId: reinstate, approve: true }), 'OK');
    assert.equal(await asAp(), 200);
  });
});
