/**
 * The SMART Health Link payload and the `shlink:/` text (HL7 SMART Health Cards and Links IG,
 * "Construct a SMART Health Link Payload"): minified JSON `{ url, key, exp?, flag?, label?, v? }`,
 * base64url-encoded, prefixed with `shlink:/`, optionally behind a viewer URL ending in `#` (the
 * fragment never reaches a server, so neither does the key).
 *
 * Building is strict (only what Roam itself may hand out); reading follows the spec's rules for
 * receivers: unknown properties and unknown flag letters are ignored, the known fields are
 * checked. Browser-safe: no `node:` import.
 */
import { base64url } from 'jose';
import { z } from 'zod';
import { ShlError, ShlErrorCode } from './errors.js';

/** The URI scheme prefix of a bare link. */
export const SHLINK_PREFIX = 'shlink:/';
/** Spec: the manifest `url` SHALL NOT exceed 128 characters. */
export const MAX_SHL_URL_LENGTH = 128;
/** Spec: `label` no longer than 80 characters. */
export const MAX_SHL_LABEL_LENGTH = 80;
/** Spec: `key` is 43 characters, 32 random bytes base64url-encoded. */
export const SHL_KEY_LENGTH = 43;
export const SHL_KEY_BYTES = 32;
/** The protocol version this implementation speaks (payload `v`, 1 when absent). */
export const SHL_VERSION = 1;
/** Largest `shlink:/…` text read (a manifest URL of 128 characters and a label of 80 fit well within). */
export const MAX_SHLINK_LENGTH = 4096;
/**
 * A path segment of 43 base64url characters carries 256 bits (spec: the manifest URL SHALL
 * include at least 256 bits of entropy); Roam's node puts exactly such a segment in every URL.
 */
const ENTROPY_SEGMENT = /(?:^|\/)[A-Za-z0-9_-]{43,}(?:\/|$)/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** The flags of a link, by meaning (payload `flag`: the letters present, in alphabetical order). */
export interface ShlFlags {
  /** `L`: long-term use; the files behind the link can change over time. */
  readonly longTerm: boolean;
  /** `P`: the manifest request needs a passcode. */
  readonly passcode: boolean;
  /** `U`: the `url` answers the single encrypted file directly (`GET`), no manifest. Never with `P`. */
  readonly direct: boolean;
}

/** A SMART Health Link payload as read or built. */
export interface ShlPayload {
  /** The manifest URL (≤ 128 characters). */
  readonly url: string;
  /** The decryption key: 43 base64url characters (32 bytes). */
  readonly key: string;
  /** Expiry hint, epoch seconds. */
  readonly exp?: number;
  /** The flag letters, alphabetical (`L`, `P`, `U`, and letters a later version may add). */
  readonly flag?: string;
  /** A short description (≤ 80 characters): untrusted text, to be shown as text. */
  readonly label?: string;
  /** Protocol version (1 when absent). */
  readonly v?: number;
}

const keySchema = z
  .string()
  .length(SHL_KEY_LENGTH, `"key" must be ${SHL_KEY_LENGTH} base64url characters`)
  .regex(BASE64URL, '"key" must be base64url')
  .refine((key) => decodesTo32Bytes(key), `"key" must encode exactly ${SHL_KEY_BYTES} bytes`);

const urlSchema = z
  .string()
  .max(MAX_SHL_URL_LENGTH, `"url" must be at most ${MAX_SHL_URL_LENGTH} characters`)
  .refine(isHttpUrl, '"url" must be an absolute http(s) URL');

/** The known fields, checked; anything else in the object is ignored (spec: receivers SHALL ignore unknown properties). */
const payloadSchema = z.object({
  url: urlSchema,
  key: keySchema,
  exp: z.number().finite().nonnegative('"exp" must be epoch seconds').optional(),
  flag: z
    .string()
    .regex(/^[A-Z]{0,26}$/, '"flag" must be upper-case flag letters')
    .optional(),
  label: z.string().max(MAX_SHL_LABEL_LENGTH, `"label" must be at most ${MAX_SHL_LABEL_LENGTH} characters`).optional(),
  v: z.number().int().positive('"v" must be a positive integer').optional(),
});

/** The flags of `flag` (letters other than L, P and U are ignored, as the spec says). */
export function shlFlagsOf(flag: string | undefined): ShlFlags {
  const letters = flag ?? '';
  return { longTerm: letters.includes('L'), passcode: letters.includes('P'), direct: letters.includes('U') };
}

/** The payload `flag` of `flags`: the letters in alphabetical order; undefined when none. */
export function shlFlagString(flags: Partial<ShlFlags>): string | undefined {
  const letters = `${flags.longTerm ? 'L' : ''}${flags.passcode ? 'P' : ''}${flags.direct ? 'U' : ''}`;
  return letters === '' ? undefined : letters;
}

/**
 * Checks flags as the spec requires of any link: `U` never with `P`.
 *
 * @throws ShlError SHL_FLAGS_CONFLICT
 */
export function assertShlFlags(flags: ShlFlags): void {
  if (flags.passcode && flags.direct) {
    throw new ShlError(
      ShlErrorCode.FLAGS_CONFLICT,
      'flag "U" (direct file) SHALL NOT be used together with "P" (passcode): a passcode needs the manifest request',
    );
  }
}

/**
 * Reads a SMART Health Link: a bare `shlink:/…`, or any text ending in `#shlink:/…` (a viewer
 * URL). The scheme is matched case-insensitively (RFC 3986 §3.1); the base64url payload is not.
 *
 * @throws ShlError SHL_MALFORMED (the message names the field), SHL_FLAGS_CONFLICT
 * @example parseShlink('https://viewer.example.org#shlink:/eyJ1cmwiOi…').label
 */
export function parseShlink(text: string): ShlPayload {
  if (typeof text !== 'string') throw malformed(`expected a string, got ${typeof text}`);
  const trimmed = text.trim();
  if (trimmed.length > MAX_SHLINK_LENGTH) throw malformed(`a link is at most ${MAX_SHLINK_LENGTH} characters`);
  const encoded = shlinkBody(trimmed);
  if (encoded === undefined) throw malformed(`not a SMART Health Link: expected "${SHLINK_PREFIX}…" or a viewer URL ending in "#${SHLINK_PREFIX}…"`);
  if (encoded === '' || !BASE64URL.test(encoded)) throw malformed('the payload after "shlink:/" must be base64url');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64url.decode(encoded)));
  } catch {
    throw malformed('the payload is not base64url-encoded JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw malformed('the payload is not a JSON object');
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) throw malformed(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'payload'}: ${issue.message}`).join('; '));
  const payload = withoutUndefined(parsed.data);
  assertShlFlags(shlFlagsOf(payload.flag));
  return payload;
}

/** What `buildShlink` needs: the payload fields, with flags by meaning. */
export interface BuildShlinkOptions {
  readonly url: string;
  readonly key: string;
  /** Expiry, epoch seconds (an integer). */
  readonly exp?: number;
  readonly flags?: Partial<ShlFlags>;
  readonly label?: string;
}

/**
 * Builds the bare `shlink:/…` text of a link Roam hands out: the URL must carry a 43-character
 * random path segment (≥ 256 bits), the key 32 bytes, the flags no `P` with `U`.
 *
 * @throws ShlError SHL_MALFORMED (naming the field), SHL_FLAGS_CONFLICT
 * @example buildShlink({ url: manifestUrl, key: generateShlKey(), flags: { passcode: true }, label: 'My summary' })
 */
export function buildShlink(options: BuildShlinkOptions): string {
  const flags: ShlFlags = {
    longTerm: options.flags?.longTerm ?? false,
    passcode: options.flags?.passcode ?? false,
    direct: options.flags?.direct ?? false,
  };
  assertShlFlags(flags);
  const url = urlSchema.safeParse(options.url);
  if (!url.success) throw malformed(url.error.issues[0]?.message ?? '"url" is invalid');
  if (!ENTROPY_SEGMENT.test(new URL(options.url).pathname)) {
    throw malformed('"url" must carry at least 256 bits of entropy: a path segment of 43 or more base64url characters');
  }
  const key = keySchema.safeParse(options.key);
  if (!key.success) throw malformed(key.error.issues[0]?.message ?? '"key" is invalid');
  if (options.exp !== undefined && !(Number.isSafeInteger(options.exp) && options.exp > 0)) {
    throw malformed('"exp" must be a positive integer of epoch seconds');
  }
  if (options.label !== undefined && options.label.length > MAX_SHL_LABEL_LENGTH) {
    throw malformed(`"label" must be at most ${MAX_SHL_LABEL_LENGTH} characters`);
  }
  const flag = shlFlagString(flags);
  // Spec order of the example; minified by JSON.stringify.
  const payload: ShlPayload = {
    url: options.url,
    ...(flag === undefined ? {} : { flag }),
    key: options.key,
    ...(options.exp === undefined ? {} : { exp: options.exp }),
    ...(options.label === undefined ? {} : { label: options.label }),
    v: SHL_VERSION,
  };
  return SHLINK_PREFIX + base64url.encode(new TextEncoder().encode(JSON.stringify(payload)));
}

/**
 * The link behind a viewer URL: `<viewerUrl>#shlink:/…` (spec: "optionally prefixed with a viewer
 * URL that ends with `#`"). Any fragment of `viewerUrl` is replaced.
 */
export function viewerLink(viewerUrl: string, shlink: string): string {
  if (!shlink.startsWith(SHLINK_PREFIX)) throw malformed(`expected a bare "${SHLINK_PREFIX}…" link`);
  return `${viewerUrl.split('#', 1)[0] ?? ''}#${shlink}`;
}

/** The base64url text after `shlink:/` in `text` (bare or behind `#`), or undefined. */
function shlinkBody(text: string): string | undefined {
  const lower = text.toLowerCase();
  if (lower.startsWith(SHLINK_PREFIX)) return text.slice(SHLINK_PREFIX.length);
  const at = lower.indexOf(`#${SHLINK_PREFIX}`);
  return at < 0 ? undefined : text.slice(at + 1 + SHLINK_PREFIX.length);
}

function decodesTo32Bytes(key: string): boolean {
  try {
    const bytes = base64url.decode(key);
    // Canonical only: the last character's unused bits are zero (else two texts name one key).
    return bytes.length === SHL_KEY_BYTES && base64url.encode(bytes) === key;
  } catch {
    return false;
  }
}

function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'https:' || protocol === 'http:';
}

function withoutUndefined(payload: z.infer<typeof payloadSchema>): ShlPayload {
  return Object.fromEntries(Object.entries(payload).filter(([, value]) => value !== undefined)) as unknown as ShlPayload;
}

function malformed(detail: string): ShlError {
  return new ShlError(ShlErrorCode.MALFORMED, `malformed SMART Health Link: ${detail}`);
}
