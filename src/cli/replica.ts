/**
 * `roam replica set | clear | show`: a patient names (or ends) its replica organization, a
 * second holder of the ciphertexts of the records its custodians keep, which answers roaming
 * reads when a custodian does not (`records.replica`). The organization must hold a write grant
 * of the patient (`roam consent grant --write`).
 *
 * `roam replica status --data DIR`: the operator's view of what a node restored from a backup
 * still misses (replica-status.ts).
 */
import type { Command } from 'commander';
import type { RecordReplicaPayload } from '../contracts/index.js';
import { TxType } from '../ledger/index.js';
import { nodeUrlOption, openWallet, parseDid, passphraseFileOption, subcommand } from './common.js';
import { openPatientWallet } from './consent.js';
import { connect } from './connect.js';
import { emit, fields, isoTime, type OutputOptions } from './output.js';
import { registerReplicaStatus } from './replica-status.js';

interface ReplicaOptions extends OutputOptions {
  readonly wallet: string;
  readonly node: string;
  readonly passphraseFile?: string;
}

export function registerReplica(program: Command): void {
  const replica = program.command('replica').description("a patient's replica organization (a second holder of its records)");

  const submit = async (options: ReplicaOptions, payload: RecordReplicaPayload, done: string): Promise<void> => {
    const wallet = await openPatientWallet(options.wallet, options);
    const committed = await connect(options.node, wallet).submit(wallet, TxType.RecordReplica, payload);
    emit(options, { replica: payload.replica, txId: committed.id, height: committed.height }, () => [
      done,
      ...fields([
        ['block', String(committed.height)],
        ['transaction', committed.id],
      ]),
    ]);
  };

  subcommand(replica, 'set', 'name the organization that keeps a replica of your records')
    .requiredOption('--wallet <file>', 'your patient wallet')
    .requiredOption('--org <orgDid>', 'DID of the organization (it needs your write grant)', parseDid)
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action((options: ReplicaOptions & { readonly org: string }) =>
      submit(options, { replica: options.org }, `Your replica is now ${options.org}`),
    );

  subcommand(replica, 'clear', 'end your replica')
    .requiredOption('--wallet <file>', 'your patient wallet')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action((options: ReplicaOptions) => submit(options, { replica: null }, 'Your replica has ended'));

  subcommand(replica, 'show', 'show your replica organization and whether it is in effect')
    .requiredOption('--wallet <file>', 'your patient wallet')
    .addOption(nodeUrlOption())
    .addOption(passphraseFileOption())
    .action(async (options: ReplicaOptions) => {
      const wallet = await openWallet(options.wallet, options);
      const { replica: named } = await connect(options.node, wallet).replica(wallet.did);
      emit(options, { patient: wallet.did, replica: named }, () =>
        named === null
          ? ['No replica named']
          : fields([
              ['replica', named.org],
              ['since', isoTime(named.since)],
              ['in effect', named.inEffect ? 'yes' : 'no (not an active member, or no live write grant)'],
            ]),
      );
    });

  registerReplicaStatus(replica);
}
