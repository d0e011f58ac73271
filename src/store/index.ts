export { BlockWriter } from './block-writer.js';
export { LedgerStore, LOG_ROW_SPAN, nonceKey, type StoredTx, type StoredBlock, type BlockCommit } from './ledger-store.js';
export { StoreError, StoreErrorCode } from './errors.js';
export { backupDatabaseFile, checkDatabaseFile } from './online-backup.js';
export { writeTransaction, type StoreFileOptions } from './sqlite-file.js';
export { WalCheckpointer, type WalCheckpointerOptions, type CheckpointCounts } from './wal-checkpointer.js';
export {
  FhirIndexStore,
  type FhirResourceRow,
  type FhirIndexRow,
  type OutboxRow,
  type UnindexedVersion,
  type AuditInFlight,
} from './fhir-index-store.js';
export {
  VaultStore,
  type RecordVersionRow,
  type NewRecordVersion,
  type InsertVersionResult,
  type ErasureRow,
  type StoredSensitivityClass,
  type VersionRef,
  versionKey,
} from './vault-store.js';
export {
  ShareLinkStore,
  type NewShareLink,
  type ReplaceFileOutcome,
  type SealKeyOutcome,
  type ShareLinkAccessRow,
  type ShareLinkRow,
} from './share-link-store.js';
export {
  ReplicaStore,
  type ReplicaVersionRow,
  type ReplicaOutboxRow,
  type ReplicaShipment,
  type PutReplicaResult,
} from './replica-store.js';
export { RefillLog, type RefillGapRow, type RefillGapKey, type RefillReport } from './refill-log.js';
