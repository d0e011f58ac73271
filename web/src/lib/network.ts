/**
 * The network's nodes as the explorer shows them, from `GET /ledger/status`: this node, every other
 * node with its latest attestation and whether its blocks agree with this node's, and the state of
 * the whole (one node, all in agreement, some diverged, this node diverged and halted). No DOM:
 * test/web/network.test.ts checks it in Node.
 */
import type { Agreement, StatusResponse } from '../../../src/wire/index.js';

/** The words for an agreement, on its badge. */
export const AGREEMENT_LABEL: Readonly<Record<Agreement, string>> = {
  agrees: 'in agreement',
  diverged: 'diverged',
  pending: 'waiting',
};

/** The badge's class: green, red, or neutral. */
export const AGREEMENT_TONE: Readonly<Record<Agreement, 'ok' | 'bad' | 'wait'>> = {
  agrees: 'ok',
  diverged: 'bad',
  pending: 'wait',
};

export interface NodeRow {
  /** The node's DID. */
  readonly node: string;
  readonly self: boolean;
  readonly orgName: string;
  readonly region: string;
  readonly url: string;
  /** This node: its ledger height; another node: the height of its latest attestation. */
  readonly height?: number;
  /** This node's head block hash, shortened. */
  readonly headShort?: string;
  /** When this node received the other node's latest attestation (ms). */
  readonly receivedAt?: number;
  /** How many blocks the other node's latest attestation is behind this node. */
  readonly behind?: number;
  /** Absent for this node. */
  readonly agreement?: Agreement;
  /** One sentence saying what the badge means. */
  readonly explain?: string;
}

/** How the other nodes compare with this one. */
export interface PeerCounts {
  readonly others: number;
  readonly agreeing: number;
  readonly diverged: number;
  readonly waiting: number;
}

export type NetworkState =
  /** No other node: nothing to compare blocks with. */
  | { readonly kind: 'single' }
  /** This node's blocks differ from a majority's; `halted` says why it stopped committing. */
  | ({ readonly kind: 'self-diverged'; readonly halted?: string } & PeerCounts)
  /** Other nodes, none of them with a different block than this node's (some may be waiting). */
  | ({ readonly kind: 'ok' } & PeerCounts)
  /** Some other nodes have a different block than this node; `names` says which. */
  | ({ readonly kind: 'peers-diverged'; readonly names: readonly string[] } & PeerCounts);

export interface NetworkView {
  readonly state: NetworkState;
  /** This node first, then the others in the order the node lists them. */
  readonly rows: readonly NodeRow[];
}

/** The head hash as the explorer prints it: 16 hex digits and an ellipsis. */
export function shortHash(hash: string): string {
  return hash.length > 16 ? `${hash.slice(0, 16)}…` : hash;
}

export function networkView(status: StatusResponse): NetworkView {
  const self: NodeRow = {
    node: status.nodeDid,
    self: true,
    orgName: status.org.name,
    region: status.region,
    url: status.url,
    height: status.height,
    headShort: shortHash(status.headHash),
  };
  const network = status.network;
  const peers = network?.peers ?? [];
  const rows: NodeRow[] = [
    self,
    ...peers.map((p): NodeRow => {
      const behind = p.latest ? status.height - p.latest.height : undefined;
      return {
        node: p.node,
        self: false,
        orgName: p.orgName,
        region: p.region,
        url: p.url,
        agreement: p.agreement,
        explain: explain(p.agreement, p.comparedAt),
        ...(p.latest ? { height: p.latest.height, receivedAt: p.latest.receivedAt } : {}),
        ...(behind !== undefined && behind > 0 ? { behind } : {}),
      };
    }),
  ];
  const counts: PeerCounts = {
    others: peers.length,
    agreeing: peers.filter((p) => p.agreement === 'agrees').length,
    diverged: peers.filter((p) => p.agreement === 'diverged').length,
    waiting: peers.filter((p) => p.agreement === 'pending').length,
  };
  if (network?.diverged || network?.halted) {
    return {
      rows,
      state: { kind: 'self-diverged', ...(network.halted ? { halted: network.halted } : {}), ...counts },
    };
  }
  if (peers.length === 0) return { rows, state: { kind: 'single' } };
  if (counts.diverged > 0) {
    const names = peers.filter((p) => p.agreement === 'diverged').map((p) => `${p.orgName} (${p.region})`);
    return { rows, state: { kind: 'peers-diverged', names, ...counts } };
  }
  return { rows, state: { kind: 'ok', ...counts } };
}

function explain(agreement: Agreement, comparedAt: number | undefined): string {
  const at = comparedAt === undefined ? '' : ` at height ${comparedAt}`;
  switch (agreement) {
    case 'agrees':
      return `Same block and state as this node${at}.`;
    case 'diverged':
      return `A different block or state than this node${at}.`;
    case 'pending':
      return 'No attestation compared with this node yet.';
  }
}

/** One or two sentences on the network as a whole, for the panel's summary line. */
export function summaryWords(state: NetworkState): string {
  if (state.kind === 'single') {
    return 'This network has one node: this one. There is no other node to compare its blocks with.';
  }
  const nodes = `${state.others + 1} nodes: this one and ${plural(state.others, 'other')}.`;
  if (state.kind === 'ok' && state.waiting === 0) return `${nodes} All agree with this node's blocks.`;
  const parts = [
    state.agreeing > 0 ? `${state.agreeing} in agreement` : '',
    state.diverged > 0 ? `${state.diverged} diverged` : '',
    state.waiting > 0 ? `${state.waiting} waiting for an attestation` : '',
  ].filter((part) => part !== '');
  const which =
    state.kind === 'peers-diverged' ? ` Different blocks than this node's: ${state.names.join(', ')}.` : '';
  return `${nodes} ${parts.join(', ')}.${which}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
