/** `roam org add-practitioner`: an organization admin registers one of its practitioners. */
import { InvalidArgumentError, type Command } from 'commander';
import type { PractitionerRegisterPayload } from '../contracts/index.js';
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
  const org = program.command('org').description("manage your organization's practitioners");

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
