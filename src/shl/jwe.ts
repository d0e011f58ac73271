/**
 * Encrypting and decrypting the files behind a SMART Health Link (spec: "Encrypting and
 * Decrypting Files"): compact JWE, `alg: dir`, `enc: A256GCM`, `cty` the file's content type, with
 * the link's 32-byte key. `jose` picks a fresh random 96-bit IV for every encryption (spec: the
 * same key serves every version of a file, so the IV SHALL be unique each time). A `zip: DEF`
 * JWE from another server is inflated by `jose`, up to MAX_SHL_PLAINTEXT_BYTES. Browser-safe.
 */
import { base64url, CompactEncrypt, compactDecrypt, decodeProtectedHeader, errors } from 'jose';
import { ShlError, ShlErrorCode } from './errors.js';
import { SHL_KEY_BYTES } from './payload.js';

/** The content type of a FHIR resource file (an IPS document Bundle). */
export const FHIR_JSON_CONTENT_TYPE = 'application/fhir+json';
/** The content type of a SMART Health Card file. */
export const SMART_HEALTH_CARD_CONTENT_TYPE = 'application/smart-health-card';
/** The content type of a SMART access token file. */
export const SMART_API_ACCESS_CONTENT_TYPE = 'application/smart-api-access';
/** The spec's file content types (the manifest's `contentType`, the JWE's `cty`). */
export const SHL_CONTENT_TYPES = [
  FHIR_JSON_CONTENT_TYPE,
  SMART_HEALTH_CARD_CONTENT_TYPE,
  SMART_API_ACCESS_CONTENT_TYPE,
] as const;
/** The media type of an encrypted file answered by `location` or a `U` link. */
export const JOSE_MEDIA_TYPE = 'application/jose';
/** Largest plaintext decrypted or inflated (a patient summary is far smaller). */
export const MAX_SHL_PLAINTEXT_BYTES = 8 * 1024 * 1024;

/** A fresh link key: 32 random bytes, base64url (43 characters). */
export function generateShlKey(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(SHL_KEY_BYTES)));
}

export interface EncryptShlFileOptions {
  /** The link's key (43 base64url characters). */
  readonly key: string;
  /** The file: bytes, or text encoded as UTF-8. */
  readonly plaintext: Uint8Array | string;
  /** The JWE's `cty` (default application/fhir+json). */
  readonly contentType?: string;
}

/**
 * The compact JWE of one file (a fresh IV every call).
 *
 * @throws ShlError SHL_MALFORMED for a key that is not 32 bytes
 * @example const jwe = await encryptShlFile({ key, plaintext: JSON.stringify(ipsBundle) });
 */
export async function encryptShlFile(options: EncryptShlFileOptions): Promise<string> {
  const plaintext = typeof options.plaintext === 'string' ? new TextEncoder().encode(options.plaintext) : options.plaintext;
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: options.contentType ?? FHIR_JSON_CONTENT_TYPE })
    .encrypt(keyBytes(options.key));
}

/** A decrypted file. */
export interface ShlFile {
  /** The JWE's `cty` (undefined when the JWE names none). */
  readonly contentType: string | undefined;
  readonly plaintext: Uint8Array;
}

/**
 * Decrypts a compact JWE with the link's key. Only `dir` + `A256GCM` is accepted, whatever the
 * header asks (no algorithm is chosen by the sender).
 *
 * @throws ShlError SHL_UNSUPPORTED_ENCRYPTION, SHL_DECRYPT_FAILED
 */
export async function decryptShlFile(options: { readonly key: string; readonly jwe: string }): Promise<ShlFile> {
  const key = keyBytes(options.key);
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(options.jwe);
  } catch (cause) {
    throw new ShlError(ShlErrorCode.UNSUPPORTED_ENCRYPTION, 'the file is not a compact JWE', { cause });
  }
  if (header.alg !== 'dir' || header.enc !== 'A256GCM') {
    throw new ShlError(
      ShlErrorCode.UNSUPPORTED_ENCRYPTION,
      `the file's JWE must use alg "dir" and enc "A256GCM" (got ${String(header.alg)}, ${String(header.enc)})`,
    );
  }
  try {
    const { plaintext, protectedHeader } = await compactDecrypt(options.jwe, key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
      maxDecompressedLength: MAX_SHL_PLAINTEXT_BYTES,
    });
    const contentType = typeof protectedHeader.cty === 'string' ? protectedHeader.cty : undefined;
    return { contentType, plaintext };
  } catch (cause) {
    if (cause instanceof errors.JOSENotSupported) {
      throw new ShlError(ShlErrorCode.UNSUPPORTED_ENCRYPTION, `the file's JWE is not supported: ${cause.message}`, { cause });
    }
    throw new ShlError(ShlErrorCode.DECRYPT_FAILED, 'the file does not decrypt with the link\'s key', { cause });
  }
}

function keyBytes(key: string): Uint8Array {
  let bytes: Uint8Array | undefined;
  try {
    bytes = base64url.decode(key);
  } catch {
    bytes = undefined;
  }
  if (bytes?.length !== SHL_KEY_BYTES) {
    throw new ShlError(ShlErrorCode.MALFORMED, `malformed SMART Health Link: "key" must encode exactly ${SHL_KEY_BYTES} bytes`);
  }
  return bytes;
}
