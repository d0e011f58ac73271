/**
 * The CapabilityStatement served at `/fhir/R4/metadata`, built from the same tables the code
 * runs on (SUPPORTED_TYPES, SEARCH_PARAMETERS, sort orders), so that it cannot drift from what
 * the server does. It declares only what is built: no delete, patch, conditional operations,
 * `_include`, XML, or SMART on FHIR.
 */
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { MAX_BUNDLE_ENTRIES } from './bundles.js';
import { SEARCH_PARAMETERS, sortParametersOf } from './search/index-entries.js';
import { DEFAULT_COUNT, MAX_COUNT } from './search/params.js';
import { SUPPORTED_TYPES } from './types.js';

/** The FHIR version of this API. */
export const FHIR_VERSION = '4.0.1';

/** The type-level and instance-level interactions of every supported type. */
export const RESOURCE_INTERACTIONS = [
  'read',
  'vread',
  'update',
  'create',
  'search-type',
  'history-instance',
] as const;

/**
 * Read-only views computed from the ledger (not stored resources): `Consent` from the patients'
 * consent grants, `AuditEvent` from the ledger audit trail. Only read and search-type.
 */
export const VIEW_INTERACTIONS = ['read', 'search-type'] as const;

/** Search parameters of each ledger view (the node's parser accepts exactly these). */
export const VIEW_SEARCH_PARAMETERS = {
  Consent: [
    {
      name: 'patient',
      type: 'reference',
      documentation:
        'Patient/<id> of a Patient stored here (or the :identifier modifier with urn:ietf:rfc:3986|<DID>). Required for practitioners, who see the grants made to their organization only; a patient sees their own.',
    },
    { name: '_id', type: 'token', documentation: 'The grant id.' },
  ],
  AuditEvent: [
    {
      name: 'patient',
      type: 'reference',
      documentation:
        'Patient/<id> (or :identifier urn:ietf:rfc:3986|<DID>). Required for practitioners, whose organization must hold an active grant of the patient; a patient reads their own trail.',
    },
    {
      name: 'date',
      type: 'date',
      documentation: 'AuditEvent.recorded, with the prefixes eq, ne, lt, le, gt, ge, sa, eb, ap.',
    },
  ],
} as const satisfies Record<
  string,
  ReadonlyArray<{ name: string; type: 'reference' | 'token' | 'date'; documentation: string }>
>;

export type ViewType = keyof typeof VIEW_SEARCH_PARAMETERS;
/** The ledger views, in CapabilityStatement order (after the stored types). */
export const VIEW_TYPES: readonly ViewType[] = ['Consent', 'AuditEvent'];

/** The erasure operation, declared on every stored type. */
export const ERASE_OPERATION = {
  name: 'erase',
  definition: 'urn:roam:fhir:OperationDefinition:erase',
  documentation:
    "POST [type]/[id]/$erase, by the patient the record belongs to: crypto-shredding (every version's ciphertext and wrapped data key deleted from the vault, a tombstone kept), index rows removed, and a records.erase transaction committed on the ledger. Afterwards reads answer 410 Gone and searches omit the record.",
} as const;

export interface CapabilityOptions {
  /** The FHIR base URL of this node, e.g. `https://node.example/fhir/R4`. */
  readonly baseUrl?: string;
  /** The software version (package version). */
  readonly softwareVersion?: string;
  /** Publication date of the statement, an ISO date (e.g. the build date); default: today. */
  readonly date?: string;
}

const SECURITY_DESCRIPTION =
  'Every request carries "Authorization: Bearer <token>". The token is short-lived and is ' +
  'obtained from /auth by signing a challenge with the wallet key of a registered party ' +
  "(patient, practitioner or node); it is not SMART on FHIR / OAuth. Access to a patient's " +
  'records is decided by the consent grants on the ledger (or a logged break-glass), and every ' +
  'access is written to the ledger audit trail.';

function resourceEntry(type: (typeof SUPPORTED_TYPES)[number]): CapabilityStatementRestResource {
  const sorts = sortParametersOf(type).flatMap((p) => [p, `-${p}`]);
  const entry: CapabilityStatementRestResource = {
    type,
    interaction: RESOURCE_INTERACTIONS.map((code) => ({ code })),
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: false,
    conditionalRead: 'not-supported',
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    searchParam: SEARCH_PARAMETERS[type].map((p) => ({
      name: p.name,
      type: p.type,
      documentation: p.documentation,
    })),
    documentation:
      `Search: repeated parameters are ANDed, a comma ORs; unknown parameters and modifiers are refused (400). ` +
      `_count (default ${DEFAULT_COUNT}, at most ${MAX_COUNT}), _sort (${sorts.join(', ')}), ` +
      `_summary=count, paging by the next link.`,
  };
  entry.operation = [
    ...(type === 'Patient'
      ? [
          {
            name: 'everything',
            definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
            documentation:
              'The patient and every stored resource that refers to it, ordered by _lastUpdated; parameters _count and _page only.',
          },
          {
            name: 'summary',
            definition: 'http://hl7.org/fhir/uv/ips/OperationDefinition/summary',
            documentation:
              'An International Patient Summary (HL7 IPS, R4 document Bundle) of every record of the patient the caller may read, local and roamed; GET or POST on Patient/<id>/$summary, or GET Patient/$summary?identifier=; section titles in the Accept-Language (en, de, fr, es).',
          },
        ]
      : []),
    { ...ERASE_OPERATION },
  ];
  return entry;
}

function viewEntry(type: ViewType): CapabilityStatementRestResource {
  return {
    type,
    interaction: VIEW_INTERACTIONS.map((code) => ({ code })),
    versioning: 'no-version',
    readHistory: false,
    updateCreate: false,
    conditionalCreate: false,
    conditionalRead: 'not-supported',
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    searchParam: VIEW_SEARCH_PARAMETERS[type].map((p) => ({
      name: p.name,
      type: p.type,
      documentation: p.documentation,
    })),
    documentation:
      (type === 'Consent'
        ? 'Read-only view of the consent grants on the ledger (status active, or inactive once revoked or expired); sealed keys are never shown. '
        : 'Read-only view of the ledger audit trail, shaped after IHE BALP; reading it is itself audited. ') +
      `_count (default ${DEFAULT_COUNT}, at most ${MAX_COUNT}), paging by the next link; no _sort.`,
  };
}

/** The CapabilityStatement of this server (see the module comment). */
export function capabilityStatement(options: CapabilityOptions = {}): CapabilityStatement {
  const statement: CapabilityStatement = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: options.date ?? new Date().toISOString().slice(0, 10),
    publisher: 'Roam',
    kind: 'instance',
    software: {
      name: 'roam-ehr',
      ...(options.softwareVersion === undefined ? {} : { version: options.softwareVersion }),
    },
    fhirVersion: FHIR_VERSION,
    format: ['json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        documentation:
          `Records are encrypted per record and searched through keyed index entries. ` +
          `transaction and batch accept at most ${MAX_BUNDLE_ENTRIES} entries (GET, POST, PUT).`,
        security: {
          service: [{ text: 'Bearer token from a signed wallet challenge (not SMART on FHIR)' }],
          description: SECURITY_DESCRIPTION,
        },
        resource: [...SUPPORTED_TYPES.map(resourceEntry), ...VIEW_TYPES.map(viewEntry)],
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
  if (options.baseUrl !== undefined) {
    statement.implementation = { description: 'Roam node FHIR R4 API', url: options.baseUrl };
  }
  return statement;
}
