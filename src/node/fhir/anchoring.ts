/**
 * The ledger step of a write: the versions of several requests anchored in shared
 * `records.anchor` transactions signed by the node, waiting for each to commit.
 */
import type { RecordAnchorPayload } from '../../contracts/index.js';
import { createTx, signTx } from '../../ledger/index.js';
import type { BlockPacer } from './block-pacer.js';
import type { FhirNodePort } from './request.js';
import type { Settled } from './turn-batch.js';

/** How long a write waits for its anchor to commit. */
export const ANCHOR_COMMIT_WAIT_MS = 30_000;
/** Most anchors in one `records.anchor` transaction of this node (the contract takes 1,000). */
export const ANCHORS_PER_TX = 250;

/** What anchoring needs of the node. */
export type AnchorPort = Pick<FhirNodePort, 'did' | 'chainId' | 'nodeSecretKey' | 'submit' | 'waitForCommit'>;

/** Why the ledger did not anchor a request's versions. */
export interface AnchorRefusal {
  readonly code: string;
  readonly message: string;
}

/** How one request's anchors fared. */
export interface RequestAnchoring {
  /** Undefined when every anchor committed; else the ledger's refusal (or the error of the submission or of the wait). */
  readonly outcome: Settled<AnchorRefusal | undefined>;
  /**
   * Positions of the request's anchors that committed: all when `outcome` is OK; of a request
   * larger than one transaction, those of its transactions that did commit.
   */
  readonly committed: ReadonlySet<number>;
}

/**
 * Anchors the versions of several requests and waits for the commit: `ANCHORS_PER_TX` at most
 * per `records.anchor` transaction, the requests of a turn sharing transactions (a request
 * larger than that has its own). A shared transaction the ledger refuses is retried as one
 * transaction per request, so that each request gets its own answer. `pacer` closes the blocks
 * early (see block-pacer.ts); without one they are cut as ordering decides.
 */
export async function anchorRequests(
  node: AnchorPort,
  groups: readonly (readonly RecordAnchorPayload[])[],
  options: { readonly pacer?: BlockPacer | undefined } = {},
): Promise<RequestAnchoring[]> {
  if (groups.length === 0) return [];
  const answers: Settled<AnchorRefusal | undefined>[] = groups.map(() => ({ ok: true, value: undefined }));
  const committed = groups.map(() => new Set<number>());
  const round = async (members: readonly number[], share: boolean): Promise<number[]> => {
    // Transactions of whole requests: a request's anchors stay together when they fit one.
    const txs: number[][] = [];
    let size = ANCHORS_PER_TX;
    for (const g of members) {
      const n = groups[g]!.length;
      if (!share || size + n > ANCHORS_PER_TX) {
        txs.push([]);
        size = 0;
      }
      txs[txs.length - 1]!.push(g);
      size += n;
    }
    const chunks = txs.flatMap((tx) => {
      const anchors = tx.flatMap((g) => groups[g]!);
      const out: { tx: number[]; from: number; anchors: RecordAnchorPayload[] }[] = [];
      for (let i = 0; i < anchors.length; i += ANCHORS_PER_TX)
        out.push({ tx, from: i, anchors: anchors.slice(i, i + ANCHORS_PER_TX) });
      return out;
    });
    const results = await submitAnchors(
      node,
      chunks.map((c) => c.anchors),
      options.pacer,
    );
    const retry = new Set<number>();
    chunks.forEach(({ tx, from, anchors }, i) => {
      const result = results[i]!;
      if (result.ok && result.value === undefined) {
        // A transaction of whole requests, or one part of a request of its own.
        for (const g of tx) {
          const first = tx.length === 1 ? from : 0;
          const count = tx.length === 1 ? anchors.length : groups[g]!.length;
          for (let p = first; p < first + count; p++) committed[g]!.add(p);
        }
        return;
      }
      if (result.ok && tx.length > 1) {
        for (const g of tx) retry.add(g);
        return;
      }
      // A refusal of a request's own transaction, or an error (an anchor that did not commit
      // in time may still commit: not retried).
      for (const g of tx) {
        const first = answers[g]!;
        if (first.ok && first.value === undefined) answers[g] = result;
      }
    });
    return [...retry];
  };
  const retry = await round(
    groups.map((_, g) => g),
    true,
  );
  if (retry.length > 0) await round(retry, false);
  return answers.map((outcome, g) => ({ outcome, committed: committed[g]! }));
}

/** Submits one `records.anchor` per list and waits for each to commit; answers as `anchorRequests`. */
async function submitAnchors(
  node: AnchorPort,
  lists: readonly (readonly RecordAnchorPayload[])[],
  pacer: BlockPacer | undefined,
): Promise<Settled<AnchorRefusal | undefined>[]> {
  const envelopes = lists.map((anchors) =>
    signTx(
      createTx({
        chainId: node.chainId,
        type: 'records.anchor',
        signer: node.did,
        payload: anchors.length === 1 ? anchors[0]! : { anchors: [...anchors] },
      }),
      node.nodeSecretKey,
    ),
  );
  let outcome: Awaited<ReturnType<AnchorPort['submit']>>;
  try {
    outcome = await node.submit(envelopes);
  } catch (error) {
    return lists.map(() => ({ ok: false, error }));
  }
  const answers = new Array<Promise<Settled<AnchorRefusal | undefined>>>(lists.length);
  for (const r of outcome.rejected)
    answers[r.index] = Promise.resolve({ ok: true, value: { code: r.code, message: r.message ?? '' } });
  for (const a of outcome.accepted) {
    answers[a.index] = node.waitForCommit(a.id, ANCHOR_COMMIT_WAIT_MS).then(
      (c): Settled<AnchorRefusal | undefined> => ({
        ok: true,
        value: c.code === 'OK' ? undefined : { code: c.code, message: c.message ?? '' },
      }),
      (error: unknown): Settled<AnchorRefusal | undefined> => ({ ok: false, error }),
    );
  }
  const settled = Promise.all(answers);
  if (outcome.accepted.length > 0) pacer?.submitted(settled);
  return settled;
}
