/** Operating a node: metrics, health and readiness, request logs, backup and restore. */
export { registerOpsRoutes, type OpsRoutesOptions } from './ops-routes.js';
export { NodeMetrics, type NodeGaugeSources, type PeerCallKind, type PeerCallOutcome } from './metrics.js';
export { observeNode, type NodeObserver } from './node-observer.js';
export {
  checkReadiness,
  NotReadyCode,
  ReadyWarningCode,
  READY_MAX_BLOCKS_BEHIND_PEERS,
  READY_MAX_PENDING_MESSAGES,
  type Readiness,
  type ReadinessSources,
} from './readiness.js';
export { MIN_METRICS_TOKEN_LENGTH, mayReadMetrics } from './metrics-access.js';
export { REQUEST_ID_HEADER, requestIdOf, registerRequestLog } from './request-log.js';
export {
  DEFAULT_LOG_LEVEL,
  LOG_LEVELS,
  fastifyLoggerOptions,
  scrubLogText,
  type LogLevel,
  type NodeLogOptions,
} from './log-hygiene.js';
export { ROUTE_FAMILIES, OPS_PATHS, routeFamilyOf, statusClassOf, type RouteFamily } from './route-family.js';
export {
  createBackup,
  readHead,
  BACKUP_DIR_MODE,
  BACKUP_FILE_MODE,
  type CreateBackupOptions,
} from './backup.js';
export { restoreBackup, type RestoreOptions, type RestoreReport } from './restore.js';
export {
  BACKUP_DATABASES,
  BACKUP_SIDE_DATABASES,
  BACKUP_FORMAT,
  BACKUP_MANIFEST,
  BACKUP_VERSION,
  BackupError,
  BackupErrorCode,
  dataFolderFiles,
  type BackupFileEntry,
  type BackupManifest,
} from './backup-files.js';
