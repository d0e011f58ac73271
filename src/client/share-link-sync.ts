/**
 * Long-term (`L`) SMART Health Links that follow the record: each one's sealed key holds the
 * digest of the record its file was built from (`recordsDigest`, share-link-keys.ts); when the
 * patient's records on the ledger differ from it, the file is replaced by a summary built now
 * (same key, fresh IV, resealed with the new digest). The summary is built once, only when some
 * link needs it. Links that are not `L`, not active, or made without a sealed key are left as
 * they are. Run by `roam shl sync` (cron) and by the portal when the patient opens it.
 */
import type { ShareLinkView } from '../wire/index.js';
import { openLinkSecret, ShareLinkKeyError, type LinkKeyHolder } from './share-link-keys.js';
import type { ShareLinkClient } from './share-links.js';

/** What a sync did with one long-term link. */
export interface LinkSyncOutcome {
  readonly id: string;
  readonly label: string | null;
  /**
   * `refreshed`: a new file; `unchanged`: built from the current record already; `not-sealed`:
   * made without a sealed key (refresh it with the link in hand); `key-invalid`: its sealed key
   * does not open with this wallet (left alone).
   */
  readonly outcome: 'refreshed' | 'unchanged' | 'not-sealed' | 'key-invalid';
}

export interface SyncShareLinksOptions {
  readonly client: ShareLinkClient;
  readonly holder: LinkKeyHolder;
  /** The patient's links (default: listed now). */
  readonly links?: readonly ShareLinkView[];
  /** The digest of the patient's records as they are now. */
  readonly currentDigest: string;
  /** The summary of the record as it is now (called at most once). */
  readonly buildDocument: () => Promise<unknown>;
}

/** Whether `view` is a long-term link that still answers. */
export function followsRecord(view: ShareLinkView): boolean {
  return view.status === 'active' && view.flag.includes('L');
}

/**
 * Refreshes every active `L` link whose file was built from another record than `currentDigest`.
 *
 * @throws RoamApiError of the node (a refresh refused), whatever `buildDocument` throws
 * @example await syncShareLinks({ client, holder: wallet, currentDigest, buildDocument: () => summaryNow() });
 */
export async function syncShareLinks(options: SyncShareLinksOptions): Promise<LinkSyncOutcome[]> {
  const links = (options.links ?? (await options.client.list())).filter(followsRecord);
  let document: Promise<unknown> | undefined;
  const outcomes: LinkSyncOutcome[] = [];
  for (const view of links) {
    const outcome = await syncOne(view);
    outcomes.push({ id: view.id, label: view.label, outcome });
  }
  return outcomes;

  async function syncOne(view: ShareLinkView): Promise<LinkSyncOutcome['outcome']> {
    if (view.sealedKey === null) return 'not-sealed';
    let builtFrom: string | undefined;
    try {
      ({ builtFrom } = await openLinkSecret({ holder: options.holder, linkId: view.id, sealedKey: view.sealedKey }));
    } catch (error) {
      if (error instanceof ShareLinkKeyError) return 'key-invalid';
      throw error;
    }
    if (builtFrom === options.currentDigest) return 'unchanged';
    document ??= options.buildDocument();
    await options.client.refreshSealed({ view, document: await document, builtFrom: options.currentDigest });
    return 'refreshed';
  }
}
