/**
 * Record keys (KEKs): one per patient, sensitivity class and epoch, derived in the patient's
 * wallet from the record-key seed (`deriveRecordKeySeed`). A record version's data key (DEK) is
 * wrapped under the KEK of its class and epoch; a consent grant carries KEKs sealed to the grantee.
 * Rotating to a new epoch gives new KEKs, so records written afterwards are out of reach of
 * anyone who holds only the old ones.
 */
import { hkdf, utf8ToBytes } from '../crypto/index.js';
import type { SensitivityClass } from '../ledger/types.js';
import { VaultError, VaultErrorCode } from './errors.js';
import { assertBytes, assertClass, assertEpoch, assertIdentifier } from './validate.js';

/** Length of record keys, record-key seeds and data keys: AES-256. */
export const RECORD_KEY_LENGTH = 32;

// RFC 5869 §3.1: a fixed, application-specific salt; §3.2: `info` binds the key to its context.
const KEK_SALT = utf8ToBytes('roam-kek-v1');

/** Names a record key: the sensitivity class and the epoch of the patient's key rotation. */
export interface KeyRef {
  readonly class: SensitivityClass;
  readonly epoch: number;
}

/**
 * Derives a patient's record key (KEK) for one sensitivity class and epoch:
 * HKDF-SHA256 (RFC 5869) with ikm = the record-key seed, salt = utf8 `roam-kek-v1`,
 * info = utf8 `${patientDid}|${class}|${epoch}`, 32 bytes of output.
 *
 * @param recordKeySeed the patient's 32-byte seed (`deriveRecordKeySeed(wallet)`)
 * @param patientDid the patient's DID; must not contain `|` (it separates the info fields)
 * @throws VaultError VAULT_INVALID_ARGUMENT naming a malformed argument
 * @example
 * const kek = deriveRecordKey(deriveRecordKeySeed(wallet), wallet.did, 'general', 0);
 */
export function deriveRecordKey(
  recordKeySeed: Uint8Array,
  patientDid: string,
  sensitivityClass: SensitivityClass,
  epoch: number,
): Uint8Array {
  assertBytes('recordKeySeed', recordKeySeed, RECORD_KEY_LENGTH);
  assertIdentifier('patientDid', patientDid);
  if (patientDid.includes('|')) {
    throw new VaultError(VaultErrorCode.INVALID_ARGUMENT, '"patientDid" must not contain "|"');
  }
  assertClass('sensitivityClass', sensitivityClass);
  assertEpoch('epoch', epoch);
  return hkdf(
    recordKeySeed,
    KEK_SALT,
    utf8ToBytes(`${patientDid}|${sensitivityClass}|${epoch}`),
    RECORD_KEY_LENGTH,
  );
}
