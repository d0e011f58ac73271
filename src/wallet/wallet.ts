/**
 * Wallets: the keys a party holds. A patient's keys all derive from a BIP-39 recovery
 * phrase, so the phrase alone restores the wallet; other parties get random keys.
 */
import { generateMnemonic, mnemonicToSeed, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import {
  CryptoError,
  CryptoErrorCode,
  PUBLIC_KEY_LENGTH,
  SEED_LENGTH,
  assertBytes,
  constantTimeEqual,
  didFromSigningKey,
  encryptionKeyPairFromSeed,
  encryptionKeyPairFromSeedAsync,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  hkdf,
  randomBytes,
  signingKeyPairFromSeed,
  signingKeyPairFromSeedAsync,
  utf8ToBytes,
  type EncryptionKeyPair,
  type SigningKeyPair,
} from '../crypto/index.js';
import { WalletError, WalletErrorCode } from './errors.js';

export type PartyRole = 'patient' | 'practitioner' | 'admin' | 'node';

/** Every role, in a fixed order (for validation and messages). */
export const PARTY_ROLES: readonly PartyRole[] = ['patient', 'practitioner', 'admin', 'node'];

/** Words in a patient's recovery phrase: 256 bits of entropy (BIP-39). */
export const MNEMONIC_WORDS = 24;
const MNEMONIC_STRENGTH_BITS = 256;
/** Length of the BIP-39 seed (PBKDF2-HMAC-SHA512 output). */
export const MASTER_SEED_LENGTH = 64;

// Domain separation for every key derived from the master seed (RFC 5869 salt and info).
const KDF_SALT = utf8ToBytes('roam-wallet-v1');
const INFO_SIGNING = utf8ToBytes('signing');
const INFO_ENCRYPTION = utf8ToBytes('encryption');
const INFO_RECORDS = utf8ToBytes('records');

/** The keys a party holds. */
export interface Wallet {
  role: PartyRole;
  /** did:key of the ORIGINAL signing key; stays the party's id after key rotation. */
  did: string;
  /** Current signing key; may differ from `did` after rotation. */
  signing: SigningKeyPair;
  encryption: EncryptionKeyPair;
  /** Patients only: the 64-byte BIP-39 seed from which record keys derive. */
  masterSeed?: Uint8Array;
  /** ISO 8601 time the wallet was created (or restored). */
  createdAt: string;
}

export function isPartyRole(value: unknown): value is PartyRole {
  return typeof value === 'string' && (PARTY_ROLES as readonly string[]).includes(value);
}

function assertRole(role: unknown): asserts role is PartyRole {
  if (!isPartyRole(role)) {
    throw new CryptoError(
      CryptoErrorCode.INVALID_ARGUMENT,
      `"role" expected one of ${PARTY_ROLES.join(', ')}, got ${JSON.stringify(String(role))}`,
    );
  }
}

function deriveSeed(masterSeed: Uint8Array, info: Uint8Array): Uint8Array {
  return hkdf(masterSeed, KDF_SALT, info, SEED_LENGTH);
}

/** The key pairs a patient's master seed gives; exported for the keystore's consistency check. */
export function keysFromMasterSeed(masterSeed: Uint8Array): {
  signing: SigningKeyPair;
  encryption: EncryptionKeyPair;
} {
  assertBytes('masterSeed', masterSeed, MASTER_SEED_LENGTH);
  return {
    signing: signingKeyPairFromSeed(deriveSeed(masterSeed, INFO_SIGNING)),
    encryption: encryptionKeyPairFromSeed(deriveSeed(masterSeed, INFO_ENCRYPTION)),
  };
}

/** As {@link keysFromMasterSeed}, on WebCrypto (what a browser can do). */
export async function keysFromMasterSeedAsync(masterSeed: Uint8Array): Promise<{
  signing: SigningKeyPair;
  encryption: EncryptionKeyPair;
}> {
  assertBytes('masterSeed', masterSeed, MASTER_SEED_LENGTH);
  return {
    signing: await signingKeyPairFromSeedAsync(deriveSeed(masterSeed, INFO_SIGNING)),
    encryption: await encryptionKeyPairFromSeedAsync(deriveSeed(masterSeed, INFO_ENCRYPTION)),
  };
}

function patientWallet(mnemonic: string): Wallet {
  const masterSeed = mnemonicToSeedSync(mnemonic);
  return patientWalletOf(masterSeed, keysFromMasterSeed(masterSeed));
}

function patientWalletOf(
  masterSeed: Uint8Array,
  { signing, encryption }: { signing: SigningKeyPair; encryption: EncryptionKeyPair },
): Wallet {
  return {
    role: 'patient',
    did: didFromSigningKey(signing.publicKey),
    signing,
    encryption,
    masterSeed,
    createdAt: new Date().toISOString(),
  };
}

/**
 * Creates a new wallet. A patient wallet comes with a fresh 24-word BIP-39 English recovery
 * phrase from which every key derives; show it to the patient once, it is never stored.
 * Other roles get random keys and no phrase.
 *
 * @throws CryptoError CRYPTO_INVALID_ARGUMENT for an unknown role
 * @example
 * const { wallet, mnemonic } = createWallet('patient');
 * // later, on a new device:
 * restoreWallet(mnemonic!).did === wallet.did; // true
 */
export function createWallet(role: PartyRole): { wallet: Wallet; mnemonic?: string } {
  assertRole(role);
  if (role === 'patient') {
    const mnemonic = generateMnemonic(wordlist, MNEMONIC_STRENGTH_BITS);
    return { wallet: patientWallet(mnemonic), mnemonic };
  }
  const signing = generateSigningKeyPair();
  return {
    wallet: {
      role,
      did: didFromSigningKey(signing.publicKey),
      signing,
      encryption: generateEncryptionKeyPair(),
      createdAt: new Date().toISOString(),
    },
  };
}

/** NFKD (BIP-39), lower case, single spaces: what the user typed, in the form that was hashed. */
function normalizeMnemonic(mnemonic: string): string {
  return mnemonic.normalize('NFKD').trim().toLowerCase().split(/\s+/u).join(' ');
}

/**
 * Restores a patient wallet from its recovery phrase: same DID, same keys, same master seed
 * as when it was created. (A signing key rotated since is not recoverable from the phrase;
 * rotation is recorded on the ledger.) `createdAt` is the time of restoration.
 *
 * @throws WalletError BAD_MNEMONIC when the phrase is not a valid 24-word BIP-39 English phrase
 */
export function restoreWallet(mnemonic: string): Wallet {
  return patientWallet(checkedMnemonic(mnemonic));
}

/**
 * As {@link restoreWallet}, on WebCrypto and without blocking (what a browser can do).
 *
 * @throws WalletError BAD_MNEMONIC when the phrase is not a valid 24-word BIP-39 English phrase
 */
export async function restoreWalletAsync(mnemonic: string): Promise<Wallet> {
  const masterSeed = await mnemonicToSeed(checkedMnemonic(mnemonic));
  return patientWalletOf(masterSeed, await keysFromMasterSeedAsync(masterSeed));
}

/**
 * As {@link createWallet} for a patient, on WebCrypto: a new wallet and its recovery phrase.
 */
export async function createPatientWalletAsync(): Promise<{ wallet: Wallet; mnemonic: string }> {
  const mnemonic = generateMnemonic(wordlist, MNEMONIC_STRENGTH_BITS);
  return { wallet: await restoreWalletAsync(mnemonic), mnemonic };
}

/**
 * As {@link createWallet}, on WebCrypto (what a browser can do).
 *
 * @throws CryptoError CRYPTO_INVALID_ARGUMENT for an unknown role
 */
export async function createWalletAsync(role: PartyRole): Promise<{ wallet: Wallet; mnemonic?: string }> {
  assertRole(role);
  if (role === 'patient') return createPatientWalletAsync();
  const signing = await signingKeyPairFromSeedAsync(randomBytes(SEED_LENGTH));
  return {
    wallet: {
      role,
      did: didFromSigningKey(signing.publicKey),
      signing,
      encryption: await encryptionKeyPairFromSeedAsync(randomBytes(SEED_LENGTH)),
      createdAt: new Date().toISOString(),
    },
  };
}

/** The phrase in normal form; throws BAD_MNEMONIC naming what is wrong (never the words). */
function checkedMnemonic(mnemonic: string): string {
  const normalized = typeof mnemonic === 'string' ? normalizeMnemonic(mnemonic) : '';
  const words = normalized === '' ? 0 : normalized.split(' ').length;
  // The message says what is wrong, never which words were given.
  if (words !== MNEMONIC_WORDS) {
    throw new WalletError(
      WalletErrorCode.BAD_MNEMONIC,
      `recovery phrase must have ${MNEMONIC_WORDS} words, got ${words}`,
    );
  }
  if (!validateMnemonic(normalized, wordlist)) {
    throw new WalletError(
      WalletErrorCode.BAD_MNEMONIC,
      'recovery phrase is not valid: a word is not in the BIP-39 English list or the checksum does not match',
    );
  }
  return normalized;
}

/**
 * The seed from which the patient's record keys (KEKs per sensitivity class and epoch) derive.
 *
 * @throws WalletError NOT_A_PATIENT_WALLET when the wallet has no master seed
 */
export function deriveRecordKeySeed(wallet: Wallet): Uint8Array {
  if (wallet.masterSeed === undefined) {
    throw new WalletError(
      WalletErrorCode.NOT_A_PATIENT_WALLET,
      `a ${wallet.role} wallet has no master seed to derive record keys from`,
    );
  }
  return deriveSeed(wallet.masterSeed, INFO_RECORDS);
}

/**
 * A copy of `wallet` whose current signing key is `newKey`. The DID does not change: it names
 * the party, and the ledger's identity contract records which key is current.
 *
 * @throws CryptoError CRYPTO_INVALID_ARGUMENT when `newKey` is malformed or its public key
 *   does not belong to its secret key
 */
export function withRotatedSigningKey(wallet: Wallet, newKey: SigningKeyPair): Wallet {
  assertBytes('newKey.secretKey', newKey.secretKey, SEED_LENGTH);
  assertBytes('newKey.publicKey', newKey.publicKey, PUBLIC_KEY_LENGTH);
  const checked = signingKeyPairFromSeed(newKey.secretKey);
  if (!constantTimeEqual(checked.publicKey, newKey.publicKey)) {
    throw new CryptoError(
      CryptoErrorCode.INVALID_ARGUMENT,
      '"newKey.publicKey" does not match "newKey.secretKey"',
    );
  }
  return { ...wallet, signing: checked };
}
