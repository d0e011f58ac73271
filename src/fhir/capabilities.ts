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
  if (type === 'Patient') {
    entry.operation = [
      {
        name: 'everything',
        definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
        documentation:
          'The patient and every stored resource that refers to it, ordered by _lastUpdated; parameters _count and _page only.',
      },
    ];
  }
  return entry;
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
        resource: SUPPORTED_TYPES.map(resourceEntry),
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
  if (options.baseUrl !== undefined) {
    statement.implementation = { description: 'Roam node FHIR R4 API', url: options.baseUrl };
  }
  return statement;
}
