// Break-glass on a node: the access record on the ledger, the trustee release, the requesting
// node's key reconstruction and in-memory key store, and the watcher driving them from blocks.
export { activeEmergencyOf, emergencyAccessOf, type EmergencyAccessRecord } from './access-record.js';
export { EmergencyKeyStore } from './key-store.js';
export { KeyReconstruction, type EmergencyKeyStatus, type ReconstructionPort } from './key-reconstruction.js';
export {
  TrusteeRelease,
  RELEASE_COMMIT_WAIT_MS,
  type ReleaseOutcome,
  type TrusteePort,
} from './trustee-release.js';
export {
  EmergencyWatcher,
  RELEASE_ATTEMPTS,
  RELEASE_RETRY_MS,
  type EmergencyWatcherPort,
} from './emergency-watcher.js';
export { NodeEmergency, type NodeEmergencyPort } from './node-emergency.js';
