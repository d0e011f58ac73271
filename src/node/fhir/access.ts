/**
 * The one access policy of a node: who may reach which patients' records, of which resource
 * types and sensitivity classes, for which action — decided from this node's own copy of the
 * ledger, BEFORE any index or vault lookup. Every path that touches patient data asks it: reads,
 * vreads, history, search, `$everything`, the Consent and AuditEvent views, the roaming
 * custodian and `/vault/records`. There is no second grant rule: the ledger's
 * `findCoveringGrant` decides every organization's access, here as in the contracts.
 *
 * - A patient reaches their own records (every type and class), nobody else's.
 * - A practitioner of this node's organization reaches what the patients' grants to the
 *   organization cover (type, class, read or write; a write grant covers reading).
 * - A node acting for an organization (the roaming custodian answering another node) reaches
 *   what the patients' grants to THAT organization cover, for reading.
 * - Anyone else (a node principal on the FHIR API, a practitioner of another organization)
 *   reaches nothing, and the refusal depends on who they are only.
 * - Break-glass: a practitioner of this node's organization with an *active* emergency access to
 *   a patient (`emergency/<id>` on this ledger, requester = that practitioner, org = this
 *   organization) also reaches, for READING only, that patient's records of the emergency
 *   resource types and the access's classes, where no grant covers them; such decisions name
 *   the access (`emergency`) so that audit entries say so. A custodian answering another
 *   node's emergency query reaches exactly that scope of the one access the query names.
 *
 * The purpose of use travels with the reach so that audit entries carry it; the ledger's grant
 * rule does not restrict by purpose yet (grants name one, requests carry one), so neither does
 * this module — when the contracts do, `findCoveringGrant` is where it changes.
 */
import {
  EMERGENCY_RESOURCE_TYPES,
  findCoveringGrant,
  isEmergencyActive,
  isMemberOrg,
  type EmergencyAccessRecord,
  type StateReader,
} from '../../contracts/index.js';
import type { PrincipalResponse } from '../../wire/index.js';
import { StateKey } from '../../ledger/index.js';
import type { GrantAccess, GrantRecord, SensitivityClass } from '../../ledger/types.js';
import { activeEmergencyOf } from '../emergency/access-record.js';

/** Who asks (the shape a verified bearer token gives; `Principal` of `node/auth`). */
export type AccessPrincipal = PrincipalResponse;

/** Every sensitivity class, in the order decisions try them. */
export const SENSITIVITY_CLASSES: readonly SensitivityClass[] = ['general', 'sensitive'];

/** Why access was refused: a grant code of the ledger, or who the caller is. */
export type AccessDenialCode =
  | 'NO_GRANT'
  | 'GRANT_EXPIRED'
  | 'GRANT_REVOKED'
  | 'SCOPE_NOT_COVERED'
  | 'NOT_OWN_RECORD'
  | 'OTHER_ORGANIZATION'
  | 'NOT_AUTHORIZED';

/** What an access was allowed by: a grant, or a break-glass (the emergency access id). */
export interface AccessBasis {
  readonly grantId?: string;
  readonly emergency?: string;
}

/** A decision on one (patient, type, class, action). */
export type AccessDecision =
  | ({ readonly ok: true } & AccessBasis)
  | { readonly ok: false; readonly code: AccessDenialCode };

/** The basis of an allowing decision (for its audit entry). */
export function basisOf(decision: AccessDecision): AccessBasis {
  if (!decision.ok) return {};
  return {
    ...(decision.grantId === undefined ? {} : { grantId: decision.grantId }),
    ...(decision.emergency === undefined ? {} : { emergency: decision.emergency }),
  };
}

/** What the policy reads of its node. */
export interface AccessLedger {
  /** This node's organization. */
  readonly orgDid: string;
  readonly state: StateReader;
}

/** What one decision is about. */
export interface AccessQuestion {
  readonly patient: string;
  readonly resourceType: string;
  readonly class: SensitivityClass;
  readonly action: GrantAccess;
}

/**
 * Who is reached through: a patient's own records, an organization's grants (and, for one of its
 * practitioners, their active break-glass accesses), or one emergency access (a custodian).
 */
type Holder =
  | { readonly kind: 'patient'; readonly did: string }
  | { readonly kind: 'organization'; readonly org: string; readonly practitioner?: string }
  | { readonly kind: 'emergency'; readonly access: EmergencyAccessRecord }
  | { readonly kind: 'nobody'; readonly code: AccessDenialCode };

/** Whether a break-glass `access` covers reading `q` at `at`. */
function emergencyCovers(access: EmergencyAccessRecord, q: AccessQuestion, at: number): boolean {
  return (
    q.action === 'read' &&
    access.patient === q.patient &&
    isEmergencyActive(access, at) &&
    (EMERGENCY_RESOURCE_TYPES as readonly string[]).includes(q.resourceType) &&
    access.classes.includes(q.class)
  );
}

/**
 * The reach of one principal for one request: decisions are taken once per (patient, type,
 * class, action) — the ledger state a request sees does not change under it — at the time the
 * reach was made.
 */
export class Reach {
  private readonly decisions = new Map<string, AccessDecision>();

  constructor(
    private readonly state: StateReader,
    private readonly holder: Holder,
    /** The purpose of use the request states (recorded in audit entries). */
    readonly purpose: string,
    private readonly at: number,
  ) {}

  /**
   * The refusal that depends only on who asks (a node principal, a practitioner of another
   * organization), before any patient is looked at; undefined for patients and practitioners
   * of this node's organization.
   */
  get refusal(): AccessDenialCode | undefined {
    return this.holder.kind === 'nobody' ? this.holder.code : undefined;
  }

  /** Whether a patient principal asks (it reaches its own records only). */
  get ownRecordsOnly(): string | undefined {
    return this.holder.kind === 'patient' ? this.holder.did : undefined;
  }

  decide(question: AccessQuestion): AccessDecision {
    const which = `${question.patient}|${question.resourceType}|${question.class}|${question.action}`;
    let decision = this.decisions.get(which);
    if (decision === undefined) {
      decision = this.decideOnce(question);
      this.decisions.set(which, decision);
    }
    return decision;
  }

  private decideOnce(q: AccessQuestion): AccessDecision {
    switch (this.holder.kind) {
      case 'nobody':
        return { ok: false, code: this.holder.code };
      case 'patient':
        return this.holder.did === q.patient ? { ok: true } : { ok: false, code: 'NOT_OWN_RECORD' };
      case 'organization': {
        const found = findCoveringGrant(
          this.state,
          q.patient,
          this.holder.org,
          q.resourceType,
          q.class,
          q.action,
          this.at,
        );
        if (found.code === 'OK') return { ok: true, grantId: found.grant.id };
        const access = this.emergencyOf(q.patient);
        if (access !== undefined && emergencyCovers(access, q, this.at)) return { ok: true, emergency: access.id };
        return { ok: false, code: found.code };
      }
      case 'emergency':
        return emergencyCovers(this.holder.access, q, this.at)
          ? { ok: true, emergency: this.holder.access.id }
          : { ok: false, code: 'SCOPE_NOT_COVERED' };
    }
  }

  /** Active break-glass accesses of the practitioner, by patient (looked up once per request). */
  private readonly emergencies = new Map<string, EmergencyAccessRecord | undefined>();

  /** The practitioner's active break-glass access to `patient`, if any. */
  private emergencyOf(patient: string): EmergencyAccessRecord | undefined {
    if (this.holder.kind !== 'organization' || this.holder.practitioner === undefined) return undefined;
    if (!this.emergencies.has(patient)) {
      const { org, practitioner } = this.holder;
      this.emergencies.set(
        patient,
        activeEmergencyOf(this.state, { patient, requester: practitioner, org, at: this.at }),
      );
    }
    return this.emergencies.get(patient);
  }

  /**
   * The break-glass access under which `patient`'s records of `types` are reached, when no grant
   * reaches any of them and an active access does (what a roaming query names to custodians).
   */
  emergencyFor(patient: string, types: readonly string[]): string | undefined {
    let found: string | undefined;
    for (const type of types) {
      for (const cls of SENSITIVITY_CLASSES) {
        const decision = this.decide({ patient, resourceType: type, class: cls, action: 'read' });
        if (!decision.ok) continue;
        if (decision.emergency === undefined) return undefined;
        found ??= decision.emergency;
      }
    }
    return found;
  }

  /** Whether `patient`'s `type` records of class `cls` may be read. */
  mayRead(patient: string, type: string, cls: SensitivityClass): boolean {
    return this.decide({ patient, resourceType: type, class: cls, action: 'read' }).ok;
  }

  /**
   * Undefined when some class of some of `types` of `patient` may be read; else the refusal of
   * the first type's general class (the most telling code: GRANT_REVOKED, GRANT_EXPIRED…). It
   * depends on the grants alone, never on which records exist.
   */
  refusalFor(patient: string, types: readonly string[]): AccessDenialCode | undefined {
    let first: AccessDenialCode | undefined;
    for (const type of types) {
      for (const cls of SENSITIVITY_CLASSES) {
        const decision = this.decide({ patient, resourceType: type, class: cls, action: 'read' });
        if (decision.ok) return undefined;
        first ??= decision.code;
      }
    }
    return first ?? 'NO_GRANT';
  }

  /**
   * The patients whose records a query that names no patient may draw from: the patient's own
   * DID, or every patient with an active, unexpired grant to the organization (which of their
   * records are readable is `mayRead`'s to say).
   */
  unnamedPatients(): ReadonlySet<string> {
    switch (this.holder.kind) {
      case 'nobody':
        return new Set();
      case 'patient':
        return new Set([this.holder.did]);
      case 'organization':
        return grantingPatients(this.state, this.holder.org, this.at);
      case 'emergency':
        return new Set([this.holder.access.patient]);
    }
  }
}

/** The key prefix of every grant index entry of `org` (`idx/org-grant/<org>/<patient>/<grant>`). */
function orgGrantsPrefix(org: string): string {
  const one = StateKey.orgPatientGrantsPrefix(org, '');
  return one.slice(0, one.length - 1);
}

/** The patients with an active, unexpired grant to `org` at `at` (none while `org` is not a member). */
function grantingPatients(state: StateReader, org: string, at: number): Set<string> {
  const out = new Set<string>();
  if (!isMemberOrg(state, org)) return out;
  const prefix = orgGrantsPrefix(org);
  for (const [key] of state.range<unknown>(prefix)) {
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) continue;
    const patient = rest.slice(0, slash);
    if (out.has(patient)) continue;
    const grant = state.get<GrantRecord>(StateKey.grant(rest.slice(slash + 1)));
    if (grant?.status === 'active' && (grant.expiresAt === null || grant.expiresAt > at)) out.add(patient);
  }
  return out;
}

/**
 * The access policy of one node (see the module comment).
 *
 * @example
 * const reach = new AccessPolicy({ orgDid, state }).reachOf(principal, 'treatment');
 * if (!reach.mayRead(patientDid, 'Condition', 'sensitive')) …
 */
export class AccessPolicy {
  constructor(
    private readonly ledger: AccessLedger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The reach of a principal of this node's API. `breakGlass: false` leaves out break-glass
   * accesses (the ledger views: an emergency reaches records, not the patient's consents or trail).
   */
  reachOf(principal: AccessPrincipal, purpose: string, options: { readonly breakGlass?: boolean } = {}): Reach {
    const holder = this.holderOf(principal);
    const plain =
      options.breakGlass === false && holder.kind === 'organization' ? { kind: holder.kind, org: holder.org } : holder;
    return new Reach(this.ledger.state, plain, purpose, this.now());
  }

  /**
   * The reach of another organization's node reading for `onBehalfOf` (the roaming custodian):
   * what the patients' grants to `org` cover. Whether `onBehalfOf` may speak for `org` is the
   * custodian's check (an active practitioner of it, or the patient itself).
   */
  reachOfOrganization(org: string, purpose: string): Reach {
    return new Reach(this.ledger.state, { kind: 'organization', org }, purpose, this.now());
  }

  /**
   * The reach of another organization's node reading under break-glass `access` (the roaming
   * custodian, after checking that the access is active and is that node's organization's):
   * the access's patient, the emergency resource types and its classes, read only.
   */
  reachOfEmergency(access: EmergencyAccessRecord): Reach {
    return new Reach(this.ledger.state, { kind: 'emergency', access }, 'emergency', this.now());
  }

  private holderOf(principal: AccessPrincipal): Holder {
    switch (principal.kind) {
      case 'patient':
        return { kind: 'patient', did: principal.did };
      case 'practitioner':
        return principal.org === this.ledger.orgDid
          ? { kind: 'organization', org: principal.org, practitioner: principal.did }
          : { kind: 'nobody', code: 'OTHER_ORGANIZATION' };
      case 'node':
        return { kind: 'nobody', code: 'NOT_AUTHORIZED' };
    }
  }
}
