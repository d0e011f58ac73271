/** `roam token`: signs in at a node with a wallet and prints the access token. */
import type { Command } from 'commander';
import { signIn } from '../client/auth.js';
import { nodeUrlOption, openWallet, parseDid, passphraseFileOption, subcommand } from './common.js';
import { emit, type OutputOptions } from './output.js';

interface TokenOptions extends OutputOptions {
  readonly wallet: string;
  readonly node: string;
  readonly nodeDid?: string;
  readonly passphraseFile?: string;
}

export function registerToken(program: Command): void {
  subcommand(
    program,
    'token',
    "sign in at a node with the wallet's key and print an access token (valid 15 minutes)",
  )
    .requiredOption('--wallet <file>', 'the wallet of a party registered on the ledger')
    .addOption(nodeUrlOption())
    .option('--node-did <did>', "refuse a challenge that is not for this node's DID", parseDid)
    .addOption(passphraseFileOption())
    .addHelpText(
      'after',
      `
Prints only the token, for use as: curl -H "Authorization: Bearer $(roam token --wallet w.json --node URL)" …
With --json, prints the node's whole answer: { access_token, token_type, expires_in, did, kind, roles, org }.`,
    )
    .action(async (options: TokenOptions) => {
      const wallet = await openWallet(options.wallet, options);
      const answer = await signIn(
        { baseUrl: options.node },
        wallet,
        options.nodeDid === undefined ? {} : { expectedNodeDid: options.nodeDid },
      );
      // Without --json, the token alone on stdout: nothing else to strip in scripts.
      emit(options, answer, () => [answer.access_token]);
    });
}
