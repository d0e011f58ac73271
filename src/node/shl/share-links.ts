/**
 * The node as a SMART Health Links server (HL7 SMART Health Cards and Links IG). A patient uploads
 * the file of a link already encrypted (the key never leaves the patient's client); the node
 * answers the spec's requests for it:
 *
 * - `POST {url}` (the manifest): `{ files: [{ contentType, embedded | location }] }`. A `P` link's
 *   passcode is checked against its scrypt hash, after one of its lifetime attempts was taken
 *   (`ShareLinkStore.reserveAttempt`, one SQL statement): however many guesses arrive at once, at
 *   most as many are checked as attempts are left; a right passcode gives its attempt back.
 * - a `location` is `<publicUrl>/shl/file/<ticket>`: 256 random bits, kept as a hash, single-use,
 *   valid FILE_TICKET_TTL_MS.
 * - `GET {url}?recipient=…` answers a `U` link's file directly.
 *
 * Whatever makes a link unusable (unknown, deactivated, expired, attempts used up, a `GET` of a
 * link that is not `U`) answers the same 404. Every access to a usable link is kept for the
 * patient with the recipient as given (free text: here only, shown to the patient), and an
 * `share-link` entry (the node as actor, the patient, the outcome, the time) goes to the ledger
 * through the audit outbox.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { sha256Hex, toBase64Url } from '../../crypto/index.js';
import { FHIR_JSON_CONTENT_TYPE, MAX_SHL_URL_LENGTH, SHL_CONTENT_TYPES, type ShlManifest, type ShlManifestFile } from '../../shl/index.js';
import type { ShareLinkRow, ShareLinkStore } from '../../store/index.js';
import {
  SHL_FILE_PATH,
  SHL_MANIFEST_PATH,
  SHL_VIEWER_PATH,
  type CreateShareLinkRequest,
  type ShareLinkCreated,
  type ShareLinkView,
} from '../../wire/index.js';
import type { AuditEvent } from '../fhir/audit.js';
import { HttpError } from '../http/errors.js';
import { hashPasscode, verifyPasscode } from './passcode.js';

/** Lifetime passcode attempts of a `P` link (spec: a total lifetime count of wrong passcodes). */
export const SHL_PASSCODE_ATTEMPTS = 10;
/** How long a manifest's `location` can be fetched (once). Spec: at most one hour; Roam: one minute. */
export const FILE_TICKET_TTL_MS = 60_000;
/** Most active links one patient holds at once. */
export const MAX_ACTIVE_LINKS_PER_PATIENT = 50;
/** Longest file (compact JWE characters) a link holds: an IPS of a long record fits many times. */
export const MAX_SHL_JWE_CHARS = 2 * 1024 * 1024;
/**
 * Longest sealed key kept: `v1.<iv>.<ciphertext>` of a link (URL ≤ 128, label ≤ 80, key, a
 * digest) is some 600 characters; the bound leaves room and keeps rows small.
 */
export const MAX_SHL_SEALED_KEY_CHARS = 4096;
/** The sealed key's shape (src/client/share-link-keys.ts): version, 96-bit IV, ciphertext with its tag. */
const SEALED_KEY_SHAPE = /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,}$/;
/** Bytes of the manifest path's random segment (256 bits: spec minimum) and of a file ticket. */
const SECRET_BYTES = 32;

/** Where accesses go on the ledger (the node's audit outbox). */
export interface ShareLinkAuditSink {
  record(events: readonly AuditEvent[]): void;
}

export interface ShareLinksOptions {
  readonly store: ShareLinkStore;
  readonly audit: ShareLinkAuditSink;
  /** The serving node (the actor of every `share-link` audit entry). */
  readonly nodeDid: string;
  /**
   * The node's public base URL (manifest, location and viewer URLs are under it); a function when
   * it is known only once the node listens (`--port 0`).
   */
  readonly publicUrl: string | (() => string);
  /**
   * Whether a DID is still an active patient on the ledger: a deactivated identity's links stop
   * answering (the patient can no longer sign in to manage them). Default: every DID is.
   */
  readonly isActivePatient?: (did: string) => boolean;
  /** The clock (ms since the epoch); tests move it. Default Date.now. */
  readonly now?: () => number;
}

/** What a manifest request asks. */
export interface ManifestRequest {
  readonly manifestId: string;
  readonly recipient: string;
  readonly passcode?: string | undefined;
  readonly embeddedLengthMax?: number | undefined;
}

/** A manifest request's answer: the manifest, or the spec's 401 with the attempts left. */
export type ManifestAnswer =
  | { readonly kind: 'manifest'; readonly manifest: ShlManifest }
  | { readonly kind: 'passcode-refused'; readonly remainingAttempts: number; readonly missing: boolean };

/** A file answered by a `location` or a `U` link. */
export interface ServedFile {
  readonly jwe: string;
}

/** The SMART Health Links of one node. */
export class ShareLinks {
  private readonly store: ShareLinkStore;
  private readonly audit: ShareLinkAuditSink;
  private readonly nodeDid: string;
  private readonly publicUrl: () => string;
  private readonly now: () => number;
  private readonly isActivePatient: (did: string) => boolean;

  constructor(options: ShareLinksOptions) {
    this.store = options.store;
    this.audit = options.audit;
    this.nodeDid = options.nodeDid;
    const { publicUrl } = options;
    this.publicUrl = typeof publicUrl === 'string' ? () => publicUrl : publicUrl;
    this.now = options.now ?? Date.now;
    this.isActivePatient = options.isActivePatient ?? (() => true);
  }

  private get base(): string {
    return this.publicUrl().replace(/\/+$/, '');
  }

  /**
   * Creates a link of `patient` over an uploaded file; the request was checked for shape by the
   * route (flag letters, lengths).
   *
   * @throws HttpError SHL_FLAGS_INVALID, SHL_FILE_INVALID, VALIDATION_FAILED, SHL_TOO_MANY_LINKS
   */
  async create(patient: string, request: CreateShareLinkRequest): Promise<ShareLinkCreated> {
    const flag = request.flag ?? '';
    if (flag.includes('P') && flag.includes('U')) {
      throw new HttpError('SHL_FLAGS_INVALID', 'flag "U" (direct file) cannot be combined with "P" (passcode)');
    }
    if (flag.includes('P') !== (request.passcode !== undefined)) {
      throw new HttpError('SHL_FLAGS_INVALID', 'a passcode is given exactly when the flag holds "P"');
    }
    const now = this.now();
    if (request.exp !== undefined && request.exp * 1000 <= now) {
      throw new HttpError('VALIDATION_FAILED', '"exp" must be in the future (epoch seconds)');
    }
    const contentType = request.contentType ?? FHIR_JSON_CONTENT_TYPE;
    assertFile(request.jwe, contentType);
    const active = this.store.linksOfPatient(patient).filter((link) => statusOf(link, now) === 'active').length;
    if (active >= MAX_ACTIVE_LINKS_PER_PATIENT) {
      throw new HttpError('SHL_TOO_MANY_LINKS', `at most ${MAX_ACTIVE_LINKS_PER_PATIENT} active links per patient: deactivate one first`);
    }
    const manifestId = toBase64Url(new Uint8Array(randomBytes(SECRET_BYTES)));
    const url = `${this.base}${SHL_MANIFEST_PATH}/${manifestId}`;
    if (url.length > MAX_SHL_URL_LENGTH) {
      // The node's public URL is too long for the spec's 128-character manifest URL: an operator's fix.
      throw new Error(`the node's public URL makes manifest URLs of ${url.length} characters (the spec allows ${MAX_SHL_URL_LENGTH})`);
    }
    const id = randomUUID();
    const passcodeHash = request.passcode === undefined ? null : await hashPasscode(request.passcode);
    this.store.insertLink({
      id,
      manifestHash: sha256Hex(manifestId),
      patient,
      flag,
      label: request.label ?? null,
      expiresAt: request.exp === undefined ? null : request.exp * 1000,
      passcodeHash,
      attemptsLeft: passcodeHash === null ? null : SHL_PASSCODE_ATTEMPTS,
      contentType,
      jwe: request.jwe,
      createdAt: now,
    });
    return { link: this.view(this.ownLink(id, patient), []), url, viewerUrl: `${this.base}${SHL_VIEWER_PATH}` };
  }

  /** The links of `patient`, each with its accesses. */
  list(patient: string): ShareLinkView[] {
    const accesses = this.store.accessesOfPatient(patient);
    return this.store.linksOfPatient(patient).map((link) =>
      this.view(
        link,
        accesses.filter((a) => a.linkId === link.id),
      ),
    );
  }

  /**
   * Deactivates `patient`'s link `id` (at once: open `location` tickets die with it).
   *
   * @throws HttpError SHL_LINK_NOT_FOUND for an unknown id and for another patient's link alike
   */
  deactivate(patient: string, id: string): ShareLinkView {
    if (!this.store.deactivate(id, patient, this.now())) throw linkNotFound();
    return this.view(this.ownLink(id, patient), this.store.accessesOfPatient(patient).filter((a) => a.linkId === id));
  }

  /**
   * Replaces the file of `patient`'s long-term link `id` (spec: same key, fresh IV).
   *
   * @throws HttpError SHL_LINK_NOT_FOUND, SHL_NOT_LONG_TERM, SHL_LINK_INACTIVE, SHL_FILE_INVALID
   */
  replaceFile(patient: string, id: string, replacement: { readonly jwe: string; readonly sealedKey?: string | undefined }): ShareLinkView {
    const { jwe, sealedKey } = replacement;
    const current = this.store.linkById(id);
    if (current === undefined || current.patient !== patient) throw linkNotFound();
    assertFile(jwe, current.contentType);
    if (sealedKey !== undefined) assertSealedKey(sealedKey);
    // Spec: every version is encrypted with the same key, so each SHALL have its own IV.
    if (jwe.split('.')[2] === current.jwe.split('.')[2]) {
      throw new HttpError('SHL_FILE_INVALID', 'the new file reuses the IV of the current one: encrypt it afresh');
    }
    const outcome = this.store.replaceFile({ id, patient, jwe, sealedKey, now: this.now() });
    if (outcome === 'not-found') throw linkNotFound();
    if (outcome === 'not-long-term') throw new HttpError('SHL_NOT_LONG_TERM', 'only a long-term link (flag "L") has its file replaced');
    if (outcome === 'inactive') throw new HttpError('SHL_LINK_INACTIVE', 'the link is deactivated');
    return this.view(this.ownLink(id, patient), this.store.accessesOfPatient(patient).filter((a) => a.linkId === id));
  }

  /**
   * Stores the link sealed by `patient`'s wallet (opaque: the node cannot open it, and answers it
   * to that patient only, in their list).
   *
   * @throws HttpError SHL_LINK_NOT_FOUND (unknown id and another patient's link alike), SHL_LINK_INACTIVE, SHL_SEALED_KEY_INVALID
   */
  sealKey(patient: string, id: string, sealedKey: string): ShareLinkView {
    const current = this.store.linkById(id);
    if (current === undefined || current.patient !== patient) throw linkNotFound();
    assertSealedKey(sealedKey);
    const outcome = this.store.sealKey({ id, patient, sealedKey, now: this.now() });
    if (outcome === 'not-found') throw linkNotFound();
    if (outcome === 'inactive') throw new HttpError('SHL_LINK_INACTIVE', 'the link is deactivated');
    return this.view(this.ownLink(id, patient), this.store.accessesOfPatient(patient).filter((a) => a.linkId === id));
  }

  /**
   * The spec's manifest request.
   *
   * @throws HttpError SHL_LINK_NOT_FOUND (unknown, deactivated, expired or exhausted: the same answer)
   */
  async manifest(request: ManifestRequest): Promise<ManifestAnswer> {
    const link = this.usableLink(request.manifestId);
    if (link.passcodeHash !== null) {
      if (request.passcode === undefined) {
        return { kind: 'passcode-refused', remainingAttempts: link.attemptsLeft ?? 0, missing: true };
      }
      const left = this.store.reserveAttempt(link.id);
      if (left === undefined) throw linkNotFound();
      if (!(await verifyPasscode(request.passcode, link.passcodeHash))) {
        this.recordAccess(link, { recipient: request.recipient, kind: 'manifest', outcome: 'denied' });
        return { kind: 'passcode-refused', remainingAttempts: left, missing: false };
      }
      this.store.refundAttempt(link.id);
    }
    // The link may have been deactivated (or its file replaced) while the passcode was checked.
    const current = this.store.linkById(link.id);
    if (current === undefined || !this.answers(current)) throw linkNotFound();
    const file = this.manifestFile(current, request);
    this.recordAccess(current, { recipient: request.recipient, kind: 'manifest', outcome: 'success' });
    return { kind: 'manifest', manifest: { files: [file] } };
  }

  /**
   * A `location` of a manifest: consumed by this request whatever follows.
   *
   * @throws HttpError SHL_LINK_NOT_FOUND (unknown, used or expired ticket; link no longer usable)
   */
  file(ticket: string): ServedFile {
    const issued = this.store.consumeTicket(sha256Hex(ticket), this.now());
    if (issued === undefined) throw linkNotFound();
    const link = this.store.linkById(issued.linkId);
    if (link === undefined || !this.answers(link)) throw linkNotFound();
    this.recordAccess(link, { recipient: issued.recipient, kind: 'file', outcome: 'success' });
    return { jwe: link.jwe };
  }

  /**
   * A `U` link's `GET {url}?recipient=…`.
   *
   * @throws HttpError SHL_LINK_NOT_FOUND (also for a link that is not `U`: its file needs the manifest request)
   */
  direct(manifestId: string, recipient: string): ServedFile {
    const link = this.usableLink(manifestId);
    if (!link.flag.includes('U')) throw linkNotFound();
    this.recordAccess(link, { recipient, kind: 'direct', outcome: 'success' });
    return { jwe: link.jwe };
  }

  private usableLink(manifestId: string): ShareLinkRow & { readonly jwe: string } {
    const link = this.store.linkByManifest(sha256Hex(manifestId));
    if (link === undefined || !this.answers(link)) throw linkNotFound();
    return link;
  }

  /** Whether a link is served: active, unexpired, attempts left, its patient still an active patient. */
  private answers(link: ShareLinkRow): boolean {
    return statusOf(link, this.now()) === 'active' && this.isActivePatient(link.patient);
  }

  private manifestFile(link: ShareLinkRow & { readonly jwe: string }, request: ManifestRequest): ShlManifestFile {
    const common = {
      contentType: link.contentType,
      lastUpdated: new Date(link.updatedAt).toISOString(),
      // Spec: whether the file may change (an `L` link's does), and its FHIR version.
      status: link.flag.includes('L') ? 'can-change' : 'finalized',
      ...(link.contentType === FHIR_JSON_CONTENT_TYPE ? { fhirVersion: '4.0.1' } : {}),
    };
    if (request.embeddedLengthMax !== undefined && link.jwe.length <= request.embeddedLengthMax) {
      return { ...common, embedded: link.jwe };
    }
    const ticket = toBase64Url(new Uint8Array(randomBytes(SECRET_BYTES)));
    const now = this.now();
    this.store.issueTicket({
      ticketHash: sha256Hex(ticket),
      linkId: link.id,
      recipient: request.recipient,
      expiresAt: now + FILE_TICKET_TTL_MS,
      now,
    });
    return { ...common, location: `${this.base}${SHL_FILE_PATH}/${ticket}` };
  }

  private recordAccess(
    link: ShareLinkRow,
    access: { readonly recipient: string; readonly kind: 'manifest' | 'file' | 'direct'; readonly outcome: 'success' | 'denied' },
  ): void {
    this.store.recordAccess({ linkId: link.id, at: this.now(), ...access });
    // The recipient is free text and stays off the ledger.
    this.audit.record([{ actor: this.nodeDid, patient: link.patient, action: 'share-link', outcome: access.outcome }]);
  }

  private ownLink(id: string, patient: string): ShareLinkRow {
    const link = this.store.linkById(id);
    if (link === undefined || link.patient !== patient) throw linkNotFound();
    return link;
  }

  private view(link: ShareLinkRow, accesses: ReadonlyArray<{ at: number; recipient: string; kind: ShareLinkView['accesses'][number]['kind']; outcome: 'success' | 'denied' }>): ShareLinkView {
    return {
      id: link.id,
      flag: link.flag,
      label: link.label,
      exp: link.expiresAt === null ? null : Math.floor(link.expiresAt / 1000),
      status: statusOf(link, this.now()),
      passcode: link.passcodeHash !== null,
      remainingAttempts: link.attemptsLeft,
      contentType: link.contentType,
      createdAt: link.createdAt,
      updatedAt: link.updatedAt,
      accesses: accesses.map(({ at, recipient, kind, outcome }) => ({ at, recipient, kind, outcome })),
      sealedKey: link.sealedKey,
    };
  }
}

/** Whether a link answers, or why not. */
function statusOf(link: ShareLinkRow, now: number): ShareLinkView['status'] {
  if (!link.active) return 'deactivated';
  if (link.expiresAt !== null && link.expiresAt <= now) return 'expired';
  if (link.attemptsLeft !== null && link.attemptsLeft <= 0) return 'exhausted';
  return 'active';
}

/** The one answer for every link that does not answer (spec: 404). */
function linkNotFound(): HttpError {
  return new HttpError('SHL_LINK_NOT_FOUND', 'no active SMART Health Link here');
}

/** Checks a sealed key's shape (the node cannot open it: it only keeps garbage out). */
function assertSealedKey(sealedKey: string): void {
  if (sealedKey.length > MAX_SHL_SEALED_KEY_CHARS || !SEALED_KEY_SHAPE.test(sealedKey)) {
    throw new HttpError('SHL_SEALED_KEY_INVALID', `"sealedKey" must be "v1.<iv>.<ciphertext>" (base64url, at most ${MAX_SHL_SEALED_KEY_CHARS} characters)`);
  }
}

/**
 * Checks that an upload is what the spec's receivers can open: a compact JWE (five parts) with
 * `alg: dir`, `enc: A256GCM` and a `cty` of the link's content type (the node cannot decrypt it).
 */
function assertFile(jwe: string, contentType: string): void {
  if (!(SHL_CONTENT_TYPES as readonly string[]).includes(contentType)) {
    throw new HttpError('SHL_FILE_INVALID', `"contentType" must be one of ${SHL_CONTENT_TYPES.join(', ')}`);
  }
  if (jwe.length > MAX_SHL_JWE_CHARS) throw new HttpError('PAYLOAD_TOO_LARGE', `a link's file is at most ${MAX_SHL_JWE_CHARS} characters`);
  const parts = jwe.split('.');
  if (parts.length !== 5 || parts[1] !== '' || !parts.every((part) => /^[A-Za-z0-9_-]*$/.test(part))) {
    throw new HttpError('SHL_FILE_INVALID', '"jwe" must be a compact JWE with alg "dir" (five base64url parts, no encrypted key)');
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwe);
  } catch {
    throw new HttpError('SHL_FILE_INVALID', '"jwe" has no readable protected header');
  }
  if (header.alg !== 'dir' || header.enc !== 'A256GCM' || header.cty !== contentType) {
    throw new HttpError('SHL_FILE_INVALID', `"jwe" must be encrypted with alg "dir", enc "A256GCM" and cty "${contentType}"`);
  }
}
