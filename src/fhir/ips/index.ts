// The International Patient Summary (HL7 IPS IG, R4): a pure builder of IPS documents from a
// patient's resources, and a structural checker of IPS documents.
export { buildPatientSummary, URI_IDENTIFIER_SYSTEM, type PatientSummaryOptions } from './builder.js';
export { buildOwnSummary, type OwnSummaryOptions } from './own-summary.js';
export { checkIpsDocument, type IpsCheckResult, type IpsIssue, type IpsIssueCode } from './checker.js';
export {
  SUMMARY_LANGUAGES,
  languageFromAcceptLanguage,
  labelsFor,
  type SummaryLanguage,
  type SectionKey,
  type SummaryLabels,
} from './labels.js';
export { escapeHtml, rowOf } from './narrative.js';
export {
  IPS_SECTIONS,
  IPS_DOCUMENT_CODE,
  REQUIRED_SECTION_CODES,
  type SectionDefinition,
  type SectionRequirement,
} from './sections.js';
