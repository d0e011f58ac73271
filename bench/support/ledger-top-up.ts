/**
 * The scale bench's ledger top-up: consent grants and record anchors (workload.ts) submitted to a
 * running node until its ledger holds a number of transactions. Shared by bench:scale (after each
 * size's import) and bench:scale:reprobe (`BENCH_SCALE_REPROBE_TOP_UP_TO`, to finish a kept folder's
 * ledger with newer code).
 */
import type { SignedTx } from '../../src/ledger/index.js';
import { commit } from './fhir-setup.js';
import { ledgerTxCount } from './scale-node.js';
import { consentAndAnchorTxs, registrations, type BenchPatient } from './workload.js';

/** Transactions per submission, submissions in flight, signed at a time. */
const PER_POST = 500;
const IN_FLIGHT = 4;
const SIGNED_AT_ONCE = 20_000;

export interface LedgerTopUp {
  /** The running node's base URL. */
  readonly url: string;
  /** Its data folder (the ledger's transaction count is read from it). */
  readonly dataDir: string;
  readonly chainId: string;
  /** The hospital organization the patients grant to. */
  readonly orgDid: string;
  /** The node identity that signs the record anchors. */
  readonly node: { readonly did: string; readonly keys: BenchPatient['keys'] };
  /** Patients who grant and whose records the node anchors. */
  readonly patients: readonly BenchPatient[];
}

/** Registers the top-up patients (once per ledger). */
export async function registerTopUpPatients(topUp: LedgerTopUp): Promise<void> {
  await submitAll(topUp.url, registrations(topUp.patients, topUp.chainId));
}

/** Grants and anchors until the ledger holds `size` transactions; `onProgress` after each signed batch. */
export async function topUpLedgerTo(
  topUp: LedgerTopUp,
  size: number,
  onProgress?: (transactions: number) => void,
): Promise<void> {
  for (let missing = size - ledgerTxCount(topUp.dataDir); missing > 0; missing = size - ledgerTxCount(topUp.dataDir)) {
    const count = Math.min(missing + (missing % 2), SIGNED_AT_ONCE);
    await submitAll(topUp.url, consentAndAnchorTxs(count, topUp.patients, topUp.orgDid, topUp.node, topUp.chainId));
    onProgress?.(size - missing + count);
  }
}

/** Posts signed transactions, IN_FLIGHT submissions at a time, each waiting for its commit. */
async function submitAll(url: string, txs: readonly SignedTx[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let from = next; from < txs.length; from = next) {
      next += PER_POST;
      await commit({ url }, txs.slice(from, from + PER_POST));
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}
