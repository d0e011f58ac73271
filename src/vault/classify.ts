/**
 * Sensitivity classification of FHIR resources from their security labels (`meta.security`,
 * FHIR R4 §8.1 "Security Labels"). A `sensitive` resource is encrypted under the patient's
 * `sensitive` record key, which a grant carries only when its scope names that class.
 *
 * The rule is one table: a label (system, code) in it makes the resource `sensitive`; anything
 * else, including a resource with no labels, is `general`. Codes must come with their system
 * (`v3-ActCode` also defines unrelated `R`, `V`, `M` and `L` codes).
 */
import type { SensitivityClass } from '../ledger/types.js';
import { isPlainObject } from './validate.js';

export const V3_CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const V3_ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

/** A security label that makes a resource `sensitive`, with why. */
export interface SensitiveLabel {
  readonly system: string;
  readonly code: string;
  /** The code's display in its code system. */
  readonly display: string;
}

/**
 * Security labels that make a resource `sensitive` (displays from the HL7 v3 code systems, as
 * in FHIR R4's terminology):
 * - confidentiality R and V (HL7 v3 Confidentiality: "highly sensitive, potentially stigmatizing");
 * - information-sensitivity policies of v3-ActCode (ActInformationSensitivityPolicy) for mental
 *   health, substance use, genetics, HIV, sexual and reproductive health and the like;
 * - beyond the issue's list, v3-ActCode MH and BH (mental and behavioral health) and the
 *   deprecated v3-Confidentiality ETH, HIV, PSY and SDV, which older systems still send: missing
 *   one would hand a sensitive resource to grantees of `general` records only.
 */
export const SENSITIVE_LABELS: readonly SensitiveLabel[] = [
  { system: V3_CONFIDENTIALITY_SYSTEM, code: 'R', display: 'restricted' },
  { system: V3_CONFIDENTIALITY_SYSTEM, code: 'V', display: 'very restricted' },
  { system: V3_ACT_CODE_SYSTEM, code: 'ETH', display: 'substance abuse information sensitivity' },
  { system: V3_ACT_CODE_SYSTEM, code: 'GDIS', display: 'genetic disease information sensitivity' },
  { system: V3_ACT_CODE_SYSTEM, code: 'HIV', display: 'HIV/AIDS information sensitivity' },
  { system: V3_ACT_CODE_SYSTEM, code: 'PSY', display: 'psychiatry disorder information sensitivity' },
  { system: V3_ACT_CODE_SYSTEM, code: 'PSYTHPN', display: 'psychotherapy note information sensitivity' },
  { system: V3_ACT_CODE_SYSTEM, code: 'SCA', display: 'sickle cell anemia information sensitivity' },
  {
    system: V3_ACT_CODE_SYSTEM,
    code: 'SDV',
    display: 'sexual assault, abuse, or domestic violence information sensitivity',
  },
  {
    system: V3_ACT_CODE_SYSTEM,
    code: 'SEX',
    display: 'sexuality and reproductive health information sensitivity',
  },
  {
    system: V3_ACT_CODE_SYSTEM,
    code: 'STD',
    display: 'sexually transmitted disease information sensitivity',
  },
  { system: V3_ACT_CODE_SYSTEM, code: 'SUD', display: 'substance use disorder information sensitivity' },
  { system: V3_ACT_CODE_SYSTEM, code: 'TBOO', display: 'taboo' },
  { system: V3_ACT_CODE_SYSTEM, code: 'MH', display: 'mental health information sensitivity' },
  { system: V3_ACT_CODE_SYSTEM, code: 'BH', display: 'behavioral health information sensitivity' },
  {
    system: V3_CONFIDENTIALITY_SYSTEM,
    code: 'ETH',
    display: 'substance abuse related (deprecated: ActCode ETH)',
  },
  { system: V3_CONFIDENTIALITY_SYSTEM, code: 'HIV', display: 'HIV related (deprecated: ActCode HIV)' },
  { system: V3_CONFIDENTIALITY_SYSTEM, code: 'PSY', display: 'psychiatry related (deprecated: ActCode PSY)' },
  {
    system: V3_CONFIDENTIALITY_SYSTEM,
    code: 'SDV',
    display: 'sexual and domestic violence related (deprecated: ActCode SDV)',
  },
];

const SENSITIVE_KEYS: ReadonlySet<string> = new Set(
  SENSITIVE_LABELS.map((label) => `${label.system}|${label.code}`),
);

/**
 * The sensitivity class of a FHIR resource: `sensitive` when any `meta.security` coding is in
 * {@link SENSITIVE_LABELS}, otherwise `general`. Malformed `meta` or codings are ignored.
 *
 * @example
 * sensitivityOf({ resourceType: 'Observation', meta: { security: [
 *   { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' },
 * ] } }); // 'sensitive'
 */
export function sensitivityOf(resource: unknown): SensitivityClass {
  if (!isPlainObject(resource) || !isPlainObject(resource.meta)) return 'general';
  const { security } = resource.meta;
  if (!Array.isArray(security)) return 'general';
  for (const coding of security as unknown[]) {
    if (!isPlainObject(coding)) continue;
    const { system, code } = coding;
    if (typeof system === 'string' && typeof code === 'string' && SENSITIVE_KEYS.has(`${system}|${code}`)) {
      return 'sensitive';
    }
  }
  return 'general';
}
