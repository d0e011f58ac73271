/**
 * The FHIR resources of the ledger views, mapping only: a consent grant as a `Consent`, a ledger
 * audit entry as an `AuditEvent` shaped after IHE BALP (Basic Audit Log Patterns). Who may see
 * them is decided in `views.ts`.
 */
import type {
  AuditEvent as FhirAuditEvent,
  AuditEventAgent,
  AuditEventEntity,
  Coding,
  Consent,
  Reference,
} from '@medplum/fhirtypes';
import {
  PURPOSE_OF_USE,
  PURPOSE_OF_USE_SYSTEM,
  type AuditAction,
  type AuditRecord,
  type Purpose,
} from '../../contracts/index.js';
import type { GrantRecord, OrgRecord } from '../../ledger/types.js';
import { DID_IDENTIFIER_SYSTEM } from './request.js';

/** A Reference usable wherever any target type is allowed. */
export type Ref = Reference<never>;

const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const RESOURCE_TYPES = 'http://hl7.org/fhir/resource-types';
/** Identifier system of a break-glass access id (`emergency/<id>` on the ledger). */
export const EMERGENCY_ACCESS_SYSTEM = 'urn:roam:emergency-access';
/** DICOM DCM 110127: the subtype of every access made under break-glass. */
const EMERGENCY_OVERRIDE = { system: DCM, code: '110127', display: 'Emergency Override Started' } as const;

/**
 * The Consent resource of a grant (the sealed record keys are never shown): `patient` is the
 * patient's reference, `org` the grantee's record on the ledger, `now` decides expiry.
 */
export function consentResource(
  grant: GrantRecord,
  context: { readonly patient: Ref; readonly org: OrgRecord | undefined; readonly now: number },
): Consent {
  const { patient, org, now } = context;
  const expired = grant.expiresAt !== null && grant.expiresAt <= now;
  const orgRef: Ref = {
    identifier: { system: DID_IDENTIFIER_SYSTEM, value: grant.grantee },
    ...(org === undefined ? {} : { display: org.name }),
  };
  const purpose = PURPOSE_OF_USE[grant.purpose as Purpose] as string | undefined;
  const actions = grant.access === 'write' ? ['access', 'collect'] : ['access'];
  const classes = grant.scope.resourceTypes.includes('*') ? [] : grant.scope.resourceTypes;
  const updated = grant.revokedAt ?? grant.grantedAt;
  return {
    resourceType: 'Consent',
    id: grant.id,
    meta: { lastUpdated: new Date(updated).toISOString(), source: `urn:roam:tx:${grant.txId}` },
    status: grant.status === 'revoked' || expired ? 'inactive' : 'active',
    scope: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/consentscope',
          code: 'patient-privacy',
          display: 'Privacy Consent',
        },
      ],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
    patient,
    dateTime: new Date(grant.grantedAt).toISOString(),
    performer: [patient],
    organization: [orgRef],
    policyRule: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN', display: 'opt-in' },
      ],
    },
    provision: {
      type: 'permit',
      period: {
        start: new Date(grant.grantedAt).toISOString(),
        ...(grant.expiresAt === null ? {} : { end: new Date(grant.expiresAt).toISOString() }),
      },
      actor: [
        {
          role: { coding: [{ system: PARTICIPATION, code: 'IRCP', display: 'information recipient' }] },
          reference: orgRef,
        },
      ],
      action: actions.map((code) => ({
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code }],
      })),
      securityLabel: grant.scope.classes.map((c): Coding =>
        c === 'sensitive'
          ? { system: CONFIDENTIALITY, code: 'R', display: 'restricted' }
          : { system: CONFIDENTIALITY, code: 'N', display: 'normal' },
      ),
      ...(purpose === undefined ? {} : { purpose: [{ system: PURPOSE_OF_USE_SYSTEM, code: purpose }] }),
      ...(classes.length === 0 ? {} : { class: classes.map((code) => ({ system: RESOURCE_TYPES, code })) }),
    },
  };
}

/** The AuditEvent (IHE BALP shape) of ledger audit entry `r` at position `id`; `patient` is its patient's reference. */
export function auditEventResource(id: string, r: AuditRecord, patient: Ref): FhirAuditEvent {
  const rest = r.action === 'read' || r.action === 'search' || r.action === 'create' || r.action === 'update';
  const interaction: Record<AuditAction, string> = {
    read: 'read',
    search: 'search-type',
    create: 'create',
    update: 'update',
    erase: 'operation',
    'break-glass': 'operation',
    consent: 'operation',
    'share-link': 'operation',
  };
  const action: Record<AuditAction, NonNullable<FhirAuditEvent['action']>> = {
    read: 'R',
    search: 'E',
    create: 'C',
    update: 'U',
    erase: 'D',
    'break-glass': 'E',
    consent: 'E',
    'share-link': 'R',
  };
  const did = (value: string): Ref => ({ identifier: { system: DID_IDENTIFIER_SYSTEM, value } });
  const agents: AuditEventAgent[] = [
    {
      type: { coding: [{ system: PARTICIPATION, code: 'IRCP', display: 'information recipient' }] },
      who: did(r.actor),
      requestor: true,
    },
    {
      type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
      who: did(r.recordedBy),
      requestor: false,
    },
  ];
  if (r.via !== undefined) {
    agents.push({
      type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] },
      who: did(r.via),
      requestor: false,
    });
  }
  const entities: AuditEventEntity[] = [
    {
      what: patient,
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
    },
  ];
  if (r.resourceType !== undefined) {
    entities.push({
      ...(r.recordId === undefined
        ? { name: r.resourceType, description: `${r.resourceType} records of the patient` }
        : { what: { reference: `${r.resourceType}/${r.recordId}` } }),
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
    });
  }
  if (r.grantId !== undefined) {
    entities.push({
      what: { reference: `Consent/${r.grantId}` },
      type: { system: RESOURCE_TYPES, code: 'Consent', display: 'Consent' },
      description: 'the consent grant the access was authorized by',
    });
  }
  // An access under break-glass is loud: DCM 110127, purpose ETREAT, and the access it used.
  const { emergency } = r;
  if (emergency !== undefined) {
    entities.push({
      what: { identifier: { system: EMERGENCY_ACCESS_SYSTEM, value: emergency } },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      description: 'the emergency access (break-glass) the access was made under',
    });
  }
  const purpose =
    emergency !== undefined
      ? PURPOSE_OF_USE.emergency
      : r.purpose === undefined
        ? undefined
        : (PURPOSE_OF_USE[r.purpose] as string | undefined);
  return {
    resourceType: 'AuditEvent',
    id,
    type: rest
      ? { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'RESTful Operation' }
      : { system: DCM, code: '110110', display: 'Patient Record' },
    subtype: [
      { system: RESTFUL_INTERACTION, code: interaction[r.action] },
      ...(emergency === undefined ? [] : [EMERGENCY_OVERRIDE]),
    ],
    action: action[r.action],
    recorded: new Date(r.at).toISOString(),
    outcome: r.outcome === 'success' ? '0' : '4',
    ...(r.outcome === 'denied' ? { outcomeDesc: 'access denied' } : {}),
    ...(purpose === undefined
      ? {}
      : { purposeOfEvent: [{ coding: [{ system: PURPOSE_OF_USE_SYSTEM, code: purpose }] }] }),
    agent: agents,
    source: {
      observer: did(r.recordedBy),
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    entity: entities,
  };
}
