/** `roam wallet create | restore | show`: a party's keys, in a passphrase-encrypted file. */
import { Option, type Command } from 'commander';
import { toBase64Url } from '../crypto/index.js';
import { restoreWallet, type PartyRole } from '../wallet/index.js';
import {
  createAndSaveWallet,
  openWallet,
  passphraseFileOption,
  passphraseFrom,
  readWalletHeader,
  saveNewWallet,
  subcommand,
} from './common.js';
import { emit, fields, type OutputOptions } from './output.js';

const CREATABLE_ROLES = ['patient', 'practitioner', 'admin'] as const satisfies readonly PartyRole[];

interface CreateOptions extends OutputOptions {
  readonly out: string;
  readonly role: (typeof CREATABLE_ROLES)[number];
  readonly passphraseFile?: string;
}

interface RestoreOptions extends OutputOptions {
  readonly out: string;
  readonly passphraseFile?: string;
}

interface ShowOptions extends OutputOptions {
  readonly wallet: string;
  readonly passphraseFile?: string;
  readonly public?: boolean;
}

export function registerWallet(program: Command): void {
  const wallet = program.command('wallet').description('create, restore and inspect wallets');

  subcommand(wallet, 'create', 'create a new wallet file')
    .requiredOption('--out <file>', 'where to write the wallet (never overwritten)')
    .addOption(
      new Option('--role <role>', 'the party the wallet is for')
        .choices(CREATABLE_ROLES)
        .makeOptionMandatory(),
    )
    .addOption(passphraseFileOption())
    .addHelpText(
      'after',
      '\nA patient wallet comes with a 24-word recovery phrase, printed once: write it down.',
    )
    .action(async (options: CreateOptions) => {
      const passphrase = await passphraseFrom(options);
      const { wallet: created, mnemonic } = await createAndSaveWallet(options.out, options.role, passphrase);
      const data = {
        did: created.did,
        role: created.role,
        path: options.out,
        ...(mnemonic === undefined ? {} : { recoveryPhrase: mnemonic }),
      };
      emit(options, data, () => [
        ...fields([
          ['DID', created.did],
          ['role', created.role],
          ['wallet', options.out],
        ]),
        ...(mnemonic === undefined ? [] : recoveryPhraseLines(mnemonic)),
      ]);
    });

  subcommand(wallet, 'restore', 'restore a patient wallet from its recovery phrase, read from stdin')
    .requiredOption('--out <file>', 'where to write the restored wallet (never overwritten)')
    .addOption(passphraseFileOption())
    .addHelpText('after', '\nExample: roam wallet restore --out me.wallet.json < phrase.txt')
    .action(async (options: RestoreOptions) => {
      const passphrase = await passphraseFrom(options);
      const restored = restoreWallet(await readStdin());
      await saveNewWallet(options.out, restored, passphrase);
      emit(options, { did: restored.did, role: restored.role, path: options.out }, () =>
        fields([
          ['DID', restored.did],
          ['role', restored.role],
          ['wallet', options.out],
        ]),
      );
    });

  subcommand(wallet, 'show', "show a wallet's DID, role and public keys")
    .requiredOption('--wallet <file>', 'the wallet file')
    .option('--public', 'read only the public header, without the passphrase')
    .addOption(passphraseFileOption())
    .action(async (options: ShowOptions) => {
      // Opening the wallet checks the passphrase and that the header matches the keys inside.
      const header = options.public
        ? await readWalletHeader(options.wallet)
        : await openWallet(options.wallet, options).then((w) => ({
            did: w.did,
            role: w.role,
            signingPublicKey: toBase64Url(w.signing.publicKey),
            encryptionPublicKey: toBase64Url(w.encryption.publicKey),
          }));
      emit(options, { ...header, path: options.wallet }, () =>
        fields([
          ['DID', header.did],
          ['role', header.role],
          ['signing key', header.signingPublicKey],
          ['encryption key', header.encryptionPublicKey],
        ]),
      );
    });
}

function recoveryPhraseLines(mnemonic: string): string[] {
  const words = mnemonic.split(' ');
  const numbered = words.map((w, i) => `${String(i + 1).padStart(2)}. ${w}`);
  const rows: string[] = [];
  for (let i = 0; i < numbered.length; i += 4)
    rows.push(
      '  ' +
        numbered
          .slice(i, i + 4)
          .map((c) => c.padEnd(16))
          .join('')
          .trimEnd(),
    );
  return [
    '',
    'RECOVERY PHRASE - shown only this once. Write it down and keep it offline:',
    '',
    ...rows,
    '',
    'Anyone with these words controls this identity and can read its records;',
    'without them a lost wallet file or passphrase cannot be recovered.',
  ];
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    process.stderr.write('Type the 24-word recovery phrase, then press Enter and Ctrl-D:\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
