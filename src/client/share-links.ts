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
  type CreateShareLinkRequest,
  type ShareLinkCreated,
  type ShareLinkListResponse,
  type ShareLinkView,
} from '../wire/index.js';
import { DEFAULT_CLIENT_TIMEOUT_MS } from './http-client.js';
import { requestJson } from './request.js';

export interface ShareLinkClientOptions {
  /** The node's base URL. */
  readonly baseUrl: string;
  /** The patient's access token. */
  readonly accessToken: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
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
    return { link: viewerLink(created.viewerUrl, shlink), shlink, key, view: created.link };
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
