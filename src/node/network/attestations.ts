import { canonicalBytes, fromBase64Url, sign, toBase64Url, verify, type SigningKeyPair } from '../../crypto/index.js';
import type { CommittedBlock, Ledger } from '../../ledger/index.js';
import { NodeError, NodeErrorCode } from '../errors.js';
import type { Agreement, Attestation, NetworkAgreement, PeerAgreement } from '../../wire/index.js';
import { activeNodes, memberOrgDids, type PeerNode } from './peers.js';
import { organizationVoices, outvotingValue } from './org-majority.js';

/** How the messages travel: NATS core subjects in a network (not JetStream: nothing to keep). */
export interface AttestationTransport {
  publish(data: string): void;
  subscribe(onMessage: (data: string) => void): () => void;
}

export interface AttestationMonitorOptions {
  readonly ledger: Ledger;
  readonly nodeDid: string;
  readonly nodeKey: SigningKeyPair;
  readonly transport: AttestationTransport;
  readonly log: (line: string) => void;
  /** Re-publishes the latest attestation this often, so peers that (re)join learn it (ms). */
  readonly heartbeatMs?: number;
  readonly clock?: () => number;
}

/** Heights of peer attestations remembered for comparison with blocks this node commits later. */
const REMEMBERED_HEIGHTS = 1024;

/**
 * Signs (height, block hash, state root) after every committed block and publishes it; collects
 * the other nodes' attestations (signatures checked against their keys on the ledger) and compares
 * them with this node's own blocks. A peer whose block differs is reported as diverged; when a
 * strict majority of the active member organizations agree on a block that differs from this
 * node's (one voice per organization, see org-majority.ts; this node's own organization's voice
 * is this node's block), this node is the one diverged: it halts its ledger (no further commits)
 * and says so. Nodes of suspended or expelled organizations are not heard at all.
 */
export class AttestationMonitor {
  private self: Attestation | undefined;
  private readonly latest = new Map<string, Attestation & { receivedAt: number }>();
  /** node → height → block hash + state root, for recent heights. */
  private readonly seen = new Map<string, Map<number, string>>();
  private readonly agreement = new Map<string, { agreement: Agreement; height: number }>();
  private halted: string | undefined;
  private unsubscribe: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly clock: () => number;
  private readonly onBlock = (block: CommittedBlock) => this.attest(block.header.height, block.hash, block.header.stateRoot);

  constructor(private readonly options: AttestationMonitorOptions) {
    this.clock = options.clock ?? Date.now;
  }

  start(): void {
    const { ledger, transport } = this.options;
    this.unsubscribe = transport.subscribe((data) => this.receive(data));
    ledger.on('block', this.onBlock);
    this.attest(ledger.height, ledger.headHash, ledger.stateRoot);
    this.heartbeat = setInterval(() => {
      if (this.self) transport.publish(JSON.stringify(this.self));
    }, this.options.heartbeatMs ?? 2_000);
    this.heartbeat.unref();
  }

  stop(): void {
    this.options.ledger.off('block', this.onBlock);
    this.unsubscribe?.();
    if (this.heartbeat) clearInterval(this.heartbeat);
  }

  status(): NetworkAgreement {
    const peers = activeNodes(this.options.ledger)
      .filter((node) => node.did !== this.options.nodeDid)
      .map((node) => this.peerStatus(node));
    return {
      ...(this.self ? { self: this.self } : {}),
      peers,
      diverged: this.halted !== undefined,
      ...(this.halted ? { halted: this.halted } : {}),
    };
  }

  private peerStatus(node: PeerNode): PeerAgreement {
    const latest = this.latest.get(node.did);
    const compared = this.agreement.get(node.did);
    return {
      node: node.did,
      org: node.org,
      orgName: node.orgName,
      region: node.region,
      url: node.url,
      ...(latest ? { latest } : {}),
      agreement: compared?.agreement ?? 'pending',
      ...(compared ? { comparedAt: compared.height } : {}),
    };
  }

  private attest(height: number, hash: string, stateRoot: string): void {
    const { ledger, nodeDid, nodeKey, transport } = this.options;
    const body = { v: 1 as const, chainId: ledger.chainId, node: nodeDid, height, hash, stateRoot, time: this.clock() };
    this.self = { ...body, sig: toBase64Url(sign(nodeKey.secretKey, canonicalBytes(body))) };
    this.remember(nodeDid, this.self);
    transport.publish(JSON.stringify(this.self));
    for (const peer of this.seen.keys()) if (peer !== nodeDid) this.compare(peer, height);
  }

  private receive(data: string): void {
    const attestation = this.parse(data);
    if (!attestation || attestation.node === this.options.nodeDid) return;
    const previous = this.latest.get(attestation.node);
    if (!previous || attestation.height >= previous.height) this.latest.set(attestation.node, { ...attestation, receivedAt: this.clock() });
    this.remember(attestation.node, attestation);
    if (attestation.height <= this.options.ledger.height) this.compare(attestation.node, attestation.height);
  }

  /** A well-formed attestation of this network, signed by an active node on the ledger; else undefined. */
  private parse(data: string): Attestation | undefined {
    let value: Attestation;
    try {
      value = JSON.parse(data) as Attestation;
    } catch {
      return undefined;
    }
    if (value?.v !== 1 || value.chainId !== this.options.ledger.chainId || typeof value.sig !== 'string') return undefined;
    if (!Number.isSafeInteger(value.height) || typeof value.hash !== 'string' || typeof value.stateRoot !== 'string') return undefined;
    const node = activeNodes(this.options.ledger).find((n) => n.did === value.node);
    if (!node) return undefined;
    const { sig, ...body } = value;
    try {
      if (!verify(fromBase64Url(node.signingKey), canonicalBytes(body), fromBase64Url(sig))) return undefined;
    } catch {
      return undefined;
    }
    return value;
  }

  private remember(node: string, attestation: Attestation): void {
    let heights = this.seen.get(node);
    if (!heights) this.seen.set(node, (heights = new Map<number, string>()));
    heights.set(attestation.height, `${attestation.hash} ${attestation.stateRoot}`);
    if (heights.size > REMEMBERED_HEIGHTS) heights.delete(heights.keys().next().value!);
  }

  /** Compares `peer`'s block at `height` with this node's, then checks whether this node is outvoted there. */
  private compare(peer: string, height: number): void {
    const theirs = this.seen.get(peer)?.get(height);
    const ours = this.ownAt(height);
    if (theirs === undefined || ours === undefined) return;
    const previous = this.agreement.get(peer);
    if (previous && previous.height > height) return;
    const agreement: Agreement = theirs === ours ? 'agrees' : 'diverged';
    if (agreement === 'diverged' && previous?.agreement !== 'diverged') {
      this.options.log(`DIVERGED: node ${peer} committed a different block at height ${height} (ours ${ours.split(' ')[0]}, theirs ${theirs.split(' ')[0]})`);
    }
    this.agreement.set(peer, { agreement, height });
    if (agreement === 'diverged') this.checkMinority(height, ours);
  }

  private ownAt(height: number): string | undefined {
    const remembered = this.seen.get(this.options.nodeDid)?.get(height);
    if (remembered !== undefined) return remembered;
    const block = this.options.ledger.store.getBlock(height);
    return block ? `${block.hash} ${(JSON.parse(block.header) as { stateRoot: string }).stateRoot}` : undefined;
  }

  private checkMinority(height: number, ours: string): void {
    if (this.halted) return;
    const { ledger, nodeDid } = this.options;
    const nodes = activeNodes(ledger);
    const ownOrg = nodes.find((node) => node.did === nodeDid)?.org;
    // The other nodes of this node's organization do not outvote it: its organization's voice is its own block.
    const voices = organizationVoices(
      nodes
        .filter((node) => node.org !== ownOrg)
        .map((node) => ({ org: node.org, value: this.seen.get(node.did)?.get(height) })),
    );
    if (ownOrg !== undefined) voices.set(ownOrg, ours);
    const members = memberOrgDids(ledger).length;
    const outvoted = outvotingValue(voices, ours, members);
    if (outvoted === undefined) return;
    this.halted = `at height ${height} this node's block ${ours.split(' ')[0]} differs from the block ${outvoted.value.split(' ')[0]} of ${outvoted.orgs} of ${members} member organizations`;
    this.options.log(`DIVERGED: this node is in the minority and stops committing: ${this.halted}. Restore its data from a healthy node (or resync) and restart it.`);
    ledger.halt(new NodeError(NodeErrorCode.DIVERGED, `this node diverged from the network ${this.halted}`));
  }
}
