/** `roam patient register`: a patient puts its identity on the ledger. */
import type { Command } from 'commander';
import type { PatientRegisterPayload } from '../contracts/index.js';
import { toBase64Url } from '../crypto/index.js';
import { TxType } from '../ledger/index.js';
import { nodeUrlOption, openWallet, passphraseFileOption, subcommand, usage } from './common.js';
import { connect } from './connect.js';
import { emit, fields, type OutputOptions } from './output.js';

interface RegisterOptions extends OutputOptions {
  readonly wallet: string;
  readonly node: string;
  readonly passphraseFile?: string;
}

export function registerPatient(program: Command): void {
  const patient = program.command('patient').description('patient identity on the ledger');

  subcommand(patient, 'register', "register the wallet's DID as a patient, with its encryption key")
    .requiredOption('--wallet <file>', 'a patient wallet (roam wallet create --role patient)')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action(async (options: RegisterOptions) => {
      const wallet = await openWallet(options.wallet, options);
      if (wallet.role !== 'patient')
        throw usage(`${options.wallet} is a ${wallet.role} wallet, not a patient wallet`);
      const payload: PatientRegisterPayload = { encryptionKey: toBase64Url(wallet.encryption.publicKey) };
      const committed = await connect(options.node).submit(wallet, TxType.PatientRegister, payload);
      emit(options, { did: wallet.did, txId: committed.id, height: committed.height }, () => [
        `Registered patient ${wallet.did}`,
        ...fields([
          ['transaction', committed.id],
          ['block', String(committed.height)],
        ]),
      ]);
    });
}
