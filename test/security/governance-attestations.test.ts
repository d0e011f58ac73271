// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * Issue #11, finding 1: one organization could halt the others. Attestations were counted per
 * node, so an organization with more nodes than the others (extra nodes registered by its own
 * admin alone) outvoted them with forged attestations and made an honest node halt as "the
 * minority". The majority is now counted per active member organization. A real ledger (SQLite
 * in memory, real contracts) and the real AttestationMonitor; only the NATS subject is in memory.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Ledger } from '../../src/ledger/index.js';
import { AttestationMonitor } from '../../src/node/network/attestations.js';
import { generateSigningKeyPair, toBase64Url } from '../../src/crypto/index.js';
import { MemoryTransport, attestation, commit, genesisOf, member, openNetworkLedger, type Member } from '../support/governance-network.js';

interface World {
  readonly ledger: Ledger;
  readonly monitor: AttestationMonitor;
  readonly transport: MemoryTransport;
  readonly a: Member;
  readonly b: Member;
  readonly c: Member;
}

const opened: World[] = [];
after(() => {
  for (const w of opened) {
    w.monitor.stop();
    w.ledger.store.close();
  }
});

/** Three organizations: A (runs the honest node under test), B (one node), C (four nodes). */
function world(): World {
  const [a, b, c] = [member(1), member(1), member(4)];
  const ledger = openNetworkLedger(genesisOf([a, b, c], { maxNodesPerOrg: 4 }));
  const transport = new MemoryTransport();
  const self = a.nodes[0]!;
  const monitor = new AttestationMonitor({ ledger, nodeDid: self.did, nodeKey: self.keys, transport, log: () => {}, heartbeatMs: 60_000 });
  monitor.start();
  const w = { ledger, monitor, transport, a, b, c };
  opened.push(w);
  return w;
}

/** Read through a call, so that an assertion on one reading does not narrow the next. */
function haltReasonOf(w: World): Error | undefined {
  return w.ledger.haltReason;
}

/** A block other than the one this ledger committed at its current height. */
function forgedHead(w: World) {
  return { height: w.ledger.height, hash: 'f'.repeat(64), stateRoot: 'e'.repeat(64) };
}

function trueHead(w: World) {
  return { height: w.ledger.height, hash: w.ledger.headHash, stateRoot: w.ledger.stateRoot };
}

describe('attestations: one voice per member organization', () => {
  test('one organization with more nodes than the others, attesting a forged block, does not halt an honest node', () => {
    const w = world();
    for (const node of w.c.nodes) w.transport.publish(attestation(node, forgedHead(w)));
    // Duplicates and re-sent attestations of the same nodes change nothing either.
    for (const node of w.c.nodes) w.transport.publish(attestation(node, forgedHead(w)));
    assert.equal(haltReasonOf(w), undefined);
    assert.equal(w.monitor.status().diverged, false);
    const cAgreement = w.monitor.status().peers.filter((p) => p.org === w.c.org.did).map((p) => p.agreement);
    assert.deepEqual(cAgreement, ['diverged', 'diverged', 'diverged', 'diverged']);
  });

  test('two organizations out of three that agree on another block still halt a node in the minority', () => {
    const w = world();
    w.transport.publish(attestation(w.b.nodes[0]!, forgedHead(w)));
    assert.equal(haltReasonOf(w), undefined, 'one organization of three is not a majority');
    w.transport.publish(attestation(w.c.nodes[0]!, forgedHead(w)));
    assert.match(String(haltReasonOf(w)?.message), /2 of 3 member organizations/);
    assert.equal(w.monitor.status().diverged, true);
  });

  test('an organization whose nodes are split evenly has no voice', () => {
    const w = world();
    const [c0, c1] = w.c.nodes;
    w.transport.publish(attestation(c1!, trueHead(w)));
    w.transport.publish(attestation(c0!, forgedHead(w)));
    w.transport.publish(attestation(w.b.nodes[0]!, forgedHead(w)));
    assert.equal(haltReasonOf(w), undefined, 'B alone voices the forged block');
  });

  test('attestations signed with a key that is not the node’s on the ledger are not heard', () => {
    const w = world();
    const stranger = generateSigningKeyPair();
    for (const node of [w.b.nodes[0]!, w.c.nodes[0]!]) w.transport.publish(attestation(node, forgedHead(w), stranger));
    assert.equal(haltReasonOf(w), undefined);
    assert.ok(w.monitor.status().peers.every((p) => p.latest === undefined));
  });

  test("a suspended organization's nodes are no peers and do not count: the two remaining members decide", async () => {
    const w = world();
    const proposalId = 'suspend-c-0001';
    assert.equal(await commit(w.ledger, w.a.admin, 'gov.proposal.open', { proposalId, kind: 'org.suspend', org: w.c.org.did }), 'OK');
    assert.equal(await commit(w.ledger, w.b.admin, 'gov.org.vote', { proposalId, approve: true }), 'OK');
    assert.ok(w.monitor.status().peers.every((p) => p.org !== w.c.org.did), 'C’s nodes are no longer listed as peers');
    for (const node of w.c.nodes) w.transport.publish(attestation(node, forgedHead(w)));
    w.transport.publish(attestation(w.b.nodes[0]!, forgedHead(w)));
    assert.equal(haltReasonOf(w), undefined, 'B is one of two members: no strict majority');
  });

  test('after a node key rotation by vote, attestations signed with the old key are not heard; the new key is', async () => {
    const w = world();
    const bNode = w.b.nodes[0]!;
    const replacement = generateSigningKeyPair();
    const proposalId = 'rotate-b-0001';
    const signingKey = toBase64Url(replacement.publicKey);
    assert.equal(await commit(w.ledger, w.a.admin, 'gov.proposal.open', { proposalId, kind: 'node.rotate-key', node: bNode.did, signingKey }), 'OK');
    assert.equal(await commit(w.ledger, w.b.admin, 'gov.org.vote', { proposalId, approve: true }), 'OK');
    w.transport.publish(attestation(w.c.nodes[0]!, forgedHead(w)));
    w.transport.publish(attestation(bNode, forgedHead(w)));
    assert.equal(haltReasonOf(w), undefined, 'B’s old key no longer speaks for its node');
    w.transport.publish(attestation(bNode, forgedHead(w), replacement));
    assert.match(String(haltReasonOf(w)?.message), /2 of 3 member organizations/);
  });
});
