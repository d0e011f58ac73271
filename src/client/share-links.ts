/**
 * A patient's SMART Health Links through a node (`/shl/links`, src/node/shl): the document is
 * encrypted here, on the patient's side, with a fresh key; the node receives only the ciphertext
 * and answers the manifest URL; the link (`<viewerUrl>#shlink:/…`, with the key) is put together
 * here and never sent to the node. Used by `roam shl` and the web portal. Fetch only.
 */
import {
  buildShlink,
  encryptShlFile,
  FHIR_JSON_CONTENT_TYPE,
  generateShlKey,
  shlFlagString,
  viewerLink,
  type ShlFlags,
} from '../shl/index.js';
import {
  SHL_LINKS_PATH,
  SHL_MANIFEST_PATH,
  SHL_VIEWER_PATH,
  type ReplaceShareLinkFileRequest,
  type SealShareLinkKeyRequest,
  type CreateShareLinkRequest,
  type ShareLinkCreated,
  type ShareLinkListResponse,
  type ShareLinkView,
} from '../wire/index.js';
import { DEFAULT_CLIENT_TIMEOUT_MS } from './http-client.js';
import { requestJson } from './request.js';
import { openLinkSecret, sealLinkSecret, shlinkOf, type LinkKeyHolder, type LinkSecret } from './share-link-keys.js';

export interface ShareLinkClientOptions {
  /** The node's base URL. */
  readonly baseUrl: string;
  /** The patient's access token. */
  readonly accessToken: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  /**
   * The patient's wallet: each new link is sealed with it and kept at the node
   * (share-link-keys.ts), so the wallet can show it again and refresh it. Without it links are
   * made as before (the caller keeps the key).
   */
  readonly holder?: LinkKeyHolder;
}

/** What the patient chooses for a new link. */
export interface NewShareLinkOptions {
  /** The file: a FHIR document (the IPS) as JSON. */
  readonly document: unknown;
  readonly flags?: Partial<ShlFlags>;
  /** Required exactly with `flags.passcode`. */
  readonly passcode?: string;
  /** Expiry, epoch seconds. */
  readonly exp?: number;
  readonly label?: string;
  /** `recordsDigest` of the record `document` was built from (sealed with the link: refreshes compare it). */
  readonly builtFrom?: string;
}

/** A link just created: what to hand over, and the link as the node lists it. */
export interface CreatedShareLink {
  /** `<viewerUrl>#shlink:/…`: what the QR code holds. */
  readonly link: string;
  /** The bare `shlink:/…`. */
  readonly shlink: string;
  /** The key, for refreshing an `L` link's file later (keep it with the patient only). */
  readonly key: string;
  readonly view: ShareLinkView;
}

/** A link opened from its sealed key: the same text as when it was created. */
export interface RebuiltShareLink {
  /** `<viewerUrl>#shlink:/…`. */
  readonly link: string;
  readonly shlink: string;
  readonly secret: LinkSecret;
}

/** The patient's calls of `/shl/links`. */
export class ShareLinkClient {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: ShareLinkClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
  }

  /**
   * Encrypts `options.document` with a fresh key, uploads the ciphertext and builds the link.
   *
   * @throws ShlError (a bad flag, label or expiry) before anything is sent; RoamApiError with the node's code
   * @example const { link } = await new ShareLinkClient({ baseUrl, accessToken }).create({ document: ips, flags: { passcode: true }, passcode });
   */
  async create(options: NewShareLinkOptions): Promise<CreatedShareLink> {
    const key = generateShlKey();
    const jwe = await encryptShlFile({ key, plaintext: JSON.stringify(options.document), contentType: FHIR_JSON_CONTENT_TYPE });
    const flag = shlFlagString(options.flags ?? {});
    const body: CreateShareLinkRequest = {
      jwe,
      ...(flag === undefined ? {} : { flag }),
      ...(options.passcode === undefined ? {} : { passcode: options.passcode }),
      ...(options.exp === undefined ? {} : { exp: options.exp }),
      ...(options.label === undefined ? {} : { label: options.label }),
      contentType: FHIR_JSON_CONTENT_TYPE,
    };
    const created = await this.call<ShareLinkCreated>('POST', SHL_LINKS_PATH, body);
    const shlink = buildShlink({
      url: created.url,
      key,
      ...(options.exp === undefined ? {} : { exp: options.exp }),
      ...(options.flags === undefined ? {} : { flags: options.flags }),
      ...(options.label === undefined ? {} : { label: options.label }),
    });
    const link = viewerLink(created.viewerUrl, shlink);
    if (this.options.holder === undefined) return { link, shlink, key, view: created.link };
    const secret: LinkSecret = {
      url: created.url,
      key,
      ...(options.exp === undefined ? {} : { exp: options.exp }),
      ...(flag === undefined ? {} : { flag }),
      ...(options.label === undefined ? {} : { label: options.label }),
      ...(options.builtFrom === undefined ? {} : { builtFrom: options.builtFrom }),
    };
    try {
      const view = await this.seal(created.link.id, secret);
      return { link, shlink, key, view };
    } catch (error) {
      // A link whose key could not be kept is switched off: the wallet could never show or refresh it.
      await this.deactivate(created.link.id).catch(() => undefined);
      throw error;
    }
  }

  /** Stores `secret` at the node, sealed by the wallet, for link `id`. */
  async seal(id: string, secret: LinkSecret): Promise<ShareLinkView> {
    const sealedKey = await sealLinkSecret({ holder: this.requireHolder(), linkId: id, secret });
    const body: SealShareLinkKeyRequest = { sealedKey };
    return this.call<ShareLinkView>('PUT', `${SHL_LINKS_PATH}/${encodeURIComponent(id)}/sealed-key`, body);
  }

  /**
   * The link `view` as it was handed out, opened from its sealed key (to show its QR code again).
   *
   * @throws ShareLinkKeyError SHL_KEY_NOT_SEALED ("QR not available"), SHL_KEY_INVALID
   */
  async rebuild(view: ShareLinkView): Promise<RebuiltShareLink> {
    const secret = await openLinkSecret({ holder: this.requireHolder(), linkId: view.id, sealedKey: view.sealedKey });
    const shlink = shlinkOf(secret);
    return { link: viewerLink(viewerUrlOf(secret.url), shlink), shlink, secret };
  }

  /**
   * Replaces the file of long-term link `view` with `document`, encrypted with the key its sealed
   * key holds, and reseals the link with `builtFrom`.
   *
   * @throws ShareLinkKeyError (no usable sealed key); RoamApiError SHL_LINK_INACTIVE, SHL_NOT_LONG_TERM, SHL_LINK_NOT_FOUND
   */
  async refreshSealed(options: { readonly view: ShareLinkView; readonly document: unknown; readonly builtFrom?: string }): Promise<ShareLinkView> {
    const holder = this.requireHolder();
    const secret = await openLinkSecret({ holder, linkId: options.view.id, sealedKey: options.view.sealedKey });
    const resealed: LinkSecret = { ...secret, ...(options.builtFrom === undefined ? {} : { builtFrom: options.builtFrom }) };
    const body: ReplaceShareLinkFileRequest = {
      jwe: await encryptShlFile({ key: secret.key, plaintext: JSON.stringify(options.document), contentType: FHIR_JSON_CONTENT_TYPE }),
      sealedKey: await sealLinkSecret({ holder, linkId: options.view.id, secret: resealed }),
    };
    return this.call<ShareLinkView>('PUT', `${SHL_LINKS_PATH}/${encodeURIComponent(options.view.id)}/file`, body);
  }

  /** The patient's links with their accesses. */
  async list(): Promise<ShareLinkView[]> {
    return [...(await this.call<ShareLinkListResponse>('GET', SHL_LINKS_PATH)).links];
  }

  /** Deactivates link `id` at once. */
  deactivate(id: string): Promise<ShareLinkView> {
    return this.call<ShareLinkView>('DELETE', `${SHL_LINKS_PATH}/${encodeURIComponent(id)}`);
  }

  /** Replaces the file of long-term link `id` with `document`, encrypted again with the link's `key` (fresh IV). */
  async refresh(id: string, key: string, document: unknown): Promise<ShareLinkView> {
    const jwe = await encryptShlFile({ key, plaintext: JSON.stringify(document), contentType: FHIR_JSON_CONTENT_TYPE });
    return this.call<ShareLinkView>('PUT', `${SHL_LINKS_PATH}/${encodeURIComponent(id)}/file`, { jwe });
  }

  private requireHolder(): LinkKeyHolder {
    if (this.options.holder === undefined) throw new TypeError('ShareLinkClient: a wallet ("holder") is needed to seal or open links');
    return this.options.holder;
  }

  private call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    return requestJson<T>({
      fetchFn: this.fetchFn,
      method,
      url: `${this.base}${path}`,
      ...(body === undefined ? {} : { body }),
      bearer: this.options.accessToken,
      timeoutMs: this.timeoutMs,
    });
  }
}

/**
 * The viewer URL a link was handed out behind: its node serves the manifest at
 * `<publicUrl>/shl/m/<secret>` and the viewer at `<publicUrl>/shl`, so the same text comes back.
 */
function viewerUrlOf(manifestUrl: string): string {
  const at = manifestUrl.lastIndexOf(`${SHL_MANIFEST_PATH}/`);
  return `${at < 0 ? new URL(manifestUrl).origin : manifestUrl.slice(0, at)}${SHL_VIEWER_PATH}`;
}
