/**
 * `roam org propose-suspend | propose-reinstate | propose-expel | propose-rotate-key` and
 * `roam org proposals`: proposals about a member organization or one of its nodes, voted on with
 * `roam org vote` like the admission of a new member (one vote per organization).
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type { ProposalOpenPayload, ProposalRecord, StandingKind } from '../contracts/index.js';
import { StateKey, TxType } from '../ledger/index.js';
import { nodeUrlOption, openWallet, parseDid, parseKey32, passphraseFileOption, subcommand, usage } from './common.js';
import { connect } from './connect.js';
import { withStore } from './ledger.js';
import { emit, fields, isoTime, table, type OutputOptions } from './output.js';

interface ProposeOptions extends OutputOptions {
  readonly wallet: string;
  readonly node: string;
  readonly passphraseFile?: string;
}

const STANDING_COMMANDS: ReadonlyArray<[name: string, kind: StandingKind, description: string]> = [
  ['propose-suspend', 'org.suspend', 'propose suspending a member organization: while suspended it is no member (its parties cannot act, grants to it are not honoured, its nodes are no peers)'],
  ['propose-reinstate', 'org.reinstate', 'propose reinstating a suspended organization'],
  ['propose-expel', 'org.expel', 'propose expelling a member organization for good (its nodes are deactivated)'],
];

export function registerGovernance(org: Command): void {
  for (const [name, kind, description] of STANDING_COMMANDS) {
    subcommand(org, name, `${description} (your organization votes yes)`)
      .requiredOption('--wallet <file>', 'an admin wallet of a member organization')
      .requiredOption('--org <did>', 'the organization concerned', parseDid)
      .addOption(nodeUrlOption())
      .addOption(passphraseFileOption())
      .action(async (options: ProposeOptions & { org: string }) => {
        await propose(options, { proposalId: randomUUID(), kind, org: options.org });
      });
  }

  subcommand(org, 'propose-rotate-key', "propose a new encryption key for an organization (--org), or new keys for a node (--node-did) (your organization votes yes)")
    .requiredOption('--wallet <file>', 'an admin wallet of a member organization')
    .option('--org <did>', 'the organization whose encryption key is replaced', parseDid)
    .option('--node-did <did>', 'the node whose keys are replaced (--node is the URL the proposal is sent to)', parseDid)
    .option('--signing-key <b64>', "the node's new Ed25519 public key, base64url (--node-did only)", parseKey32)
    .option('--encryption-key <b64>', 'the new X25519 public key, base64url', parseKey32)
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action(async (options: ProposeOptions & { org?: string; nodeDid?: string; signingKey?: string; encryptionKey?: string }) => {
      await propose(options, rotationPayload(options));
    });

  subcommand(org, 'proposals', "list governance proposals from a node's data folder (open ones unless --all)")
    .requiredOption('--data <dir>', "the node's data folder (opened read-only; the node may be running)")
    .option('--all', 'also list accepted and rejected proposals')
    .action(async (options: OutputOptions & { data: string; all?: boolean }) => {
      const proposals = await withStore(options.data, (store) =>
        store.rangeState(StateKey.proposal('')).map(([, value]) => JSON.parse(value) as ProposalRecord),
      );
      const listed = proposals.filter((p) => options.all === true || p.status === 'open');
      emit(options, { proposals: listed }, () =>
        listed.length === 0
          ? ['No proposals']
          : table(
              ['id', 'kind', 'concerns', 'status', 'yes', 'no', 'opened'],
              listed.map((p) => {
                const votes = Object.values(p.votes);
                return [p.id, p.kind, concernOf(p), p.status, String(votes.filter(Boolean).length), String(votes.filter((v) => !v).length), isoTime(p.openedAt)];
              }),
            ),
      );
    });
}

/** The payload of `propose-rotate-key`: an organization's key or a node's keys, not both. */
function rotationPayload(options: { org?: string; nodeDid?: string; signingKey?: string; encryptionKey?: string }): ProposalOpenPayload {
  const proposalId = randomUUID();
  if ((options.org === undefined) === (options.nodeDid === undefined)) throw usage('give exactly one of --org <did> or --node-did <did>');
  if (options.org !== undefined) {
    if (options.encryptionKey === undefined) throw usage('--org needs --encryption-key <b64>');
    if (options.signingKey !== undefined) throw usage('--signing-key is for a node (--node-did)');
    return { proposalId, kind: 'org.rotate-key', org: options.org, encryptionKey: options.encryptionKey };
  }
  if (options.signingKey === undefined && options.encryptionKey === undefined)
    throw usage('--node-did needs --signing-key <b64>, --encryption-key <b64> or both');
  return {
    proposalId,
    kind: 'node.rotate-key',
    node: options.nodeDid!,
    ...(options.signingKey === undefined ? {} : { signingKey: options.signingKey }),
    ...(options.encryptionKey === undefined ? {} : { encryptionKey: options.encryptionKey }),
  };
}

function concernOf(proposal: ProposalRecord): string {
  switch (proposal.kind) {
    case 'org.add':
      return `${proposal.org.name} (${proposal.org.did})`;
    case 'node.rotate-key':
      return proposal.node;
    case 'org.suspend':
    case 'org.reinstate':
    case 'org.expel':
    case 'org.rotate-key':
      return proposal.target;
  }
}

async function propose(options: ProposeOptions, payload: ProposalOpenPayload): Promise<void> {
  const admin = await openWallet(options.wallet, options);
  const committed = await connect(options.node).submit(admin, TxType.GovProposalOpen, payload);
  emit(options, { proposalId: payload.proposalId, kind: payload.kind, txId: committed.id, height: committed.height }, () => [
    `Proposed ${payload.kind}; your organization voted yes`,
    ...fields([
      ['proposal', payload.proposalId],
      ['transaction', committed.id],
    ]),
    'Other members vote with: roam org vote --proposal ' + payload.proposalId,
    'Open proposals: roam org proposals --data <dir>',
  ]);
}
