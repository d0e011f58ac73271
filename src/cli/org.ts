/** `roam org add-practitioner`: an organization admin registers one of its practitioners. */
import { InvalidArgumentError, type Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NodeRegisterPayload, OrgProposePayload, OrgVotePayload, PractitionerRegisterPayload } from '../contracts/index.js';
import type { JoinRequest } from '../node/index.js';
import { PRACTITIONER_ROLES, TxType, type PractitionerRole } from '../ledger/index.js';
import {
  nodeUrlOption,
  openWallet,
  parseDid,
  parseKey32,
  parseList,
  passphraseFileOption,
  readWalletHeader,
  subcommand,
  usage,
} from './common.js';
import { connect } from './connect.js';
import { registerGovernance } from './org-governance.js';
import { emit, fields, type OutputOptions } from './output.js';

interface AddPractitionerOptions extends OutputOptions {
  readonly wallet: string;
  readonly practitioner?: string;
  readonly roles: PractitionerRole[];
  readonly node: string;
  readonly encryptionKey?: string;
  readonly practitionerWallet?: string;
  readonly passphraseFile?: string;
}

export function registerOrg(program: Command): void {
  const org = program.command('org').description("manage your organization: practitioners, nodes, and the network's membership by vote");
  registerMembership(org);
  registerGovernance(org);

  subcommand(
    org,
    'add-practitioner',
    'register a practitioner of your organization (signed by an org admin wallet)',
  )
    .requiredOption(
      '--wallet <file>',
      "an admin wallet of the organization (e.g. the data folder's admin.wallet.json)",
    )
    .option(
      '--practitioner <did>',
      "the practitioner's DID (default: the DID in --practitioner-wallet)",
      parseDid,
    )
    .requiredOption('--roles <roles>', `comma-separated roles: ${PRACTITIONER_ROLES.join(', ')}`, parseRoles)
    .addOption(nodeUrlOption())
    .option('--encryption-key <b64>', "the practitioner's X25519 public key, base64url", parseKey32)
    .option(
      '--practitioner-wallet <file>',
      "take the practitioner's DID and key from its wallet file's public header (no passphrase)",
    )
    .addOption(passphraseFileOption())
    .action(async (options: AddPractitionerOptions) => {
      const { did, encryptionKey } = await practitionerIdentity(options);
      const admin = await openWallet(options.wallet, options);
      const payload: PractitionerRegisterPayload = { practitioner: did, roles: options.roles, encryptionKey };
      const committed = await connect(options.node).submit(admin, TxType.PractitionerRegister, payload);
      emit(options, { did, roles: options.roles, txId: committed.id, height: committed.height }, () => [
        `Registered practitioner ${did} (${options.roles.join(', ')})`,
        ...fields([
          ['transaction', committed.id],
          ['block', String(committed.height)],
        ]),
      ]);
    });
}

async function practitionerIdentity(
  options: AddPractitionerOptions,
): Promise<{ did: string; encryptionKey: string }> {
  const header =
    options.practitionerWallet === undefined ? undefined : await readWalletHeader(options.practitionerWallet);
  const did = options.practitioner ?? header?.did;
  if (did === undefined) throw usage('give --practitioner <did> or --practitioner-wallet <file>');
  if (header && header.did !== did) {
    throw usage(
      `--practitioner ${did} differs from the DID in ${options.practitionerWallet} (${header.did})`,
    );
  }
  const encryptionKey = options.encryptionKey ?? header?.encryptionPublicKey;
  if (encryptionKey === undefined) {
    throw usage(
      "the practitioner's encryption key is needed: give --encryption-key <b64> or --practitioner-wallet <file>",
    );
  }
  return { did, encryptionKey };
}

function parseRoles(text: string): PractitionerRole[] {
  const roles = parseList(text);
  if (roles.length === 0) throw new InvalidArgumentError('expected at least one role');
  for (const role of roles) {
    if (!(PRACTITIONER_ROLES as readonly string[]).includes(role)) {
      throw new InvalidArgumentError(`unknown role "${role}"; expected ${PRACTITIONER_ROLES.join(', ')}`);
    }
  }
  if (new Set(roles).size !== roles.length) throw new InvalidArgumentError('each role at most once');
  return roles as PractitionerRole[];
}

interface MembershipOptions extends OutputOptions {
  readonly wallet: string;
  readonly node: string;
  readonly passphraseFile?: string;
}

/** `org propose`, `org vote`, `org add-node`: how a new organization and its node join a network. */
function registerMembership(org: Command): void {
  subcommand(org, 'propose', 'propose a new member organization from its join-request.json (your organization votes yes)')
    .requiredOption('--wallet <file>', 'an admin wallet of a member organization')
    .requiredOption('--request <file>', 'the join-request.json that `roam init --join` wrote')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action(async (options: MembershipOptions & { request: string }) => {
      const request = readJoinRequest(options.request);
      const admin = await openWallet(options.wallet, options);
      const payload: OrgProposePayload = { proposalId: randomUUID(), org: request.org, admin: request.admin };
      const committed = await connect(options.node).submit(admin, TxType.GovOrgPropose, payload);
      emit(options, { proposalId: payload.proposalId, txId: committed.id, height: committed.height }, () => [
        `Proposed ${request.org.name} (${request.org.region}) as a member; your organization voted yes`,
        ...fields([
          ['proposal', payload.proposalId],
          ['transaction', committed.id],
        ]),
        'Other members vote with: roam org vote --proposal ' + payload.proposalId,
      ]);
    });

  subcommand(org, 'vote', "cast your organization's vote on an open proposal (membership, standing or keys)")
    .requiredOption('--wallet <file>', 'an admin wallet of a member organization')
    .requiredOption('--proposal <id>', 'the proposal id')
    .option('--reject', 'vote no (default: yes)')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action(async (options: MembershipOptions & { proposal: string; reject?: boolean }) => {
      const admin = await openWallet(options.wallet, options);
      const payload: OrgVotePayload = { proposalId: options.proposal, approve: options.reject !== true };
      const committed = await connect(options.node).submit(admin, TxType.GovOrgVote, payload);
      emit(options, { proposalId: options.proposal, approve: payload.approve, txId: committed.id, height: committed.height }, () => [
        `Voted ${payload.approve ? 'yes' : 'no'} on proposal ${options.proposal}`,
      ]);
    });

  subcommand(org, 'add-node', "register your organization's node on the ledger (its URL and keys from join-request.json)")
    .requiredOption('--wallet <file>', 'an admin wallet of the organization that runs the node')
    .requiredOption('--request <file>', 'the join-request.json of the node')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action(async (options: MembershipOptions & { request: string }) => {
      const { node } = readJoinRequest(options.request);
      const admin = await openWallet(options.wallet, options);
      const payload: NodeRegisterPayload = { node: node.did, url: node.url, region: node.region, encryptionKey: node.encryptionKey };
      const committed = await connect(options.node).submit(admin, TxType.GovNodeRegister, payload);
      emit(options, { node: node.did, url: node.url, txId: committed.id, height: committed.height }, () => [
        `Registered node ${node.did} at ${node.url} (${node.region})`,
      ]);
    });
}

function readJoinRequest(path: string): JoinRequest {
  let request: JoinRequest;
  try {
    request = JSON.parse(readFileSync(path, 'utf8')) as JoinRequest;
  } catch (error) {
    throw usage(`cannot read the join request ${path}: ${(error as Error).message}`);
  }
  if (request?.format !== 'roam-join-request' || !request.org || !request.admin || !request.node) {
    throw usage(`${path} is not a join request (written by roam init --join)`);
  }
  return request;
}
