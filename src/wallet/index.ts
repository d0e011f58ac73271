export { WalletError, WalletErrorCode } from './errors.js';
export {
  type PartyRole,
  type Wallet,
  PARTY_ROLES,
  MNEMONIC_WORDS,
  MASTER_SEED_LENGTH,
  isPartyRole,
  createWallet,
  restoreWallet,
  restoreWalletAsync,
  createPatientWalletAsync,
  createWalletAsync,
  keysFromMasterSeedAsync,
  deriveRecordKeySeed,
  withRotatedSigningKey,
} from './wallet.js';
export { WALLET_FORMAT, WALLET_VERSION, encodeWalletFile, decodeWalletFile } from './keystore.js';
export {
  type KdfParams,
  type KdfHeader,
  type CipherFields,
  type FieldError,
  type FieldReader,
  type SealOptions,
  type OpenOptions,
  MIN_PASSPHRASE_LENGTH,
  DEFAULT_KDF_PARAMS,
  MIN_KDF_N,
  checkNewPassphrase,
  createFieldReader,
  newKdfHeader,
  sealWithPassphrase,
  openWithPassphrase,
} from './passphrase-envelope.js';
export {
  type SaveWalletOptions,
  WALLET_FILE_MODE,
  PASSPHRASE_ENV_VAR,
  saveWallet,
  loadWallet,
  resolvePassphrase,
} from './files.js';
