/**
 * The receiving side of a SMART Health Link (spec: "SMART Health Link Manifest Request", "Direct
 * File Request"): `POST {url}` with `{ recipient, passcode?, embeddedLengthMax? }` answers the
 * manifest `{ files: [{ contentType, embedded | location }] }`; each `location` is fetched once
 * (`GET`, `application/jose`); a `U` link's `url` answers its one file to `GET {url}?recipient=…`.
 * Every file is decrypted with the link's key. This is what the web viewer runs for links of any
 * server, so everything read here is untrusted: the manifest is checked, the files are returned
 * as bytes for the caller to parse. Browser-safe (fetch only).
 */
import { z } from 'zod';
import { ShlError, ShlErrorCode } from './errors.js';
import { decryptShlFile } from './jwe.js';
import { shlFlagsOf, SHL_VERSION, type ShlPayload } from './payload.js';

/** Spec: the manifest request body. */
export interface ShlManifestRequest {
  /** Who is asking, as the receiving user describes themselves (shown to the sharer). */
  readonly recipient: string;
  readonly passcode?: string;
  /** Longest `embedded` JWE the receiver accepts; longer files come as `location`. */
  readonly embeddedLengthMax?: number;
}

/** Spec: one file of a manifest (`embedded` or `location`). */
export interface ShlManifestFile {
  readonly contentType: string;
  readonly embedded?: string;
  readonly location?: string;
  readonly lastUpdated?: string;
  readonly status?: string;
  readonly fhirVersion?: string;
}

/** Spec: the manifest. */
export interface ShlManifest {
  readonly files: readonly ShlManifestFile[];
}

/** Spec: the body of a 401 answer to a wrong passcode. */
export interface ShlPasscodeRefusal {
  readonly remainingAttempts: number;
}

/** Longest manifest and file answer read. */
export const MAX_SHL_RESPONSE_CHARS = 16 * 1024 * 1024;
/** Most files of one manifest processed. */
export const MAX_SHL_MANIFEST_FILES = 100;

const manifestSchema = z.object({
  files: z
    .array(
      z
        .object({
          contentType: z.string().min(1).max(200),
          embedded: z.string().min(1).optional(),
          location: z.string().url().optional(),
          lastUpdated: z.string().max(64).optional(),
          status: z.string().max(64).optional(),
          fhirVersion: z.string().max(32).optional(),
        })
        .refine((file) => (file.embedded === undefined) !== (file.location === undefined), 'each file has either "embedded" or "location"'),
    )
    .max(MAX_SHL_MANIFEST_FILES),
});

/** A decrypted file of a link. */
export interface ShlResolvedFile {
  /** The manifest's `contentType` (for a `U` link: the JWE's `cty`). */
  readonly contentType: string;
  readonly plaintext: Uint8Array;
  /** The file as UTF-8 text. */
  readonly text: string;
}

export interface ResolveShlinkOptions {
  readonly payload: ShlPayload;
  /** Who is asking (spec: required; shown to the patient). */
  readonly recipient: string;
  /** Required for `P` links. */
  readonly passcode?: string;
  readonly embeddedLengthMax?: number;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
}

/**
 * Fetches and decrypts every file behind a link.
 *
 * @throws ShlError SHL_UNSUPPORTED_VERSION, SHL_PASSCODE_REQUIRED, SHL_PASSCODE_WRONG (with
 *   `remainingAttempts`), SHL_NOT_ACTIVE, SHL_BAD_RESPONSE, SHL_NETWORK_ERROR,
 *   SHL_UNSUPPORTED_ENCRYPTION, SHL_DECRYPT_FAILED
 * @example
 * const payload = parseShlink(location.hash);
 * const files = await resolveShlink({ payload, recipient: 'Dr. Rossi, Ospedale San Carlo', passcode });
 */
export async function resolveShlink(options: ResolveShlinkOptions): Promise<ShlResolvedFile[]> {
  const { payload } = options;
  if ((payload.v ?? SHL_VERSION) > SHL_VERSION) {
    throw new ShlError(ShlErrorCode.UNSUPPORTED_VERSION, `this link is of protocol version ${payload.v}; this viewer speaks version ${SHL_VERSION}`);
  }
  // Before anything is sent (the recipient, a passcode): a link in the clear is refused outright.
  assertSecureUrl(payload.url);
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const flags = shlFlagsOf(payload.flag);
  if (flags.direct) {
    const url = new URL(payload.url);
    url.searchParams.set('recipient', options.recipient);
    const jwe = await fetchText(fetchFn, url.href, { method: 'GET' });
    const file = await decryptShlFile({ key: payload.key, jwe });
    return [resolved(file.contentType ?? 'application/octet-stream', file.plaintext)];
  }
  if (flags.passcode && (options.passcode === undefined || options.passcode === '')) {
    throw new ShlError(ShlErrorCode.PASSCODE_REQUIRED, 'this link is protected by a passcode: ask the patient for it');
  }
  const body: ShlManifestRequest = {
    recipient: options.recipient,
    ...(flags.passcode && options.passcode !== undefined ? { passcode: options.passcode } : {}),
    ...(options.embeddedLengthMax === undefined ? {} : { embeddedLengthMax: options.embeddedLengthMax }),
  };
  const manifestText = await fetchText(fetchFn, payload.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const manifest = parseManifest(manifestText);
  const files: ShlResolvedFile[] = [];
  for (const entry of manifest.files) {
    const jwe = entry.embedded ?? (await fetchText(fetchFn, entry.location ?? '', { method: 'GET' }));
    const file = await decryptShlFile({ key: payload.key, jwe });
    files.push(resolved(entry.contentType, file.plaintext));
  }
  return files;
}

/**
 * Checks a manifest's shape (spec: `files`, each with `contentType` and exactly one of
 * `embedded` and `location`).
 *
 * @throws ShlError SHL_BAD_RESPONSE
 */
export function parseManifest(text: string): ShlManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ShlError(ShlErrorCode.BAD_RESPONSE, 'the link\'s server answered a manifest that is not JSON');
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new ShlError(ShlErrorCode.BAD_RESPONSE, `the link's server answered an invalid manifest: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return parsed.data as ShlManifest;
}

function resolved(contentType: string, plaintext: Uint8Array): ShlResolvedFile {
  return { contentType, plaintext, text: new TextDecoder().decode(plaintext) };
}

/** The body of a 2xx answer; a 401 or 404 becomes the spec's meaning, anything else BAD_RESPONSE. */
async function fetchText(fetchFn: typeof fetch, url: string, init: RequestInit): Promise<string> {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new ShlError(ShlErrorCode.BAD_RESPONSE, 'the link names a URL that is not http(s)');
  }
  assertSecureUrl(url);
  let response: Response;
  try {
    // No cookies or credentials of the viewer's own origin go to another server.
    response = await fetchFn(url, { ...init, credentials: 'omit', redirect: 'error' });
  } catch (cause) {
    throw new ShlError(ShlErrorCode.NETWORK_ERROR, `the link's server could not be reached (${new URL(url).origin})`, { cause });
  }
  const text = await response.text();
  if (text.length > MAX_SHL_RESPONSE_CHARS) throw new ShlError(ShlErrorCode.BAD_RESPONSE, 'the link\'s server answered more than a link may hold');
  if (response.ok) return text;
  if (response.status === 404) {
    throw new ShlError(ShlErrorCode.NOT_ACTIVE, 'this link is no longer active (deactivated, expired, used up, or never existed)');
  }
  if (response.status === 401) {
    const remaining = remainingAttemptsOf(text);
    throw new ShlError(
      ShlErrorCode.PASSCODE_WRONG,
      remaining === undefined ? 'the passcode was refused' : `the passcode was refused; ${remaining} attempt${remaining === 1 ? '' : 's'} left`,
      remaining === undefined ? {} : { remainingAttempts: remaining },
    );
  }
  throw new ShlError(ShlErrorCode.BAD_RESPONSE, `the link's server answered ${response.status}`);
}

/**
 * Hosts that are this machine: plain http to them never crosses a network (a node run for
 * development or a test), so it is let through; http to any other host is not.
 */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Spec: the manifest URL and every `location` are https. A recipient, a passcode and the
 * patient's encrypted file would otherwise cross the network in the clear.
 *
 * @throws ShlError SHL_INSECURE_URL
 */
export function assertSecureUrl(url: string): void {
  const parsed = new URL(url);
  if (parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname)) {
    throw new ShlError(
      ShlErrorCode.INSECURE_URL,
      `this link's server (${parsed.host}) is not reached over https: SMART Health Links must use https, so this viewer does not open it (ask the patient for a new link)`,
    );
  }
}

function remainingAttemptsOf(text: string): number | undefined {
  try {
    const body = JSON.parse(text) as Partial<ShlPasscodeRefusal> | null;
    const remaining = body?.remainingAttempts;
    return typeof remaining === 'number' && Number.isSafeInteger(remaining) && remaining >= 0 ? remaining : undefined;
  } catch {
    return undefined;
  }
}
