export { VaultError, VaultErrorCode } from './errors.js';
export { RECORD_KEY_LENGTH, deriveRecordKey, type KeyRef } from './keys.js';
export { openOwnRecordsAsync, type OwnEncryptedRecord, type OpenedOwnRecords } from './own-records.js';
export {
  ENVELOPE_VERSION,
  encryptRecord,
  decryptRecord,
  decryptRecordAsync,
  encodeWrappedDek,
  decodeWrappedDek,
  type RecordContext,
  type WrappedDek,
  type EncryptRecordInput,
  type EncryptedRecord,
  type DecryptRecordInput,
} from './envelope.js';
export {
  SEALED_KEY_VERSION,
  GRANT_HPKE_SUITE,
  X25519_KEY_LENGTH,
  sealRecordKey,
  openRecordKey,
  parseSealedRecordKey,
  sealGrantKeys,
  openGrantKeys,
  type GrantKeyContext,
  type SealedRecordKey,
  type SealGrantKeysInput,
  type OpenedRecordKey,
} from './grants.js';
export {
  V3_CONFIDENTIALITY_SYSTEM,
  V3_ACT_CODE_SYSTEM,
  SENSITIVE_LABELS,
  sensitivityOf,
  type SensitiveLabel,
} from './classify.js';
export {
  Vault,
  type KekResolver,
  type WriteRecordVersionInput,
  type RecordVersionInfo,
  type RecordCiphertext,
  type VaultOptions,
} from './vault.js';
