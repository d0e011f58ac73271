/**
 * `roam audit`: a patient's access trail, read from the ledger. Nodes record every FHIR access
 * (read, search, create, …, denied or not) in `audit.batch` transactions. The entries are located
 * with the node's FHIR AuditEvent view (ids `<height>-<tx>-<entry>`), or by scanning the chain's
 * blocks (GET /ledger/blocks: the whole chain is read, fine for a demo-sized chain) when asked
 * or when the node has no view. Each entry is then read from its transaction as
 * GET /ledger/tx/:id answers it, with the inclusion proof checked by verifyTxResponse: entries are
 * printed from verified transactions only, and a view that misstates an entry counts as a failure.
 */
import type { Command } from 'commander';
import { signIn } from '../client/auth.js';
import { FhirClient } from '../client/fhir.js';
import { readAuditTrail } from '../client/audit.js';
import { RoamApiError } from '../client/errors.js';
import {
  nodeUrlOption,
  openWallet,
  parseNonNegativeInteger,
  passphraseFileOption,
  subcommand,
} from './common.js';
import { breakGlassBanner } from './break-glass-banner.js';
import { connect } from './connect.js';
import { CliErrorCode, EXIT_FAILURE, emit, isoTime, table, type OutputOptions } from './output.js';

interface AuditOptions extends OutputOptions {
  readonly wallet: string;
  readonly node: string;
  readonly limit: number;
  readonly fromLedger?: boolean;
  readonly passphraseFile?: string;
}

function shortDid(did: string): string {
  return did.length > 24 ? `${did.slice(0, 14)}…${did.slice(-6)}` : did;
}

export function registerAudit(program: Command): void {
  subcommand(program, 'audit', 'your access trail: who read or wrote your records, when, under which grant')
    .requiredOption('--wallet <file>', 'your patient wallet')
    .addOption(nodeUrlOption())
    .option('--limit <n>', 'show the last n entries', parseNonNegativeInteger, 50)
    .option('--from-ledger', 'find the entries by scanning the blocks (as the signed-in patient) rather than the FHIR AuditEvent view')
    .addOption(passphraseFileOption())
    .addHelpText(
      'after',
      `
Nodes record every access to your records in audit.batch transactions on the ledger. The entries
are found with the node's FHIR AuditEvent view (signing in with the wallet), or, with
--from-ledger or when the node has no such view, by scanning every block (fine for a demo-sized
chain). Each entry is then read from its transaction (GET /ledger/tx/:id), whose inclusion proof
is checked against its block header (✓ valid, ✗ invalid or not what the view said).
"node" is the region of the node that recorded the entry ("eu for us": the eu custodian answered
the us node, roaming). Exits 1 if any check fails. Entries reach the ledger a moment (about a
second) after the access.`,
    )
    .action(async (options: AuditOptions) => {
      // The ledger answers a patient's own transactions to the patient signed in, so both ways
      // of reading the trail open the wallet.
      const wallet = await openWallet(options.wallet, options);
      const api = connect(options.node, wallet);
      const patient = wallet.did;
      const fhir = options.fromLedger
        ? undefined
        : new FhirClient(options.node, (await signIn({ baseUrl: options.node }, wallet)).access_token);
      const { source, rows } = await readAuditTrail(api.client, patient, options.limit, fhir);
      // Every break-glass of the record, from the ledger (a node without the route has none to tell).
      const breakGlass = await api.client.emergency(patient).then(
        (answer) => answer.accesses,
        (error: unknown) => {
          if (error instanceof RoamApiError && error.status === 404) return [];
          throw error;
        },
      );
      const banner = breakGlassBanner(breakGlass, Date.now());
      const did = patient;
      const bad = rows.filter((r) => !r.proofValid);
      emit(
        options,
        { patient: did, source, count: rows.length, entries: rows, allProofsValid: bad.length === 0, breakGlass },
        () => [
          ...banner,
          ...(rows.length === 0
            ? [`No audit entries for ${did} (${source})`]
            : table(
                ['proof', 'when', 'node', 'who', 'org', 'action', 'record', 'grant', 'outcome'],
                rows.map((r) => [
                  r.proofValid ? '✓' : '✗',
                  isoTime(r.at),
                  `${r.region ?? '?'}${r.viaRegion === null ? '' : ` for ${r.viaRegion}`}`,
                  `${shortDid(r.actor)}${r.actorKind === null ? '' : ` (${r.actorKind})`}`,
                  r.actorOrgName ?? (r.actorOrg === null ? '-' : shortDid(r.actorOrg)),
                  r.action,
                  r.resourceType === null
                    ? '-'
                    : `${r.resourceType}${r.recordId === null ? '' : `/${r.recordId}`}`,
                  r.grantId ?? (r.emergency === null ? '-' : `break-glass ${r.emergency}`),
                  r.outcome,
                ]),
              )),
        ],
      );
      if (bad.length > 0) {
        // The entries are the output (one JSON object with --json); the failure is reported after it.
        const txIds = [...new Set(bad.map((b) => b.txId))].join(', ');
        const what = bad.length === 1 ? 'entry fails' : 'entries fail';
        process.stderr.write(
          `roam: ${CliErrorCode.PROOF_INVALID}: ${bad.length} audit ${what} the check (invalid inclusion proof, or not what the view said) in tx ${txIds}\n`,
        );
        process.exitCode = EXIT_FAILURE;
      }
    });
}
