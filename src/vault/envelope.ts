/**
 * Envelope encryption of one record version (shared/ARCHITECTURE.md, "Records and keys"):
 * the resource is encrypted under a fresh random 256-bit data key (DEK) with AES-256-GCM, and the
 * DEK is wrapped under the patient's record key (KEK) of the version's class and epoch, also with
 * AES-256-GCM. Associated data binds the ciphertext to its record id, version and patient, and the
 * wrapped DEK additionally to its class and epoch, so neither can be moved to another record.
 *
 * Blob layout (binary, versioned):
 *
 *   offset 0  2 bytes  magic "RV" (0x52 0x56)
 *   offset 2  1 byte   format version, 0x01
 *   offset 3 12 bytes  AES-GCM IV (96 bits, NIST SP 800-38D §8.2.2 random construction)
 *   offset 15          ciphertext || 16-byte tag
 *
 * `contentHash` = SHA-256 (hex) of the whole blob; it is what the ledger anchors.
 */
import {
  CryptoError,
  bytesToUtf8,
  canonicalBytes,
  canonicalJson,
  concatBytes,
  fromBase64Url,
  open,
  openAsync,
  randomBytes,
  seal,
  sha256Hex,
  toBase64Url,
} from '../crypto/index.js';
import type { SensitivityClass } from '../ledger/types.js';
import { VaultError, VaultErrorCode } from './errors.js';
import { RECORD_KEY_LENGTH } from './keys.js';
import {
  assertBytes,
  assertClass,
  assertEpoch,
  assertIdentifier,
  assertResource,
  assertVersion,
  isPlainObject,
} from './validate.js';

/** Version of the blob layout and of the associated-data objects. */
export const ENVELOPE_VERSION = 1;
const BLOB_MAGIC = Uint8Array.of(0x52, 0x56);
const GCM_IV_LENGTH = 12;
const GCM_TAG_LENGTH = 16;
const BLOB_HEADER_LENGTH = BLOB_MAGIC.length + 1 + GCM_IV_LENGTH;
const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** What a record version's ciphertext is bound to. */
export interface RecordContext {
  readonly recordId: string;
  /** Record version, from 1. */
  readonly version: number;
  /** The patient's DID. */
  readonly patient: string;
  readonly class: SensitivityClass;
  /** Epoch of the patient's record key for `class`. */
  readonly epoch: number;
}

/** The DEK wrapped under the KEK: AES-256-GCM IV and ciphertext||tag, both base64url. */
export interface WrappedDek {
  readonly iv: string;
  readonly ct: string;
}

export interface EncryptRecordInput extends RecordContext {
  /** The FHIR resource (any JSON object); encrypted as its RFC 8785 canonical JSON bytes. */
  readonly resource: Readonly<Record<string, unknown>>;
  /** The patient's record key for `class` and `epoch` (32 bytes). */
  readonly kek: Uint8Array;
}

export interface EncryptedRecord {
  /** The versioned container of IV and ciphertext (see the module comment). */
  readonly blob: Uint8Array;
  readonly wrappedDek: WrappedDek;
  /** SHA-256 of `blob`, lowercase hex. */
  readonly contentHash: string;
}

export interface DecryptRecordInput extends RecordContext {
  readonly blob: Uint8Array;
  readonly wrappedDek: WrappedDek;
  readonly kek: Uint8Array;
  /** When given, SHA-256 of `blob` must equal it (e.g. the hash anchored on the ledger). */
  readonly expectedContentHash?: string;
}

/** Associated data of the content: canonical `{ v, recordId, version, patient }`. */
function contentAad(ctx: RecordContext): Uint8Array {
  return canonicalBytes({
    v: ENVELOPE_VERSION,
    recordId: ctx.recordId,
    version: ctx.version,
    patient: ctx.patient,
  });
}

/** Associated data of the wrapped DEK: canonical `{ v, recordId, version, patient, class, epoch }`. */
function wrapAad(ctx: RecordContext): Uint8Array {
  return canonicalBytes({
    v: ENVELOPE_VERSION,
    recordId: ctx.recordId,
    version: ctx.version,
    patient: ctx.patient,
    class: ctx.class,
    epoch: ctx.epoch,
  });
}

function assertContext(ctx: RecordContext): void {
  assertIdentifier('recordId', ctx.recordId);
  assertVersion('version', ctx.version);
  assertIdentifier('patient', ctx.patient);
  assertClass('class', ctx.class);
  assertEpoch('epoch', ctx.epoch);
}

function decryptFailed(what: string): VaultError {
  return new VaultError(
    VaultErrorCode.DECRYPT_FAILED,
    `${what}: wrong key, wrong record context or tampered data`,
  );
}

/**
 * Encrypts one record version: a fresh DEK encrypts the resource, the KEK wraps the DEK.
 *
 * @throws VaultError VAULT_INVALID_ARGUMENT for a malformed argument (including a resource that
 *   is not representable as canonical JSON)
 * @example
 * const { blob, wrappedDek, contentHash } = encryptRecord({
 *   recordId: 'obs-0001', version: 1, patient: did, class: 'general', epoch: 0,
 *   resource: { resourceType: 'Observation', status: 'final' }, kek,
 * });
 */
export function encryptRecord(input: EncryptRecordInput): EncryptedRecord {
  assertContext(input);
  assertResource('resource', input.resource);
  assertBytes('kek', input.kek, RECORD_KEY_LENGTH);
  let plaintext: Uint8Array;
  try {
    plaintext = canonicalBytes(input.resource);
  } catch (error) {
    // The canonicalizer's message names the type and path of the bad member, never its value.
    const detail = error instanceof CryptoError ? `: ${error.message}` : '';
    throw new VaultError(VaultErrorCode.INVALID_ARGUMENT, `"resource" is not representable as JSON${detail}`);
  }
  const dek = randomBytes(RECORD_KEY_LENGTH);
  try {
    const content = seal(dek, plaintext, contentAad(input));
    const wrapped = seal(input.kek, dek, wrapAad(input));
    const blob = concatBytes(BLOB_MAGIC, Uint8Array.of(ENVELOPE_VERSION), content.iv, content.ciphertext);
    return {
      blob,
      wrappedDek: { iv: toBase64Url(wrapped.iv), ct: toBase64Url(wrapped.ciphertext) },
      contentHash: sha256Hex(blob),
    };
  } finally {
    dek.fill(0);
    plaintext.fill(0);
  }
}

/**
 * Decrypts one record version: unwraps the DEK with the KEK, then opens the blob.
 *
 * @returns the resource object
 * @throws VaultError VAULT_CONTENT_HASH_MISMATCH when `expectedContentHash` is given and differs
 *   from SHA-256(blob); VAULT_DECRYPT_FAILED on a wrong KEK, a different record context (record
 *   id, version, patient, class or epoch), a malformed or tampered blob or wrapped DEK;
 *   VAULT_INVALID_ARGUMENT for a malformed argument
 */
export function decryptRecord(input: DecryptRecordInput): Record<string, unknown> {
  const parts = checkedParts(input);
  let dek: Uint8Array;
  try {
    dek = open(input.kek, parts.wrapIv, parts.wrapCt, wrapAad(input));
  } catch {
    throw decryptFailed('cannot unwrap the data key');
  }
  let plaintext: Uint8Array;
  try {
    plaintext = open(dek, parts.contentIv, parts.contentCt, contentAad(input));
  } catch {
    throw decryptFailed('cannot open the ciphertext');
  } finally {
    dek.fill(0);
  }
  return parsePlaintext(plaintext);
}

/**
 * As {@link decryptRecord}, on WebCrypto (what a browser can do): the patient's own wallet
 * decrypts what its custodian serves, with the same checks and errors.
 */
export async function decryptRecordAsync(input: DecryptRecordInput): Promise<Record<string, unknown>> {
  const parts = checkedParts(input);
  let dek: Uint8Array;
  try {
    dek = await openAsync(input.kek, parts.wrapIv, parts.wrapCt, wrapAad(input));
  } catch {
    throw decryptFailed('cannot unwrap the data key');
  }
  let plaintext: Uint8Array;
  try {
    plaintext = await openAsync(dek, parts.contentIv, parts.contentCt, contentAad(input));
  } catch {
    throw decryptFailed('cannot open the ciphertext');
  } finally {
    dek.fill(0);
  }
  return parsePlaintext(plaintext);
}

/** Checks a decryption's input and splits the blob and wrapped DEK into IVs and ciphertexts. */
function checkedParts(input: DecryptRecordInput): {
  wrapIv: Uint8Array;
  wrapCt: Uint8Array;
  contentIv: Uint8Array;
  contentCt: Uint8Array;
} {
  assertContext(input);
  assertBytes('blob', input.blob);
  assertBytes('kek', input.kek, RECORD_KEY_LENGTH);
  const { wrappedDek } = input;
  if (!isPlainObject(wrappedDek) || typeof wrappedDek.iv !== 'string' || typeof wrappedDek.ct !== 'string') {
    throw new VaultError(VaultErrorCode.INVALID_ARGUMENT, '"wrappedDek" expected { iv: string, ct: string }');
  }
  if (input.expectedContentHash !== undefined) {
    if (typeof input.expectedContentHash !== 'string' || !HASH_PATTERN.test(input.expectedContentHash)) {
      throw new VaultError(
        VaultErrorCode.INVALID_ARGUMENT,
        '"expectedContentHash" expected 64 lowercase hex digits',
      );
    }
    const actual = sha256Hex(input.blob);
    if (actual !== input.expectedContentHash) {
      throw new VaultError(
        VaultErrorCode.CONTENT_HASH_MISMATCH,
        `record ${input.recordId} version ${input.version}: ciphertext hash ${actual}, expected ${input.expectedContentHash}`,
      );
    }
  }
  const { blob } = input;
  if (
    blob.length < BLOB_HEADER_LENGTH + GCM_TAG_LENGTH ||
    blob[0] !== BLOB_MAGIC[0] ||
    blob[1] !== BLOB_MAGIC[1] ||
    blob[2] !== ENVELOPE_VERSION
  ) {
    throw decryptFailed('malformed ciphertext blob');
  }
  let wrapIv: Uint8Array;
  let wrapCt: Uint8Array;
  try {
    wrapIv = fromBase64Url(wrappedDek.iv);
    wrapCt = fromBase64Url(wrappedDek.ct);
  } catch {
    throw decryptFailed('cannot unwrap the data key');
  }
  if (wrapIv.length !== GCM_IV_LENGTH || wrapCt.length !== RECORD_KEY_LENGTH + GCM_TAG_LENGTH) {
    throw decryptFailed('cannot unwrap the data key');
  }
  return {
    wrapIv,
    wrapCt,
    contentIv: blob.subarray(BLOB_MAGIC.length + 1, BLOB_HEADER_LENGTH),
    contentCt: blob.subarray(BLOB_HEADER_LENGTH),
  };
}

/** The decrypted resource; the plaintext bytes are wiped. */
function parsePlaintext(plaintext: Uint8Array): Record<string, unknown> {
  try {
    const resource: unknown = JSON.parse(bytesToUtf8(plaintext));
    if (isPlainObject(resource)) return resource;
  } catch {
    // JSON.parse's message quotes the input: never let it out.
  } finally {
    plaintext.fill(0);
  }
  throw decryptFailed('the plaintext is not a JSON object');
}

/** Serializes a wrapped DEK for storage (canonical JSON text). */
export function encodeWrappedDek(wrappedDek: WrappedDek): string {
  return canonicalJson({ iv: wrappedDek.iv, ct: wrappedDek.ct });
}

/**
 * Parses what {@link encodeWrappedDek} wrote.
 *
 * @throws VaultError VAULT_DECRYPT_FAILED when the text is not a wrapped DEK (a damaged store)
 */
export function decodeWrappedDek(text: string): WrappedDek {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!isPlainObject(value) || typeof value.iv !== 'string' || typeof value.ct !== 'string') {
    throw decryptFailed('malformed wrapped data key');
  }
  return { iv: value.iv, ct: value.ct };
}
