/**
 * `roam replica status --data DIR`: the versions of this node's own records whose ciphertext its
 * vault lacks (after a restore from a backup) — record id, version, the replica organization the
 * patient named (if any), and the refill's last attempt and its outcome — as the node's refill
 * last wrote them to its replica file (src/store/refill-log.ts).
 *
 * Offline, on purpose: it reads the node's own folder (read-only; the node may be running), so
 * it needs the operator's access to that folder and no route of the node's API says which
 * records a node lacks (record ids are pseudonymous but not for anonymous callers). The list is
 * as of the node's last refill pass (`checked`): passes run while gaps remain.
 */
import type { Command } from 'commander';
import { replicaPath } from '../node/replica/node-replica.js';
import { RefillLog } from '../store/index.js';
import { subcommand } from './common.js';
import { CliError, CliErrorCode, emit, fields, isoTime, table, type OutputOptions } from './output.js';

export function registerReplicaStatus(replica: Command): void {
  subcommand(replica, 'status', "list the versions this node lacks after a restore, and the refill's attempts")
    .requiredOption('--data <dir>', "the node's data folder (opened read-only; the node may be running)")
    .action((options: OutputOptions & { readonly data: string }) => {
      const report = RefillLog.read(replicaPath(options.data));
      if (report === null)
        throw new CliError(
          CliErrorCode.NOT_FOUND,
          `no refill list in ${replicaPath(options.data)}: start the node once (it compares its vault with the ledger)`,
        );
      const gaps = report.gaps.map((gap) => ({
        recordId: gap.recordId,
        version: gap.version,
        replica: gap.replica,
        lastAttempt: gap.attemptedAt === null ? null : isoTime(gap.attemptedAt),
        outcome: gap.outcome,
      }));
      const data = { checkedAt: report.checkedAt === null ? null : isoTime(report.checkedAt), missing: gaps.length, gaps };
      emit(options, data, () => [
        ...fields([
          ['checked', isoTime(report.checkedAt)],
          ['missing versions', String(gaps.length)],
          ['without a replica', String(gaps.filter((gap) => gap.replica === null).length)],
        ]),
        ...(gaps.length === 0
          ? []
          : [
              '',
              ...table(
                ['record', 'version', 'replica', 'last attempt', 'outcome'],
                gaps.map((gap) => [
                  gap.recordId,
                  String(gap.version),
                  gap.replica ?? 'none named',
                  gap.lastAttempt ?? 'never',
                  gap.outcome ?? '-',
                ]),
              ),
            ]),
      ]);
    });
}
