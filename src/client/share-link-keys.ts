/**
 * A SMART Health Link kept with the patient's wallet: the link (`{url, key, exp, flag, label}`,
 * and a digest of what its file was built from) is sealed here with AES-256-GCM under a key the
 * wallet derives (HKDF-SHA256 of the BIP-39 master seed, info `roam/shl-link-keys/v1`), and the
 * sealed text is uploaded beside the link. The node keeps it opaque and answers it only to the
 * patient; any device holding the wallet (portal or CLI) opens it to show the QR code again or to
 * refresh a long-term link's file. The associated data binds it to one link id and one patient:
 * a sealed key moved to another link, or another patient's, does not open.
 *
 * Browser-safe: HKDF comes from the crypto layer's platform (noble in the browser) and AES-GCM
 * from WebCrypto, which Node has too.
 */
import { z } from 'zod';
import {
  CodedError,
  GCM_IV_LENGTH,
  fromBase64Url,
  hkdf,
  openAsync,
  sealAsync,
  sha256Hex,
  toBase64Url,
  utf8ToBytes,
} from '../crypto/index.js';
import { buildShlink, MAX_SHL_LABEL_LENGTH, parseShlink, shlFlagsOf, type ShlPayload } from '../shl/index.js';
import type { EncryptedRecordView, RecordsGap } from '../wire/index.js';

/** HKDF info of the key that seals a patient's links (a new version means a new key). */
export const SHL_LINK_KEYS_INFO = 'roam/shl-link-keys/v1';
/** HKDF salt: the wallet's own (every key of a wallet derives from its master seed with it). */
const WALLET_KDF_SALT = utf8ToBytes('roam-wallet-v1');
const SEALED_VERSION = 'v1';
const WRAPPING_KEY_BYTES = 32;

/** Codes of a sealed link that cannot be used. */
export const ShareLinkKeyErrorCode = {
  /** The wallet holds no master seed (not a patient wallet). */
  NO_MASTER_SEED: 'SHL_KEY_NO_MASTER_SEED',
  /** The link was made without a sealed key (before links kept one): its QR code cannot be shown again. */
  NOT_SEALED: 'SHL_KEY_NOT_SEALED',
  /** The sealed key does not open for this link and this wallet (another link's, another patient's, or altered). */
  INVALID: 'SHL_KEY_INVALID',
} as const;
export type ShareLinkKeyErrorCode = (typeof ShareLinkKeyErrorCode)[keyof typeof ShareLinkKeyErrorCode];

export class ShareLinkKeyError extends CodedError<ShareLinkKeyErrorCode> {
  override readonly name = 'ShareLinkKeyError';
}

/** What a wallet must hold to seal and open its links (a patient `Wallet` is one). */
export interface LinkKeyHolder {
  readonly did: string;
  readonly masterSeed?: Uint8Array | undefined;
}

/** What is sealed: enough to rebuild the link, and what its file was last built from. */
export interface LinkSecret {
  readonly url: string;
  readonly key: string;
  readonly exp?: number;
  readonly flag?: string;
  readonly label?: string;
  /** `recordsDigest` of the record the current file was built from (long-term links). */
  readonly builtFrom?: string;
}

const secretSchema = z.strictObject({
  url: z.string().min(1).max(128),
  key: z.string().length(43),
  exp: z.number().int().positive().optional(),
  flag: z.string().regex(/^L?P?U?$/).optional(),
  label: z.string().max(MAX_SHL_LABEL_LENGTH).optional(),
  builtFrom: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});

export interface SealLinkOptions {
  readonly holder: LinkKeyHolder;
  /** The node's id of the link (bound as associated data). */
  readonly linkId: string;
  readonly secret: LinkSecret;
}

/**
 * The link sealed under the wallet's link key: `v1.<iv>.<ciphertext>` (base64url).
 *
 * @throws ShareLinkKeyError SHL_KEY_NO_MASTER_SEED
 * @example const sealedKey = await sealLinkSecret({ holder: wallet, linkId: view.id, secret: { url, key } });
 */
export async function sealLinkSecret(options: SealLinkOptions): Promise<string> {
  const wrappingKey = linkWrappingKey(options.holder);
  try {
    const plaintext = utf8ToBytes(JSON.stringify(secretSchema.parse(options.secret)));
    const { iv, ciphertext } = await sealAsync(wrappingKey, plaintext, associatedData(options.holder.did, options.linkId));
    return [SEALED_VERSION, toBase64Url(iv), toBase64Url(ciphertext)].join('.');
  } finally {
    wrappingKey.fill(0);
  }
}

export interface OpenLinkOptions {
  readonly holder: LinkKeyHolder;
  readonly linkId: string;
  /** The view's `sealedKey` (null for a link made without one). */
  readonly sealedKey: string | null;
}

/**
 * Opens a sealed link, checking that it still makes a valid `shlink:/`.
 *
 * @throws ShareLinkKeyError SHL_KEY_NOT_SEALED, SHL_KEY_INVALID, SHL_KEY_NO_MASTER_SEED
 */
export async function openLinkSecret(options: OpenLinkOptions): Promise<LinkSecret> {
  if (options.sealedKey === null) {
    throw new ShareLinkKeyError(ShareLinkKeyErrorCode.NOT_SEALED, 'QR not available: this link was made without keeping its key with your wallet');
  }
  const [version, iv, ciphertext, ...rest] = options.sealedKey.split('.');
  if (version !== SEALED_VERSION || iv === undefined || ciphertext === undefined || rest.length > 0) throw invalid();
  const wrappingKey = linkWrappingKey(options.holder);
  let plaintext: Uint8Array;
  try {
    const ivBytes = fromBase64Url(iv);
    if (ivBytes.length !== GCM_IV_LENGTH) throw invalid();
    plaintext = await openAsync(wrappingKey, ivBytes, fromBase64Url(ciphertext), associatedData(options.holder.did, options.linkId));
  } catch {
    throw invalid();
  } finally {
    wrappingKey.fill(0);
  }
  let secret: LinkSecret;
  try {
    const parsed = secretSchema.parse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext)));
    secret = Object.fromEntries(Object.entries(parsed).filter(([, value]) => value !== undefined)) as unknown as LinkSecret;
    // The sealed fields must still make a link Roam would hand out (URL entropy, key length, flags).
    shlinkOf(secret);
  } catch {
    throw invalid();
  }
  return secret;
}

/** The bare `shlink:/…` of a sealed link. */
export function shlinkOf(secret: LinkSecret): string {
  return buildShlink({
    url: secret.url,
    key: secret.key,
    ...(secret.exp === undefined ? {} : { exp: secret.exp }),
    flags: shlFlagsOf(secret.flag),
    ...(secret.label === undefined ? {} : { label: secret.label }),
  });
}

/** The fields of a link's payload, to seal (inverse of `shlinkOf`). */
export function secretOfShlink(shlink: string): LinkSecret {
  const payload: ShlPayload = parseShlink(shlink);
  return {
    url: payload.url,
    key: payload.key,
    ...(payload.exp === undefined ? {} : { exp: payload.exp }),
    ...(payload.flag === undefined ? {} : { flag: payload.flag }),
    ...(payload.label === undefined ? {} : { label: payload.label }),
  };
}

/**
 * A digest of the ledger state of the patient's records as the wallet fetched them (each record's
 * custodian, id, version and anchored content hash; the custodians missing): it changes exactly
 * when a record is written, replaced or erased, or a custodian's answer is missing or back. A
 * long-term link is refreshed when its file was built from another digest. SHA-256, hex.
 */
export function recordsDigest(records: readonly EncryptedRecordView[], gaps: readonly RecordsGap[] = []): string {
  const lines = [
    ...records.map((r) => `r|${r.custodian}|${r.recordId}|${r.version}|${r.contentHash}`),
    ...gaps.map((g) => `g|${g.custodian}|${g.code}`),
  ].sort();
  return sha256Hex(utf8ToBytes(lines.join('\n')));
}

function linkWrappingKey(holder: LinkKeyHolder): Uint8Array {
  if (holder.masterSeed === undefined) {
    throw new ShareLinkKeyError(ShareLinkKeyErrorCode.NO_MASTER_SEED, "only a patient wallet keeps its links' keys");
  }
  return hkdf(holder.masterSeed, WALLET_KDF_SALT, utf8ToBytes(SHL_LINK_KEYS_INFO), WRAPPING_KEY_BYTES);
}

function associatedData(patientDid: string, linkId: string): Uint8Array {
  return utf8ToBytes(`${SHL_LINK_KEYS_INFO}\n${linkId}\n${patientDid}`);
}

function invalid(): ShareLinkKeyError {
  return new ShareLinkKeyError(
    ShareLinkKeyErrorCode.INVALID,
    "this link's sealed key does not open with your wallet for this link (it belongs to another link or patient, or was altered)",
  );
}
