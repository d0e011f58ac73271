/**
 * The wire types of a node's SMART Health Links API (`src/node/shl`): the patient's management
 * routes (`/shl/links`, signed in) and the paths of the anonymous routes the spec defines (the
 * manifest `POST {url}`, a `U` link's `GET {url}`, and the short-lived `location` of a file). The
 * manifest's own body types are the spec's, in `src/shl`.
 */

/**
 * The patient's links: `POST` creates, `GET` lists. `DELETE <path>/:id` deactivates; `PUT
 * <path>/:id/file` replaces an `L` link's file; `PUT <path>/:id/sealed-key` stores the link sealed
 * by the patient's wallet.
 */
export const SHL_LINKS_PATH = '/shl/links';
/** The manifest URL of a link is `<publicUrl><SHL_MANIFEST_PATH>/<43 random base64url characters>`. */
export const SHL_MANIFEST_PATH = '/shl/m';
/** A `location` of a manifest is `<publicUrl><SHL_FILE_PATH>/<single-use ticket>`. */
export const SHL_FILE_PATH = '/shl/file';
/** The web app's viewer: links are handed out as `<publicUrl><SHL_VIEWER_PATH>#shlink:/…`. */
export const SHL_VIEWER_PATH = '/shl';

/** `POST /shl/links`: the client encrypted the file; the node keeps only this ciphertext. */
export interface CreateShareLinkRequest {
  /** The file's compact JWE (`dir`, `A256GCM`, `cty`). */
  readonly jwe: string;
  /** Flag letters in alphabetical order among `L`, `P`, `U` (never `P` with `U`); '' or absent for none. */
  readonly flag?: string;
  /** Required with `P`, refused without it. Stored only as a salted scrypt hash. */
  readonly passcode?: string;
  /** Expiry, epoch seconds (in the future); absent for none. */
  readonly exp?: number;
  /** ≤ 80 characters; shown to whoever opens the link. */
  readonly label?: string;
  /** The file's content type (default `application/fhir+json`). */
  readonly contentType?: string;
}

/** One access to a link, shown to its patient only (the recipient is the viewer's free text). */
export interface ShareLinkAccess {
  /** ms since the epoch. */
  readonly at: number;
  readonly recipient: string;
  readonly kind: 'manifest' | 'file' | 'direct';
  readonly outcome: 'success' | 'denied';
}

/** A link as its patient sees it (never the key: the node never had it). */
export interface ShareLinkView {
  readonly id: string;
  readonly flag: string;
  readonly label: string | null;
  /** Expiry, epoch seconds; null for none. */
  readonly exp: number | null;
  /** `active`, or why it no longer answers. */
  readonly status: 'active' | 'deactivated' | 'expired' | 'exhausted';
  readonly passcode: boolean;
  /** Passcode attempts left; null without a passcode. */
  readonly remainingAttempts: number | null;
  readonly contentType: string;
  /** ms since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly accesses: readonly ShareLinkAccess[];
  /**
   * The link (`{url, key, exp, flag, label}` and what its file was built from) sealed by the
   * patient's wallet (src/client/share-link-keys.ts): opaque to the node, answered to the patient
   * only. Null when the link was made without one (its QR code cannot be shown again).
   */
  readonly sealedKey: string | null;
}

/** `POST /shl/links` answer (201): the link, and its manifest URL (shown this once: the node keeps only its hash). */
export interface ShareLinkCreated {
  readonly link: ShareLinkView;
  /** The payload's `url`. */
  readonly url: string;
  /** Where the link is opened: `<viewerUrl>#shlink:/…`. */
  readonly viewerUrl: string;
}

/** `GET /shl/links` answer. */
export interface ShareLinkListResponse {
  readonly links: readonly ShareLinkView[];
}

/** `PUT /shl/links/:id/file`: a new version of an `L` link's file, encrypted with the same key (fresh IV). */
export interface ReplaceShareLinkFileRequest {
  readonly jwe: string;
  /** The link sealed again with what the new file was built from (optional). */
  readonly sealedKey?: string;
}

/** `PUT /shl/links/:id/sealed-key`: the link sealed by the patient's wallet. */
export interface SealShareLinkKeyRequest {
  readonly sealedKey: string;
}
