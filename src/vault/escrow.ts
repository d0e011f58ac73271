/**
 * Emergency key escrow (break-glass). Enabling emergency access escrows a patient's record keys:
 *
 * - a fresh escrow key E (32 random bytes) encrypts the record keys of the chosen classes for
 *   epochs 0..current (AES-256-GCM, canonical JSON `[{ class, epoch, key }]`);
 * - `commitment` = hex SHA-256(utf8 `roam-escrow-v1\n<patient>\n` || E) goes on the ledger, so a
 *   wrong reconstruction of E is detected before anything is decrypted with it;
 * - E is split k-of-n with Shamir secret sharing (`shamir-secret-sharing`, audited) and share i is
 *   sealed with HPKE (the grants' suite, ./hpke.ts) to trustee organization i;
 * - on a break-glass, a trustee opens its share and re-seals it to the requesting organization
 *   (bound to the access id); the requester combines `threshold` of them back into E.
 *
 * Runs in browsers too (the web app enables the escrow from the wallet): no `node:` imports,
 * AES-GCM through WebCrypto (`sealAsync`/`openAsync`), HPKE on WebCrypto.
 */
import { combine, split } from 'shamir-secret-sharing';
import {
  bytesToUtf8,
  canonicalBytes,
  concatBytes,
  constantTimeEqual,
  fromBase64Url,
  openAsync,
  randomBytes,
  sealAsync,
  sha256Hex,
  toBase64Url,
  utf8ToBytes,
} from '../crypto/index.js';
import type { SensitivityClass } from '../ledger/types.js';
import { EscrowError, EscrowErrorCode, VaultError, VaultErrorCode } from './errors.js';
import { GRANT_HPKE_SUITE, X25519_KEY_LENGTH } from './grants.js';
import { hpkeOpen, hpkeSeal, importPublicKey, importSecretKey } from './hpke.js';
import { RECORD_KEY_LENGTH, deriveRecordKey } from './keys.js';
import { assertBytes, assertClass, assertEpoch, assertIdentifier, isPlainObject, isSensitivityClass } from './validate.js';

/** Length of the escrow key E. */
export const ESCROW_KEY_LENGTH = 32;
/** A Shamir share of E: one byte per byte of E, and its x coordinate last. */
export const ESCROW_SHARE_LENGTH = ESCROW_KEY_LENGTH + 1;
/** Most trustees (so shares) of one escrow, as the emergency contract allows. */
export const MAX_ESCROW_TRUSTEES = 7;
/** Most opened shares {@link reconstructEscrowKey} tries combinations of (bounds its work). */
export const MAX_RECONSTRUCTION_SHARES = 16;
/** Version of the sealed share object. */
export const ESCROW_SHARE_VERSION = 1;
/** The classes an emergency policy escrows when the patient names none. */
export const DEFAULT_EMERGENCY_CLASSES: readonly SensitivityClass[] = ['general'];

/** The default threshold of `n` trustees: a strict majority (1-of-1 for a single organization). */
export function defaultEmergencyThreshold(trustees: number): number {
  return Math.floor(trustees / 2) + 1;
}

const SHARE_INFO = utf8ToBytes('roam-escrow-share-v1');
const RELEASE_INFO = utf8ToBytes('roam-escrow-release-v1');
// RFC 9180 §7.1: Nenc of DHKEM(X25519, HKDF-SHA256) is 32; §7.3: Nt of AES-256-GCM is 16.
const ENC_LENGTH = 32;
const SEALED_SHARE_CT_LENGTH = ESCROW_SHARE_LENGTH + 16;

/** A share of E sealed with HPKE: to a trustee (in a policy) or to the requester (in a release). */
export interface SealedEscrowShare {
  readonly v: typeof ESCROW_SHARE_VERSION;
  readonly suite: typeof GRANT_HPKE_SUITE;
  /** HPKE encapsulated key, base64url. */
  readonly enc: string;
  /** HPKE ciphertext of the 33-byte share (with its tag), base64url. */
  readonly ct: string;
}

/** The record keys encrypted under E, as the ledger keeps them. */
export interface EscrowedKeysBlob {
  /** 12-byte GCM IV, base64url. */
  readonly iv: string;
  /** AES-256-GCM ciphertext and tag, base64url. */
  readonly ct: string;
}

/** One escrowed record key. */
export interface EscrowedRecordKey {
  readonly class: SensitivityClass;
  readonly epoch: number;
  /** The 32-byte record key (KEK). */
  readonly key: Uint8Array;
}

export interface EscrowTrusteeKey {
  /** The trustee organization's DID. */
  readonly org: string;
  /** Its raw 32-byte X25519 public key (`OrgRecord.encryptionKey`). */
  readonly publicKey: Uint8Array;
}

export interface CreateEscrowInput {
  /** The patient's DID. */
  readonly patient: string;
  /** The patient's 32-byte record-key seed (`deriveRecordKeySeed(wallet)`). */
  readonly recordKeySeed: Uint8Array;
  /** The classes whose keys are escrowed. */
  readonly classes: readonly SensitivityClass[];
  /** The patient's current epoch: keys of epochs 0..epoch are escrowed. */
  readonly epoch: number;
  /** 1..7 trustee organizations, one share each. */
  readonly trustees: readonly EscrowTrusteeKey[];
  /** How many shares open the escrow: 1..trustees.length. */
  readonly threshold: number;
}

/** What `emergency.enable` carries: `trustees` and `escrow` of its payload. */
export interface Escrow {
  readonly trustees: ReadonlyArray<{ readonly org: string; readonly share: SealedEscrowShare }>;
  readonly escrow: { readonly commitment: string; readonly keys: EscrowedKeysBlob; readonly epoch: number };
}

function invalid(message: string): VaultError {
  return new VaultError(VaultErrorCode.INVALID_ARGUMENT, message);
}

function shareOpenFailed(message: string): EscrowError {
  return new EscrowError(EscrowErrorCode.SHARE_OPEN_FAILED, message);
}

function keysOpenFailed(message: string): EscrowError {
  return new EscrowError(EscrowErrorCode.KEYS_OPEN_FAILED, message);
}

/**
 * The commitment to an escrow key: hex SHA-256 of utf8 `roam-escrow-v1\n<patient>\n` || E.
 *
 * @throws VaultError VAULT_INVALID_ARGUMENT for a malformed argument
 */
export function escrowCommitment(patient: string, escrowKey: Uint8Array): string {
  assertIdentifier('patient', patient);
  assertBytes('escrowKey', escrowKey, ESCROW_KEY_LENGTH);
  return sha256Hex(concatBytes(utf8ToBytes(`roam-escrow-v1\n${patient}\n`), escrowKey));
}

function keysAad(patient: string, commitment: string): Uint8Array {
  return utf8ToBytes(`roam-escrow-keys-v1\n${patient}\n${commitment}`);
}

/**
 * Shamir shares of E. A threshold of 1 is the degree-0 polynomial (every share's y is E itself),
 * which the library does not produce (it takes thresholds from 2): each share is then E followed
 * by its own x coordinate, the same layout as the library's shares.
 */
async function splitEscrowKey(escrowKey: Uint8Array, count: number, threshold: number): Promise<Uint8Array[]> {
  if (threshold >= 2) return split(escrowKey, count, threshold);
  return Array.from({ length: count }, (_, i) => concatBytes(escrowKey, Uint8Array.of(i + 1)));
}

/**
 * Creates an escrow: a fresh E, the patient's record keys of `classes` for epochs 0..`epoch`
 * encrypted under it, its commitment, and one share per trustee sealed to that trustee.
 *
 * @throws VaultError VAULT_INVALID_ARGUMENT for a malformed argument (no classes, duplicated
 *   classes or trustees, 0 or more than 7 trustees, a threshold outside 1..trustees, an unusable
 *   public key)
 * @example
 * const { trustees, escrow } = await createEscrow({
 *   patient: wallet.did, recordKeySeed: deriveRecordKeySeed(wallet), classes: ['general'], epoch: 0,
 *   trustees: [{ org: org.did, publicKey: fromBase64Url(org.encryptionKey) }], threshold: 1,
 * });
 */
export async function createEscrow(input: CreateEscrowInput): Promise<Escrow> {
  assertIdentifier('patient', input.patient);
  assertBytes('recordKeySeed', input.recordKeySeed, RECORD_KEY_LENGTH);
  assertEpoch('epoch', input.epoch);
  const classes: readonly SensitivityClass[] = input.classes;
  // Array.isArray would narrow to any[]: keep the check's result apart from the type.
  const classesAreArray: boolean = Array.isArray(classes);
  if (!classesAreArray || classes.length === 0) throw invalid('"classes" expected a non-empty array');
  classes.forEach((cls, i) => assertClass(`classes[${i}]`, cls));
  if (new Set(classes).size !== classes.length) throw invalid('"classes" repeats a class');
  const trustees = input.trustees;
  const trusteesAreArray: boolean = Array.isArray(trustees);
  if (!trusteesAreArray || trustees.length === 0 || trustees.length > MAX_ESCROW_TRUSTEES) {
    throw invalid(`"trustees" expected 1 to ${MAX_ESCROW_TRUSTEES} trustees`);
  }
  trustees.forEach((trustee, i) => {
    assertIdentifier(`trustees[${i}].org`, trustee.org);
    assertBytes(`trustees[${i}].publicKey`, trustee.publicKey, X25519_KEY_LENGTH);
  });
  if (new Set(trustees.map((t) => t.org)).size !== trustees.length) throw invalid('"trustees" repeats an organization');
  const { threshold } = input;
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > trustees.length) {
    throw invalid(`"threshold" expected an integer from 1 to ${trustees.length}, got ${String(threshold)}`);
  }

  const escrowKey = randomBytes(ESCROW_KEY_LENGTH);
  const records: Array<{ class: SensitivityClass; epoch: number; key: string }> = [];
  const shares: Uint8Array[] = [];
  try {
    const commitment = escrowCommitment(input.patient, escrowKey);
    for (const cls of classes) {
      for (let epoch = 0; epoch <= input.epoch; epoch++) {
        const kek = deriveRecordKey(input.recordKeySeed, input.patient, cls, epoch);
        records.push({ class: cls, epoch, key: toBase64Url(kek) });
        kek.fill(0);
      }
    }
    const plaintext = canonicalBytes(records);
    const sealedKeys = await sealAsync(escrowKey, plaintext, keysAad(input.patient, commitment));
    plaintext.fill(0);
    shares.push(...(await splitEscrowKey(escrowKey, trustees.length, threshold)));
    const sealedShares = [];
    for (const [i, trustee] of trustees.entries()) {
      const share = await sealShare(trustee.publicKey, SHARE_INFO, shares[i]!, shareAad(input.patient, trustee.org, commitment));
      sealedShares.push({ org: trustee.org, share });
    }
    return {
      trustees: sealedShares,
      escrow: {
        commitment,
        keys: { iv: toBase64Url(sealedKeys.iv), ct: toBase64Url(sealedKeys.ciphertext) },
        epoch: input.epoch,
      },
    };
  } finally {
    escrowKey.fill(0);
    for (const share of shares) share.fill(0);
  }
}

function shareAad(patient: string, trustee: string, commitment: string): Uint8Array {
  return canonicalBytes({ commitment, patient, trustee });
}

function releaseAad(access: string, requester: string, commitment: string): Uint8Array {
  return canonicalBytes({ access, commitment, requester });
}

async function sealShare(
  publicKey: Uint8Array,
  info: Uint8Array,
  share: Uint8Array,
  aad: Uint8Array,
): Promise<SealedEscrowShare> {
  let sealed: { enc: Uint8Array; ct: Uint8Array };
  try {
    sealed = await hpkeSeal(await importPublicKey(publicKey), info, share, aad);
  } catch (error) {
    // e.g. a low-order point, whose shared secret is all zero (RFC 9180 §7.1.4).
    throw invalid(`a public key cannot be sealed to: ${(error as Error).name}`);
  }
  return { v: ESCROW_SHARE_VERSION, suite: GRANT_HPKE_SUITE, enc: toBase64Url(sealed.enc), ct: toBase64Url(sealed.ct) };
}

async function openShare(secretKey: Uint8Array, sealed: unknown, info: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  assertBytes('secretKey', secretKey, X25519_KEY_LENGTH);
  if (!isPlainObject(sealed) || sealed.v !== ESCROW_SHARE_VERSION || sealed.suite !== GRANT_HPKE_SUITE) {
    throw shareOpenFailed('sealed share: expected { v: 1, suite, enc, ct } of the grants\' HPKE suite');
  }
  let enc: Uint8Array;
  let ct: Uint8Array;
  try {
    enc = fromBase64Url(String(sealed.enc));
    ct = fromBase64Url(String(sealed.ct));
  } catch {
    throw shareOpenFailed('sealed share: "enc" or "ct" is not base64url');
  }
  if (enc.length !== ENC_LENGTH || ct.length !== SEALED_SHARE_CT_LENGTH) {
    throw shareOpenFailed(`sealed share: expected ${ENC_LENGTH}-byte "enc" and ${SEALED_SHARE_CT_LENGTH}-byte "ct"`);
  }
  let key: Awaited<ReturnType<typeof importSecretKey>>;
  try {
    key = await importSecretKey(secretKey);
  } catch {
    throw invalid('"secretKey" is not an X25519 secret key');
  }
  try {
    return await hpkeOpen(key, enc, info, ct, aad);
  } catch {
    throw shareOpenFailed('sealed share does not open: wrong secret key, another binding, or tampered with');
  }
}

export interface OpenEscrowShareInput {
  /** A trustee's sealed share, as the policy or the access on the ledger holds it. */
  readonly sealed: unknown;
  /** The trustee organization's raw 32-byte X25519 secret key. */
  readonly secretKey: Uint8Array;
  readonly patient: string;
  /** The trustee organization's DID (the one the share was sealed to). */
  readonly trustee: string;
  readonly commitment: string;
}

/**
 * A trustee opens its share.
 *
 * @throws EscrowError ESCROW_SHARE_OPEN_FAILED when it is malformed or does not open
 */
export async function openEscrowShare(input: OpenEscrowShareInput): Promise<Uint8Array> {
  assertIdentifier('patient', input.patient);
  assertIdentifier('trustee', input.trustee);
  assertIdentifier('commitment', input.commitment);
  return openShare(input.secretKey, input.sealed, SHARE_INFO, shareAad(input.patient, input.trustee, input.commitment));
}

export interface ReleaseShareBinding {
  /** The emergency access id. */
  readonly access: string;
  /** The requesting organization's DID. */
  readonly requester: string;
  readonly commitment: string;
}

/**
 * A trustee re-seals its opened share to the requesting organization, bound to the access.
 *
 * @param requesterPublicKey the requesting organization's raw 32-byte X25519 public key
 * @throws VaultError VAULT_INVALID_ARGUMENT for a malformed argument or an unusable public key
 */
export async function sealReleasedShare(
  input: ReleaseShareBinding & { readonly share: Uint8Array; readonly requesterPublicKey: Uint8Array },
): Promise<SealedEscrowShare> {
  assertBytes('share', input.share, ESCROW_SHARE_LENGTH);
  assertBytes('requesterPublicKey', input.requesterPublicKey, X25519_KEY_LENGTH);
  assertIdentifier('access', input.access);
  assertIdentifier('requester', input.requester);
  assertIdentifier('commitment', input.commitment);
  return sealShare(input.requesterPublicKey, RELEASE_INFO, input.share, releaseAad(input.access, input.requester, input.commitment));
}

/**
 * The requesting organization opens a released share.
 *
 * @param secretKey the requesting organization's raw 32-byte X25519 secret key
 * @throws EscrowError ESCROW_SHARE_OPEN_FAILED when it is malformed or does not open (sealed to
 *   another organization, for another access or commitment, or tampered with)
 */
export async function openReleasedShare(
  input: ReleaseShareBinding & { readonly sealed: unknown; readonly secretKey: Uint8Array },
): Promise<Uint8Array> {
  assertIdentifier('access', input.access);
  assertIdentifier('requester', input.requester);
  assertIdentifier('commitment', input.commitment);
  return openShare(input.secretKey, input.sealed, RELEASE_INFO, releaseAad(input.access, input.requester, input.commitment));
}

/** Every way of choosing `size` of `count` indexes, in lexicographic order. */
function* combinations(count: number, size: number): Generator<number[]> {
  const chosen = Array.from({ length: size }, (_, i) => i);
  while (true) {
    yield [...chosen];
    let i = size - 1;
    while (i >= 0 && chosen[i] === count - size + i) i--;
    if (i < 0) return;
    chosen[i]!++;
    for (let j = i + 1; j < size; j++) chosen[j] = chosen[j - 1]! + 1;
  }
}

async function combineShares(shares: readonly Uint8Array[]): Promise<Uint8Array | undefined> {
  if (shares.length === 1) return shares[0]!.slice(0, ESCROW_KEY_LENGTH);
  try {
    return await combine([...shares]);
  } catch {
    // e.g. two shares with the same x coordinate (a forged one copying a real one's).
    return undefined;
  }
}

export interface ReconstructEscrowKeyInput {
  /** Opened shares (from {@link openReleasedShare}); wrong or forged ones may be among them. */
  readonly shares: readonly Uint8Array[];
  readonly threshold: number;
  readonly commitment: string;
  readonly patient: string;
}

/**
 * Reconstructs E: tries combinations of `threshold` shares until one gives a key whose
 * commitment matches, so forged or wrong shares are skipped as long as `threshold` good ones are
 * among them.
 *
 * @throws EscrowError EMERGENCY_SHARES_INSUFFICIENT with fewer than `threshold` shares;
 *   EMERGENCY_SHARES_INVALID when no combination matches the commitment
 * @throws VaultError VAULT_INVALID_ARGUMENT for a malformed argument or more than
 *   {@link MAX_RECONSTRUCTION_SHARES} shares
 */
export async function reconstructEscrowKey(input: ReconstructEscrowKeyInput): Promise<Uint8Array> {
  assertIdentifier('patient', input.patient);
  assertIdentifier('commitment', input.commitment);
  const { threshold } = input;
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > MAX_ESCROW_TRUSTEES) {
    throw invalid(`"threshold" expected an integer from 1 to ${MAX_ESCROW_TRUSTEES}, got ${String(threshold)}`);
  }
  const sharesAreArray: boolean = Array.isArray(input.shares);
  if (!sharesAreArray || input.shares.length > MAX_RECONSTRUCTION_SHARES) {
    throw invalid(`"shares" expected an array of at most ${MAX_RECONSTRUCTION_SHARES} shares`);
  }
  if (input.shares.length < threshold) {
    throw new EscrowError(
      EscrowErrorCode.SHARES_INSUFFICIENT,
      `${input.shares.length} share(s) released, ${threshold} needed to open the emergency escrow`,
    );
  }
  // Shares of the wrong length cannot be shares of E: they are skipped as forged.
  const usable = input.shares.filter((share) => share instanceof Uint8Array && share.length === ESCROW_SHARE_LENGTH);
  const expected = utf8ToBytes(input.commitment);
  if (usable.length >= threshold) {
    for (const indexes of combinations(usable.length, threshold)) {
      const candidate = await combineShares(indexes.map((i) => usable[i]!));
      if (candidate === undefined) continue;
      if (constantTimeEqual(utf8ToBytes(escrowCommitment(input.patient, candidate)), expected)) return candidate;
      candidate.fill(0);
    }
  }
  throw new EscrowError(
    EscrowErrorCode.SHARES_INVALID,
    `no ${threshold} of the ${input.shares.length} released share(s) reconstruct the committed escrow key`,
  );
}

export interface OpenEscrowedKeysInput {
  /** E, from {@link reconstructEscrowKey}. */
  readonly escrowKey: Uint8Array;
  /** The escrow's `keys` as the ledger holds them. */
  readonly keys: unknown;
  readonly patient: string;
  readonly commitment: string;
}

/**
 * Opens the escrowed record keys.
 *
 * @throws EscrowError ESCROW_KEYS_OPEN_FAILED when they do not open under E (wrong key, another
 *   patient or commitment, tampered with) or are not a list of `{ class, epoch, key }`
 */
export async function openEscrowedKeys(input: OpenEscrowedKeysInput): Promise<EscrowedRecordKey[]> {
  assertBytes('escrowKey', input.escrowKey, ESCROW_KEY_LENGTH);
  assertIdentifier('patient', input.patient);
  assertIdentifier('commitment', input.commitment);
  const blob = input.keys;
  if (!isPlainObject(blob) || typeof blob.iv !== 'string' || typeof blob.ct !== 'string') {
    throw keysOpenFailed('escrowed keys: expected { iv, ct }');
  }
  let plaintext: Uint8Array;
  try {
    plaintext = await openAsync(
      input.escrowKey,
      fromBase64Url(blob.iv),
      fromBase64Url(blob.ct),
      keysAad(input.patient, input.commitment),
    );
  } catch {
    throw keysOpenFailed('escrowed keys do not open: wrong escrow key, another patient or commitment, or tampered with');
  }
  try {
    return parseEscrowedKeys(JSON.parse(bytesToUtf8(plaintext)));
  } catch (error) {
    if (error instanceof EscrowError) throw error;
    throw keysOpenFailed('escrowed keys are not a JSON list of record keys');
  } finally {
    plaintext.fill(0);
  }
}

function parseEscrowedKeys(value: unknown): EscrowedRecordKey[] {
  if (!Array.isArray(value)) throw keysOpenFailed('escrowed keys: expected a list');
  const items: readonly unknown[] = value;
  return items.map((item, i) => {
    if (!isPlainObject(item) || !isSensitivityClass(item.class) || typeof item.key !== 'string') {
      throw keysOpenFailed(`escrowed keys[${i}]: expected { class, epoch, key }`);
    }
    const { epoch } = item;
    if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0) {
      throw keysOpenFailed(`escrowed keys[${i}]: "epoch" is not a non-negative integer`);
    }
    const key = fromBase64Url(item.key);
    if (key.length !== RECORD_KEY_LENGTH) throw keysOpenFailed(`escrowed keys[${i}]: "key" is not 32 bytes`);
    return { class: item.class, epoch, key };
  });
}
