export {
  ShareLinks,
  FILE_TICKET_TTL_MS,
  MAX_ACTIVE_LINKS_PER_PATIENT,
  MAX_SHL_JWE_CHARS,
  MAX_SHL_SEALED_KEY_CHARS,
  SHL_PASSCODE_ATTEMPTS,
  type ManifestAnswer,
  type ManifestRequest,
  type ServedFile,
  type ShareLinkAuditSink,
  type ShareLinksOptions,
} from './share-links.js';
export {
  registerShareLinkRoutes,
  redactShareLinkSecrets,
  MAX_RECIPIENT_LENGTH,
  SHL_MANIFEST_BODY_LIMIT_BYTES,
  SHL_UPLOAD_BODY_LIMIT_BYTES,
} from './routes.js';
export { hashPasscode, verifyPasscode, PASSCODE_SCRYPT } from './passcode.js';
