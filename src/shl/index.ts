/**
 * SMART Health Links (HL7 SMART Health Cards and Links IG): the `shlink:/` payload, the files'
 * compact JWE, the manifest request a viewer makes, and QR codes. Browser-safe (no `node:`
 * import): the node, the CLI and the web viewer share it.
 */
export { ShlError, ShlErrorCode } from './errors.js';
export {
  assertShlFlags,
  buildShlink,
  parseShlink,
  shlFlagsOf,
  shlFlagString,
  viewerLink,
  MAX_SHL_LABEL_LENGTH,
  MAX_SHL_URL_LENGTH,
  MAX_SHLINK_LENGTH,
  SHL_KEY_BYTES,
  SHL_KEY_LENGTH,
  SHL_VERSION,
  SHLINK_PREFIX,
  type BuildShlinkOptions,
  type ShlFlags,
  type ShlPayload,
} from './payload.js';
export {
  decryptShlFile,
  encryptShlFile,
  generateShlKey,
  FHIR_JSON_CONTENT_TYPE,
  JOSE_MEDIA_TYPE,
  MAX_SHL_PLAINTEXT_BYTES,
  SHL_CONTENT_TYPES,
  SMART_API_ACCESS_CONTENT_TYPE,
  SMART_HEALTH_CARD_CONTENT_TYPE,
  type EncryptShlFileOptions,
  type ShlFile,
} from './jwe.js';
export {
  assertSecureUrl,
  parseManifest,
  resolveShlink,
  MAX_SHL_MANIFEST_FILES,
  MAX_SHL_RESPONSE_CHARS,
  type ResolveShlinkOptions,
  type ShlManifest,
  type ShlManifestFile,
  type ShlManifestRequest,
  type ShlPasscodeRefusal,
  type ShlResolvedFile,
} from './manifest.js';
export { shlQrSvg, SHL_QR_OPTIONS } from './qr.js';
