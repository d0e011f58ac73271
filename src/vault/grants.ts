/**
 * Key grants: a consent grant carries the patient's record keys (KEKs) in scope, each sealed to
 * the grantee organization's X25519 key with HPKE (RFC 9180) in base mode (§5.1.1), suite
 * DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM (§7: KEM 0x0020, KDF 0x0001, AEAD 0x0002).
 *
 * The HPKE `info` is the fixed string `roam-grant-v1` (domain separation, §8.1); the `aad` is the
 * canonical JSON of `{ patient, class, epoch, grantee }`, so a sealed key copied into another
 * patient's grant, another organization's grant or under another class or epoch does not open.
 *
 * HPKE comes from `@hpke/core` (see ./hpke.ts), whose X25519 KEM runs on Node 20's WebCrypto.
 */
import { canonicalBytes, fromBase64Url, toBase64Url, utf8ToBytes } from '../crypto/index.js';
import type { SensitivityClass } from '../ledger/types.js';
import { VaultError, VaultErrorCode } from './errors.js';
import { hpkeOpen, hpkeSeal, importPublicKey, importSecretKey, type HpkeKey } from './hpke.js';
import { RECORD_KEY_LENGTH, deriveRecordKey, type KeyRef } from './keys.js';
import {
  assertBytes,
  assertClass,
  assertEpoch,
  assertIdentifier,
  isPlainObject,
  isSensitivityClass,
} from './validate.js';

/** Version of the sealed-key object. */
export const SEALED_KEY_VERSION = 1;
/** The HPKE suite of every sealed key, as written in `SealedRecordKey.suite`. */
export const GRANT_HPKE_SUITE = 'DHKEM-X25519-HKDF-SHA256/HKDF-SHA256/AES-256-GCM';
/** Length of raw X25519 public and secret keys (RFC 7748 §5). */
export const X25519_KEY_LENGTH = 32;

const HPKE_INFO = utf8ToBytes('roam-grant-v1');
// RFC 9180 §7.1: Nenc of DHKEM(X25519, HKDF-SHA256) is 32; §7.3: Nt of AES-256-GCM is 16.
const ENC_LENGTH = 32;
const SEALED_CT_LENGTH = RECORD_KEY_LENGTH + 16;

/** What a sealed record key is bound to (HPKE aad). */
export interface GrantKeyContext {
  /** The patient's DID. */
  readonly patient: string;
  readonly class: SensitivityClass;
  readonly epoch: number;
  /** The grantee organization's DID. */
  readonly grantee: string;
}

/** One record key sealed to a grantee: an element of a `consent.grant` payload's `keys`. */
export interface SealedRecordKey {
  readonly v: typeof SEALED_KEY_VERSION;
  readonly suite: typeof GRANT_HPKE_SUITE;
  readonly class: SensitivityClass;
  readonly epoch: number;
  /** HPKE encapsulated key (the ephemeral X25519 public key), base64url. */
  readonly enc: string;
  /** HPKE ciphertext of the 32-byte KEK (with its 16-byte tag), base64url. */
  readonly ct: string;
}

function assertGrantContext(context: GrantKeyContext): void {
  if (!isPlainObject(context))
    throw new VaultError(VaultErrorCode.INVALID_ARGUMENT, '"context" expected an object');
  assertIdentifier('context.patient', context.patient);
  assertClass('context.class', context.class);
  assertEpoch('context.epoch', context.epoch);
  assertIdentifier('context.grantee', context.grantee);
}

function grantAad(context: GrantKeyContext): Uint8Array {
  return canonicalBytes({
    patient: context.patient,
    class: context.class,
    epoch: context.epoch,
    grantee: context.grantee,
  });
}

function openFailed(message: string): VaultError {
  return new VaultError(VaultErrorCode.GRANT_KEY_OPEN_FAILED, message);
}

/**
 * Seals a record key to a recipient's X25519 public key (HPKE base mode, single-shot §6.1).
 *
 * @param recipientPublicKey raw 32-byte X25519 public key of the grantee organization
 * @param kek the 32-byte record key for `context.class` and `context.epoch`
 * @throws VaultError VAULT_INVALID_ARGUMENT for a malformed argument or an unusable public key
 * @example
 * const sealed = await sealRecordKey(org.encryption.publicKey, kek, {
 *   patient: wallet.did, class: 'general', epoch: 0, grantee: orgDid,
 * });
 */
export async function sealRecordKey(
  recipientPublicKey: Uint8Array,
  kek: Uint8Array,
  context: GrantKeyContext,
): Promise<SealedRecordKey> {
  assertBytes('recipientPublicKey', recipientPublicKey, X25519_KEY_LENGTH);
  assertBytes('kek', kek, RECORD_KEY_LENGTH);
  assertGrantContext(context);
  let sealed: { enc: Uint8Array; ct: Uint8Array };
  try {
    sealed = await hpkeSeal(await importPublicKey(recipientPublicKey), HPKE_INFO, kek, grantAad(context));
  } catch (error) {
    // e.g. a low-order point, whose shared secret is all zero (RFC 9180 §7.1.4).
    throw new VaultError(
      VaultErrorCode.INVALID_ARGUMENT,
      `"recipientPublicKey" cannot be sealed to: ${(error as Error).name}`,
    );
  }
  return {
    v: SEALED_KEY_VERSION,
    suite: GRANT_HPKE_SUITE,
    class: context.class,
    epoch: context.epoch,
    enc: toBase64Url(sealed.enc),
    ct: toBase64Url(sealed.ct),
  };
}

/**
 * Opens a sealed record key with the recipient's X25519 secret key. `sealed` may come straight
 * from a ledger grant (it is checked here); `context` is what the caller expects it to be for.
 *
 * @param recipientSecretKey raw 32-byte X25519 secret key of the grantee organization
 * @returns the 32-byte record key
 * @throws VaultError VAULT_GRANT_KEY_OPEN_FAILED when `sealed` is malformed, is for another class
 *   or epoch than `context`, or does not open (wrong secret key, other patient or grantee,
 *   tampered); VAULT_INVALID_ARGUMENT for a malformed secret key or context
 */
export async function openRecordKey(
  recipientSecretKey: Uint8Array,
  sealed: unknown,
  context: GrantKeyContext,
): Promise<Uint8Array> {
  assertBytes('recipientSecretKey', recipientSecretKey, X25519_KEY_LENGTH);
  assertGrantContext(context);
  const parsed = parseSealedRecordKey(sealed);
  if (parsed.class !== context.class || parsed.epoch !== context.epoch) {
    throw openFailed(
      `sealed key is for class ${parsed.class} epoch ${parsed.epoch}, expected class ${context.class} epoch ${context.epoch}`,
    );
  }
  let enc: Uint8Array;
  let ct: Uint8Array;
  try {
    enc = fromBase64Url(parsed.enc);
    ct = fromBase64Url(parsed.ct);
  } catch {
    throw openFailed('sealed key: "enc" or "ct" is not base64url');
  }
  if (enc.length !== ENC_LENGTH || ct.length !== SEALED_CT_LENGTH) {
    throw openFailed(`sealed key: expected ${ENC_LENGTH}-byte "enc" and ${SEALED_CT_LENGTH}-byte "ct"`);
  }
  let secretKey: HpkeKey;
  try {
    secretKey = await importSecretKey(recipientSecretKey);
  } catch {
    throw new VaultError(VaultErrorCode.INVALID_ARGUMENT, '"recipientSecretKey" is not an X25519 secret key');
  }
  let kek: Uint8Array;
  try {
    kek = await hpkeOpen(secretKey, enc, HPKE_INFO, ct, grantAad(context));
  } catch {
    throw openFailed(
      `sealed key for class ${context.class} epoch ${context.epoch} does not open: wrong secret key, ` +
        'or it was sealed for another patient or grantee, or tampered with',
    );
  }
  if (kek.length !== RECORD_KEY_LENGTH)
    throw openFailed('sealed key: the plaintext is not a 32-byte record key');
  return kek;
}

/**
 * Checks the shape of a sealed key as found in a grant's `keys` (opaque to the ledger).
 *
 * @throws VaultError VAULT_GRANT_KEY_OPEN_FAILED naming what is wrong
 */
export function parseSealedRecordKey(value: unknown): SealedRecordKey {
  if (!isPlainObject(value)) throw openFailed('sealed key: expected an object');
  if (value.v !== SEALED_KEY_VERSION) throw openFailed(`sealed key: unsupported version ${String(value.v)}`);
  if (value.suite !== GRANT_HPKE_SUITE)
    throw openFailed(`sealed key: unsupported suite ${String(value.suite)}`);
  if (!isSensitivityClass(value.class)) throw openFailed('sealed key: "class" is not a sensitivity class');
  const { epoch } = value;
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0) {
    throw openFailed('sealed key: "epoch" is not a non-negative integer');
  }
  if (typeof value.enc !== 'string' || typeof value.ct !== 'string') {
    throw openFailed('sealed key: "enc" and "ct" must be strings');
  }
  return {
    v: SEALED_KEY_VERSION,
    suite: GRANT_HPKE_SUITE,
    class: value.class,
    epoch,
    enc: value.enc,
    ct: value.ct,
  };
}

export interface SealGrantKeysInput {
  /** The patient's 32-byte record-key seed (`deriveRecordKeySeed(wallet)`). */
  readonly recordKeySeed: Uint8Array;
  /** The patient's DID. */
  readonly patient: string;
  /** The grantee organization's DID. */
  readonly grantee: string;
  /** The grantee organization's raw 32-byte X25519 public key (its `OrgRecord.encryptionKey`). */
  readonly granteePublicKey: Uint8Array;
  /**
   * The record keys to grant: normally each class in the grant's scope at its current epoch. Add
   * earlier epochs of a class to let the grantee read records written before a rotation.
   */
  readonly keys: readonly KeyRef[];
}

/**
 * Derives the record keys in scope of a grant and seals each to the grantee: the result is
 * ready to go into a `consent.grant` (or `consent.approve`) payload's `keys`.
 *
 * @throws VaultError VAULT_INVALID_ARGUMENT for a malformed argument, an empty or duplicated
 *   key list
 * @example
 * const keys = await sealGrantKeys({
 *   recordKeySeed: deriveRecordKeySeed(wallet), patient: wallet.did,
 *   grantee: org.did, granteePublicKey: fromBase64Url(org.encryptionKey),
 *   keys: [{ class: 'general', epoch: 0 }],
 * });
 */
export async function sealGrantKeys(input: SealGrantKeysInput): Promise<SealedRecordKey[]> {
  const refs = input.keys;
  // Array.isArray would narrow `refs` to any[]: keep the check's result apart from the type.
  const isArray: boolean = Array.isArray(refs);
  if (!isArray || refs.length === 0) {
    throw new VaultError(
      VaultErrorCode.INVALID_ARGUMENT,
      '"keys" expected a non-empty array of { class, epoch }',
    );
  }
  const seen = new Set<string>();
  refs.forEach((ref, i) => {
    assertClass(`keys[${i}].class`, ref.class);
    assertEpoch(`keys[${i}].epoch`, ref.epoch);
    const id = `${ref.class}|${ref.epoch}`;
    if (seen.has(id)) {
      throw new VaultError(
        VaultErrorCode.INVALID_ARGUMENT,
        `"keys[${i}]" repeats class ${ref.class} epoch ${ref.epoch}`,
      );
    }
    seen.add(id);
  });
  const sealed: SealedRecordKey[] = [];
  for (const ref of refs) {
    const kek = deriveRecordKey(input.recordKeySeed, input.patient, ref.class, ref.epoch);
    try {
      sealed.push(
        await sealRecordKey(input.granteePublicKey, kek, {
          patient: input.patient,
          class: ref.class,
          epoch: ref.epoch,
          grantee: input.grantee,
        }),
      );
    } finally {
      kek.fill(0);
    }
  }
  return sealed;
}

/** A record key opened from a grant, with the class and epoch it serves. */
export interface OpenedRecordKey extends KeyRef {
  readonly kek: Uint8Array;
}

/**
 * The grantee's side of {@link sealGrantKeys}: opens every sealed key of a grant.
 *
 * @param keys the grant's `keys`, as read from the ledger
 * @throws VaultError VAULT_GRANT_KEY_OPEN_FAILED when any of them does not open
 */
export async function openGrantKeys(
  recipientSecretKey: Uint8Array,
  keys: readonly unknown[],
  context: { readonly patient: string; readonly grantee: string },
): Promise<OpenedRecordKey[]> {
  const opened: OpenedRecordKey[] = [];
  for (const item of keys) {
    const sealed = parseSealedRecordKey(item);
    const kek = await openRecordKey(recipientSecretKey, sealed, {
      patient: context.patient,
      grantee: context.grantee,
      class: sealed.class,
      epoch: sealed.epoch,
    });
    opened.push({ class: sealed.class, epoch: sealed.epoch, kek });
  }
  return opened;
}
