/**
 * The vault of one node: encrypts record versions for storage, keeps ciphertext and wrapped data
 * keys in the node's `vault.sqlite`, decrypts for callers who hold the right record key, erases
 * (crypto-shreds) records, and tracks each patient's record-key epoch per class.
 */
import type { SensitivityClass } from '../ledger/types.js';
import {
  VaultStore,
  writeTransaction,
  type RecordVersionRow,
  type StoreFileOptions,
  type VersionRef,
} from '../store/index.js';
import { sensitivityOf } from './classify.js';
import {
  decodeWrappedDek,
  decryptRecord,
  encodeWrappedDek,
  encryptRecord,
  type WrappedDek,
} from './envelope.js';
import { VaultError, VaultErrorCode } from './errors.js';
import { RECORD_KEY_LENGTH, type KeyRef } from './keys.js';
import {
  assertBytes,
  assertClass,
  assertEpoch,
  assertIdentifier,
  assertResource,
  assertVersion,
  isSensitivityClass,
} from './validate.js';

/**
 * Finds the caller's record key for a class and epoch (e.g. from the keys opened from its
 * grants), or undefined when it holds none.
 */
export type KekResolver = (ref: KeyRef) => Uint8Array | undefined;

export interface WriteRecordVersionInput {
  readonly recordId: string;
  /** Record version, from 1 (the records contract anchors versions 1, 2, ...). */
  readonly version: number;
  /** The patient's DID. */
  readonly patient: string;
  /** FHIR resource type; must equal `resource.resourceType` when that is set. */
  readonly resourceType: string;
  readonly class: SensitivityClass;
  /** Epoch of the patient's record key for `class`; not older than the current one. */
  readonly epoch: number;
  readonly resource: Readonly<Record<string, unknown>>;
  /** The patient's record key for `class` and `epoch`. */
  readonly kek: Uint8Array;
  /** DID of the organization keeping the ciphertext (this node's). */
  readonly custodian: string;
  /** DID of the author (the patient, or a practitioner of the custodian). */
  readonly author: string;
  /**
   * Set when the caller decided that the author may write the class the record has now, so the
   * version may lower it (sensitive → general). Default: a lowering version is refused.
   */
  readonly mayLowerClass?: boolean;
}

/** What the vault knows about a record version without decrypting it. */
export interface RecordVersionInfo {
  readonly recordId: string;
  readonly version: number;
  readonly patient: string;
  readonly resourceType: string;
  readonly class: SensitivityClass;
  readonly epoch: number;
  readonly contentHash: string;
  readonly custodian: string;
  readonly author: string;
  /** ms since the Unix epoch. */
  readonly createdAt: number;
}

/** A record version's ciphertext as a custodian serves it: decryptable only with the record key. */
export interface RecordCiphertext {
  readonly info: RecordVersionInfo;
  readonly blob: Uint8Array;
  readonly wrappedDek: WrappedDek;
}

export interface VaultOptions extends StoreFileOptions {
  /** Clock for `createdAt` and erasure times, ms since the Unix epoch (default `Date.now`). */
  readonly now?: () => number;
}

function toInfo(row: RecordVersionRow): RecordVersionInfo {
  if (!isSensitivityClass(row.class)) {
    throw new VaultError(
      VaultErrorCode.DECRYPT_FAILED,
      `record ${row.recordId}: stored class is not a sensitivity class`,
    );
  }
  return {
    recordId: row.recordId,
    version: row.version,
    patient: row.patient,
    resourceType: row.resourceType,
    class: row.class,
    epoch: row.epoch,
    contentHash: row.contentHash,
    custodian: row.custodian,
    author: row.author,
    createdAt: row.createdAt,
  };
}

/**
 * One node's vault over its own SQLite file.
 *
 * @example
 * const vault = Vault.open(join(dataDir, 'vault.sqlite'));
 * const { contentHash } = vault.writeRecordVersion({
 *   recordId, version: 1, patient, resourceType: 'Observation', class: 'general', epoch: 0,
 *   resource, kek, custodian: orgDid, author: practitionerDid,
 * });
 * // ... anchor contentHash on the ledger (records.anchor), then later:
 * const resource = vault.readRecordVersion(recordId, undefined, (ref) => keys.get(ref));
 */
export class Vault {
  readonly store: VaultStore;
  private readonly now: () => number;

  constructor(store: VaultStore, options: VaultOptions = {}) {
    this.store = store;
    this.now = options.now ?? Date.now;
  }

  /**
   * Opens (creating if needed) the vault file at `path` (':memory:' for a scratch vault).
   *
   * @throws StoreError STORE_OPEN_FAILED, STORE_SCHEMA_MISMATCH
   */
  static open(path: string, options: VaultOptions = {}): Vault {
    return new Vault(VaultStore.open(path, options), options);
  }

  close(): void {
    this.store.close();
  }

  /**
   * Runs `fn` (e.g. several `writeRecordVersion`) in one vault transaction that is NOT synced
   * when it commits: the caller must follow it with a durable (synchronous=FULL) commit to the
   * same SQLite file before acknowledging the writes. When `fn` throws, nothing is written.
   */
  unsyncedBatch<T>(fn: () => T): T {
    return this.store.unsyncedTransaction(fn);
  }

  /**
   * Runs `fn` (e.g. several `writeRecordVersion`) in one vault transaction synced to disk when it
   * commits: what it wrote survives a power loss once it returns. The write path stores a turn's
   * versions this way before it submits their anchors, so that no committed anchor can name a
   * ciphertext a power loss took (one sync per turn). When `fn` throws, nothing is written.
   */
  durableBatch<T>(fn: () => T): T {
    return this.store.durableTransaction(fn);
  }

  /**
   * As `durableBatch`, with the sync off the main thread: `fn` commits at once and the promise
   * resolves with its result once the commit is on disk (src/store/wal-sync.ts). The write path
   * submits no anchor before it resolves.
   */
  durableBatchOffThread<T>(fn: () => T): Promise<T> {
    return this.store.durableTransactionOffThread(fn);
  }

  /**
   * Encrypts and stores one record version (blob and row in one transaction). The caller anchors
   * the returned hash on the ledger (`records.anchor`).
   *
   * @throws VaultError VAULT_INVALID_ARGUMENT for a malformed argument;
   *   VAULT_CLASS_MISMATCH when the resource's security labels make it sensitive but `class` is
   *   `general`; VAULT_STALE_EPOCH when `epoch` is older than the patient's current epoch for the
   *   class (the patient rotated, e.g. after a revocation); VAULT_RECORD_MISMATCH when earlier
   *   versions belong to another patient or resource type; VAULT_CLASS_DOWNGRADE when the version
   *   would lower the record's class without `mayLowerClass`; VAULT_VERSION_EXISTS;
   *   VAULT_RECORD_ERASED
   */
  writeRecordVersion(input: WriteRecordVersionInput): { contentHash: string } {
    assertIdentifier('recordId', input.recordId);
    assertVersion('version', input.version);
    assertIdentifier('patient', input.patient);
    assertIdentifier('resourceType', input.resourceType);
    assertClass('class', input.class);
    assertEpoch('epoch', input.epoch);
    assertResource('resource', input.resource);
    assertBytes('kek', input.kek, RECORD_KEY_LENGTH);
    assertIdentifier('custodian', input.custodian);
    assertIdentifier('author', input.author);
    const declaredType = input.resource.resourceType;
    if (declaredType !== undefined && declaredType !== input.resourceType) {
      throw new VaultError(
        VaultErrorCode.INVALID_ARGUMENT,
        `"resource.resourceType" differs from "resourceType" ${JSON.stringify(input.resourceType)}`,
      );
    }
    if (input.class === 'general' && sensitivityOf(input.resource) === 'sensitive') {
      throw new VaultError(
        VaultErrorCode.CLASS_MISMATCH,
        `record ${input.recordId}: the resource's security labels make it sensitive, not general`,
      );
    }
    if (this.store.getErasure(input.recordId)) throw this.erased(input.recordId);
    const current = this.currentEpoch(input.patient, input.class);
    if (input.epoch < current) {
      throw new VaultError(
        VaultErrorCode.STALE_EPOCH,
        `record ${input.recordId}: epoch ${input.epoch} of class ${input.class} is older than the patient's current epoch ${current}`,
      );
    }
    const latest = this.store.getLatestVersion(input.recordId);
    if (latest && (latest.patient !== input.patient || latest.resourceType !== input.resourceType)) {
      throw new VaultError(
        VaultErrorCode.RECORD_MISMATCH,
        `record ${input.recordId} is a ${latest.resourceType} of patient ${latest.patient}`,
      );
    }
    if (latest?.class === 'sensitive' && input.class === 'general' && input.mayLowerClass !== true) {
      throw new VaultError(
        VaultErrorCode.CLASS_DOWNGRADE,
        `record ${input.recordId}: version ${input.version} would lower its class from sensitive to general`,
      );
    }
    const encrypted = encryptRecord(input);
    const result = this.store.insertVersion(
      {
        recordId: input.recordId,
        version: input.version,
        patient: input.patient,
        resourceType: input.resourceType,
        class: input.class,
        epoch: input.epoch,
        wrappedDek: encodeWrappedDek(encrypted.wrappedDek),
        custodian: input.custodian,
        author: input.author,
        createdAt: this.now(),
      },
      encrypted.blob,
    );
    switch (result.status) {
      case 'inserted':
        if (input.epoch > current) this.store.setEpoch(input.patient, input.class, input.epoch);
        return { contentHash: result.contentHash };
      case 'exists':
        throw new VaultError(
          VaultErrorCode.VERSION_EXISTS,
          `record ${input.recordId} version ${input.version} is stored already`,
        );
      case 'erased':
        throw this.erased(input.recordId);
    }
  }

  /**
   * Deletes a version written by `writeRecordVersion` whose ledger anchor then failed (and its
   * blob, unless another version shares it): the rollback of a write that never happened. Only
   * for a version that was never anchored — an anchored version is erased (`erase`), never
   * deleted. Nothing happens when the version is not stored.
   */
  discardUnanchoredVersion(recordId: string, version: number): void {
    assertIdentifier('recordId', recordId);
    assertVersion('version', version);
    const db = this.store.db;
    writeTransaction(db, () => {
      const row = db
        .prepare<[string, number], { content_hash: string }>(
          'SELECT content_hash FROM record_versions WHERE record_id = ? AND version = ?',
        )
        .get(recordId, version);
      if (row === undefined) return;
      db.prepare('DELETE FROM record_versions WHERE record_id = ? AND version = ?').run(recordId, version);
      db.prepare('DELETE FROM pending_versions WHERE record_id = ? AND version = ?').run(recordId, version);
      const used = db
        .prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM record_versions WHERE content_hash = ?')
        .get(row.content_hash);
      if ((used?.n ?? 0) === 0) db.prepare('DELETE FROM blobs WHERE hash = ?').run(row.content_hash);
    });
  }

  /**
   * A version's metadata (the latest when `version` is undefined), without decrypting.
   *
   * @throws VaultError VAULT_RECORD_ERASED, VAULT_NOT_FOUND
   */
  getVersionInfo(recordId: string, version?: number): RecordVersionInfo {
    return toInfo(this.findRow(recordId, version));
  }

  /**
   * A version's ciphertext and wrapped data key, as a custodian serves them to a grantee.
   *
   * @throws VaultError VAULT_RECORD_ERASED, VAULT_NOT_FOUND
   */
  readCiphertext(recordId: string, version?: number): RecordCiphertext {
    const row = this.findRow(recordId, version);
    const blob = this.store.getBlob(row.contentHash);
    if (!blob) {
      throw new VaultError(
        VaultErrorCode.NOT_FOUND,
        `record ${recordId} version ${row.version}: ciphertext missing`,
      );
    }
    return { info: toInfo(row), blob, wrappedDek: decodeWrappedDek(row.wrappedDek) };
  }

  /**
   * Decrypts a record version (the latest when `version` is undefined) with the record key the
   * resolver gives for its class and epoch. The blob's SHA-256 is checked against the stored hash.
   *
   * @throws VaultError VAULT_RECORD_ERASED; VAULT_NOT_FOUND; VAULT_KEY_UNAVAILABLE when the
   *   resolver has no key for the version's class and epoch; VAULT_CONTENT_HASH_MISMATCH;
   *   VAULT_DECRYPT_FAILED (e.g. the resolver's key is not the right one)
   */
  readRecordVersion(
    recordId: string,
    version: number | undefined,
    kekResolver: KekResolver,
  ): Record<string, unknown> {
    return this.decryptCiphertext(this.readCiphertext(recordId, version), kekResolver);
  }

  /**
   * The ciphertexts of the versions `refs` names, by `versionKey` (`<recordId>|<version>`), read
   * together (see `VaultStore.getVersionsWithBlobs`); an erased or missing version is absent.
   * Decrypt each with {@link decryptCiphertext}: reading many at once decrypts nothing more.
   */
  readCiphertexts(refs: readonly VersionRef[]): Map<string, RecordCiphertext> {
    const out = new Map<string, RecordCiphertext>();
    for (const [key, { blob, ...row }] of this.store.getVersionsWithBlobs(refs)) {
      out.set(key, { info: toInfo(row), blob, wrappedDek: decodeWrappedDek(row.wrappedDek) });
    }
    return out;
  }

  /**
   * Decrypts a version read by {@link readCiphertext} or {@link readCiphertexts}, as
   * {@link readRecordVersion} does (same checks, same errors).
   *
   * @throws VaultError VAULT_KEY_UNAVAILABLE; VAULT_CONTENT_HASH_MISMATCH; VAULT_DECRYPT_FAILED
   */
  decryptCiphertext(ciphertext: RecordCiphertext, kekResolver: KekResolver): Record<string, unknown> {
    const { info, blob, wrappedDek } = ciphertext;
    const recordId = info.recordId;
    const kek = kekResolver({ class: info.class, epoch: info.epoch });
    if (kek === undefined) {
      throw new VaultError(
        VaultErrorCode.KEY_UNAVAILABLE,
        `record ${recordId} version ${info.version} is encrypted under class ${info.class} epoch ${info.epoch}, and no key for it is at hand`,
      );
    }
    return decryptRecord({
      recordId: info.recordId,
      version: info.version,
      patient: info.patient,
      class: info.class,
      epoch: info.epoch,
      blob,
      wrappedDek,
      kek,
      expectedContentHash: info.contentHash,
    });
  }

  /**
   * Erases a record (GDPR art. 17) by crypto-shredding: every version's blob and wrapped data key
   * is deleted in one transaction and a tombstone keeps later reads and writes out. Erasing again
   * is harmless.
   *
   * @returns how many versions were deleted
   */
  erase(recordId: string): number {
    assertIdentifier('recordId', recordId);
    return this.store.erase(recordId, this.now());
  }

  /** The patient's current record-key epoch for the class (0 until the first rotation). */
  currentEpoch(patient: string, sensitivityClass: SensitivityClass): number {
    assertIdentifier('patient', patient);
    assertClass('sensitivityClass', sensitivityClass);
    return this.store.getEpoch(patient, sensitivityClass) ?? 0;
  }

  /**
   * Rotates the patient's record key for the class: advances the current epoch by one and returns
   * it. From then on writes under older epochs are refused (VAULT_STALE_EPOCH), so a party that
   * holds only older keys (e.g. a revoked grantee) cannot read what is written next. The patient
   * derives the new key with `deriveRecordKey(seed, patient, class, newEpoch)` and seals it to the
   * remaining grantees.
   */
  nextEpoch(patient: string, sensitivityClass: SensitivityClass): number {
    assertIdentifier('patient', patient);
    assertClass('sensitivityClass', sensitivityClass);
    return this.store.nextEpoch(patient, sensitivityClass);
  }

  private findRow(recordId: string, version: number | undefined): RecordVersionRow {
    assertIdentifier('recordId', recordId);
    if (version !== undefined) assertVersion('version', version);
    const row =
      version === undefined
        ? this.store.getLatestVersion(recordId)
        : this.store.getVersion(recordId, version);
    // Erasure deletes every version row with the tombstone's insert (one transaction): a row
    // found is not erased, so the tombstone is looked up only to tell why a row is missing.
    if (!row && this.store.getErasure(recordId)) throw this.erased(recordId);
    if (!row) {
      throw new VaultError(
        VaultErrorCode.NOT_FOUND,
        version === undefined ? `no record ${recordId}` : `no version ${version} of record ${recordId}`,
      );
    }
    return row;
  }

  private erased(recordId: string): VaultError {
    return new VaultError(VaultErrorCode.RECORD_ERASED, `record ${recordId} is erased`);
  }
}
