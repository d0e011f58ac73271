// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * Issue #11, finding 1: one organization could halt the others. Attestations were counted per
 * node, so an organization with more nodes than the others (extra nodes registered by its own
 * admin alone) outvoted them with forged attestations and made an honest node halt as "the
 * minority". The majority is now counted per member organization. A real ledger (SQLite in
 * memory, real contracts) and the real AttestationMonitor; only the NATS subject is in memory.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { newParty, GENESIS_TIME, TEST_CHAIN_ID, type TestParty } from '../support/ledger-fixture.js';
import { createContractSuite } from '../../src/contracts/index.js';
import { canonicalBytes, sign, toBase64Url } from '../../src/crypto/index.js';
import { Ledger, type GenesisDocument } from '../../src/ledger/index.js';
import { AttestationMonitor, type AttestationTransport } from '../../src/node/network/attestations.js';
import { LedgerStore } from '../../src/store/index.js';

/** A NATS subject in memory: every published message reaches every subscriber, synchronously. */
class MemoryTransport implements AttestationTransport {
  private readonly listeners = new Set<(data: string) => void>();
  publish(data: string): void {
    for (const listener of this.listeners) listener(data);
  }
  subscribe(onMessage: (data: string) => void): () => void {
    this.listeners.add(onMessage);
    return () => this.listeners.delete(onMessage);
  }
}

interface Founder {
  readonly org: TestParty;
  readonly admin: TestParty;
  readonly nodes: TestParty[];
}

function founder(nodeCount: number): Founder {
  return { org: newParty(), admin: newParty(), nodes: Array.from({ length: nodeCount }, () => newParty()) };
}

/** Three organizations: A (the honest node under test), B (one node), C (four nodes). */
function genesisOf(founders: readonly Founder[]): GenesisDocument {
  return {
    format: 'roam-genesis',
    version: 1,
    chainId: TEST_CHAIN_ID,
    time: GENESIS_TIME,
    params: { txValidityMs: 600_000, txFutureSkewMs: 120_000, joinQuorum: 2 / 3, maxNodesPerOrg: 4 },
    founders: founders.map((f, i) => ({
      org: { did: f.org.did, name: `Org ${i}`, region: 'eu', encryptionKey: f.org.encryptionKey },
      admins: [{ did: f.admin.did, encryptionKey: f.admin.encryptionKey }],
      nodes: f.nodes.map((n, j) => ({ did: n.did, url: `https://n${i}-${j}.example.org`, region: 'eu', encryptionKey: n.encryptionKey })),
    })),
  };
}

/** An attestation of `height` signed by `node` with its real key, as a node publishes it. */
function attestation(node: TestParty, height: number, hash: string, stateRoot: string): string {
  const body = { v: 1 as const, chainId: TEST_CHAIN_ID, node: node.did, height, hash, stateRoot, time: Date.now() };
  return JSON.stringify({ ...body, sig: toBase64Url(sign(node.keys.secretKey, canonicalBytes(body))) });
}

interface World {
  readonly ledger: Ledger;
  readonly monitor: AttestationMonitor;
  readonly transport: MemoryTransport;
  readonly a: Founder;
  readonly b: Founder;
  readonly c: Founder;
}

const opened: World[] = [];
after(() => {
  for (const w of opened) {
    w.monitor.stop();
    w.ledger.store.close();
  }
});

function world(): World {
  const [a, b, c] = [founder(1), founder(1), founder(4)];
  const ledger = Ledger.open({ store: LedgerStore.open(':memory:'), contracts: createContractSuite(), genesis: genesisOf([a, b, c]) });
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

const FORGED_HASH = 'f'.repeat(64);
const FORGED_ROOT = 'e'.repeat(64);

describe('attestations: one voice per member organization', () => {
  test('one organization with more nodes than the others, attesting a forged block, does not halt an honest node', () => {
    const w = world();
    for (const node of w.c.nodes) w.transport.publish(attestation(node, w.ledger.height, FORGED_HASH, FORGED_ROOT));
    // Duplicates and re-sent attestations of the same nodes change nothing either.
    for (const node of w.c.nodes) w.transport.publish(attestation(node, w.ledger.height, FORGED_HASH, FORGED_ROOT));
    assert.equal(haltReasonOf(w), undefined);
    assert.equal(w.monitor.status().diverged, false);
    const cAgreement = w.monitor.status().peers.filter((p) => p.org === w.c.org.did).map((p) => p.agreement);
    assert.deepEqual(cAgreement, ['diverged', 'diverged', 'diverged', 'diverged']);
  });

  test('two organizations out of three that agree on another block still halt a node in the minority', () => {
    const w = world();
    w.transport.publish(attestation(w.b.nodes[0]!, w.ledger.height, FORGED_HASH, FORGED_ROOT));
    assert.equal(haltReasonOf(w), undefined, 'one organization of three is not a majority');
    w.transport.publish(attestation(w.c.nodes[0]!, w.ledger.height, FORGED_HASH, FORGED_ROOT));
    assert.match(String(haltReasonOf(w)?.message), /diverged/);
    assert.equal(w.monitor.status().diverged, true);
  });

  test("an organization whose nodes are split evenly has no voice", () => {
    const w = world();
    const [c0, c1] = w.c.nodes;
    w.transport.publish(attestation(c1!, w.ledger.height, w.ledger.headHash, w.ledger.stateRoot));
    w.transport.publish(attestation(c0!, w.ledger.height, FORGED_HASH, FORGED_ROOT));
    w.transport.publish(attestation(w.b.nodes[0]!, w.ledger.height, FORGED_HASH, FORGED_ROOT));
    assert.equal(haltReasonOf(w), undefined, 'B alone voices the forged block');
  });
});
