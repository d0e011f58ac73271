/**
 * The `_page` cursor: stateless keyset paging. A cursor names the last item of a page by its
 * sort key and its id; the next page is the items that sort strictly after it. The server keeps
 * no cursor state, and paging is stable while writes happen: an item present when paging started
 * and not updated since is returned exactly once, and items written meanwhile show up on a later
 * page when they sort after the cursor (read-your-writes).
 *
 * Wire form: base64url (no padding) of the RFC 8785 canonical JSON
 * `{"id":"<id of the last item>","k":[<sort key: numbers or null>],"s":"<sort>"}`, where `s` is
 * the sort it was made for (`date`, `-date`, `_lastUpdated`, `-_lastUpdated`, `$everything`) so a
 * cursor cannot be replayed under another order. A cursor is opaque to clients; it is not secret
 * (it shows the sort key of the last item, e.g. a clinical date).
 */
import { bytesToUtf8, canonicalJson, fromBase64Url, toBase64Url, utf8ToBytes } from '../../crypto/index.js';
import { FhirError, badRequest } from '../outcomes.js';

/** The longest `_page` value accepted (a cursor holds one id and a few numbers). */
export const MAX_CURSOR_LENGTH = 512;

/** A sort key: compared element by element; null (no value) sorts last in either direction. */
export type SortKey = readonly (number | null)[];

/** A decoded `_page` cursor. */
export interface Cursor {
  /** The sort the cursor was made for. */
  readonly sort: string;
  /** The sort key of the last item of the previous page. */
  readonly key: SortKey;
  /** The id of that item (`Type/id` for `$everything`). */
  readonly id: string;
}

/** Encodes a cursor as its `_page` value. */
export function encodeCursor(cursor: Cursor): string {
  return toBase64Url(utf8ToBytes(canonicalJson({ id: cursor.id, k: cursor.key, s: cursor.sort })));
}

function invalid(why: string): FhirError {
  return new FhirError(
    badRequest(`Invalid _page cursor: ${why}; use the next link of a searchset Bundle`, '_page'),
  );
}

/**
 * Decodes a `_page` value. Throws FhirError badRequest naming `_page` unless `text` is exactly
 * what `encodeCursor` gives for some cursor (one encoding per cursor).
 */
export function decodeCursor(text: string): Cursor {
  if (text.length === 0 || text.length > MAX_CURSOR_LENGTH) throw invalid(`length ${text.length}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytesToUtf8(fromBase64Url(text)));
  } catch {
    throw invalid('not base64url of JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('not an object');
  const { id, k, s } = parsed as Record<string, unknown>;
  if (typeof id !== 'string' || typeof s !== 'string' || !Array.isArray(k))
    throw invalid('missing id, k or s');
  const key = k as unknown[];
  if (!key.every((item) => item === null || (typeof item === 'number' && Number.isFinite(item)))) {
    throw invalid('sort key is not numbers');
  }
  const cursor: Cursor = { sort: s, key: key as (number | null)[], id };
  if (encodeCursor(cursor) !== text) throw invalid('not in canonical form');
  return cursor;
}
