/**
 * The explorer's "Nodes" panel reads `GET /ledger/status` (web/src/lib/network.ts): a one-node
 * network says so; other nodes come with their attested height and agreement; a diverged peer and
 * a diverged, halted node are told apart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerAgreement, StatusResponse } from '../../src/wire/index.js';
import { AGREEMENT_LABEL, networkView, shortHash, summaryWords } from '../../web/src/lib/network.js';

const HEAD = 'ab'.repeat(32);

function status(network?: StatusResponse['network']): StatusResponse {
  return {
    chainId: 'roam-test',
    genesisHash: '00'.repeat(32),
    height: 42,
    headHash: HEAD,
    stateRoot: 'cd'.repeat(32),
    headTime: 1_700_000_000_000,
    nodeDid: 'did:key:z6MkSelf',
    org: { did: 'did:key:z6MkOrgEu', name: 'Hospital EU' },
    region: 'eu',
    url: 'http://eu.example:8080',
    ordering: network ? 'jetstream' : 'local',
    version: '0.1.0',
    ...(network ? { network } : {}),
  };
}

function peer(
  name: string,
  region: string,
  agreement: PeerAgreement['agreement'],
  height?: number,
): PeerAgreement {
  return {
    node: `did:key:z6Mk${name}`,
    org: `did:key:z6MkOrg${name}`,
    orgName: name,
    region,
    url: `http://${region}.example:8080`,
    agreement,
    ...(height === undefined
      ? {}
      : {
          comparedAt: height,
          latest: {
            v: 1 as const,
            chainId: 'roam-test',
            node: `did:key:z6Mk${name}`,
            height,
            hash: HEAD,
            stateRoot: 'cd'.repeat(32),
            time: 1_700_000_000_000,
            sig: 'sig',
            receivedAt: 1_700_000_000_500,
          },
        }),
  };
}

describe('explorer: the network nodes', () => {
  it('says plainly that a node without a network is alone', () => {
    const view = networkView(status());
    assert.deepEqual(view.state, { kind: 'single' });
    assert.equal(view.rows.length, 1);
    const [self] = view.rows;
    assert.equal(self!.self, true);
    assert.equal(self!.height, 42);
    assert.equal(self!.headShort, shortHash(HEAD));
    assert.equal(self!.headShort, `${HEAD.slice(0, 16)}…`);
    assert.equal(self!.agreement, undefined);
    assert.match(summaryWords(view.state), /^This network has one node/);
    // A network of one node (no peers) is still one node.
    assert.deepEqual(networkView(status({ peers: [], diverged: false })).state, { kind: 'single' });
  });

  it('lists the other nodes with their attested height and agreement', () => {
    const view = networkView(
      status({
        peers: [
          peer('Clinic US', 'us', 'agrees', 42),
          peer('Lab AP', 'ap', 'pending'),
          peer('GP UK', 'uk', 'agrees', 40),
        ],
        diverged: false,
      }),
    );
    assert.deepEqual(view.state, { kind: 'ok', others: 3, agreeing: 2, diverged: 0, waiting: 1 });
    assert.deepEqual(
      view.rows.map((r) => [
        r.orgName,
        r.region,
        r.height,
        r.agreement && AGREEMENT_LABEL[r.agreement],
        r.behind,
      ]),
      [
        ['Hospital EU', 'eu', 42, undefined, undefined],
        ['Clinic US', 'us', 42, 'in agreement', undefined],
        ['Lab AP', 'ap', undefined, 'waiting', undefined],
        ['GP UK', 'uk', 40, 'in agreement', 2],
      ],
    );
    assert.equal(view.rows[1]!.url, 'http://us.example:8080');
    assert.equal(view.rows[1]!.explain, 'Same block and state as this node at height 42.');
    assert.equal(
      summaryWords(view.state),
      '4 nodes: this one and 3 others. 2 in agreement, 1 waiting for an attestation.',
    );
    const allAgree = networkView(status({ peers: [peer('Clinic US', 'us', 'agrees', 42)], diverged: false }));
    assert.equal(
      summaryWords(allAgree.state),
      "2 nodes: this one and 1 other. All agree with this node's blocks.",
    );
  });

  it('names the other nodes whose blocks differ', () => {
    const view = networkView(
      status({
        peers: [peer('Clinic US', 'us', 'diverged', 41), peer('GP UK', 'uk', 'agrees', 42)],
        diverged: false,
      }),
    );
    assert.deepEqual(view.state, {
      kind: 'peers-diverged',
      names: ['Clinic US (us)'],
      others: 2,
      agreeing: 1,
      diverged: 1,
      waiting: 0,
    });
    assert.equal(AGREEMENT_LABEL[view.rows[1]!.agreement!], 'diverged');
    assert.equal(
      summaryWords(view.state),
      "3 nodes: this one and 2 others. 1 in agreement, 1 diverged. Different blocks than this node's: Clinic US (us).",
    );
  });

  it('warns when this node diverged and halted', () => {
    const halted = "at height 41 this node's block aa differs from the block bb of 2 of 3 nodes";
    const view = networkView(
      status({
        peers: [peer('Clinic US', 'us', 'diverged', 41), peer('GP UK', 'uk', 'diverged', 41)],
        diverged: true,
        halted,
      }),
    );
    assert.deepEqual(view.state, {
      kind: 'self-diverged',
      halted,
      others: 2,
      agreeing: 0,
      diverged: 2,
      waiting: 0,
    });
    assert.equal(summaryWords(view.state), '3 nodes: this one and 2 others. 2 diverged.');
    assert.equal(networkView(status({ peers: [], diverged: true })).state.kind, 'self-diverged');
  });
});
