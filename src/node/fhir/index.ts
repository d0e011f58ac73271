// The FHIR API of a node: the access policy, the encrypted repository, its audit trail, the
// service wiring and the Fastify routes under /fhir/R4.
export {
  EncryptedFhirRepository,
  DID_IDENTIFIER_SYSTEM,
  ANCHOR_COMMIT_WAIT_MS,
  DEFAULT_PURPOSE,
  isRegisteredPatient,
  type FhirRequestContext,
  type FhirNodePort,
} from './service.js';
export {
  AccessPolicy,
  Reach,
  SENSITIVITY_CLASSES,
  type AccessDecision,
  type AccessDenialCode,
  type AccessLedger,
  type AccessPrincipal,
  type AccessQuestion,
} from './access.js';
export {
  AuditTrail,
  AUDIT_FLUSH_INTERVAL_MS,
  AUDIT_BATCH_SIZE,
  AUDIT_COMMIT_WAIT_MS,
  type AuditEvent,
  type AuditLedger,
} from './audit.js';
export { FhirService, vaultPath, type FhirServiceNode } from './fhir-service.js';
export { registerFhirRoutes, FHIR_PREFIX, FHIR_BODY_LIMIT_BYTES } from './routes.js';
export { LedgerViews, viewBundle, type ViewsNodePort, type ViewPage, type ViewResult } from './views.js';
export { PatientSummaries, type PatientSummariesOptions } from './summary.js';
export { RecordErasure, type ErasureNodePort, type ErasureResult } from './erase.js';
