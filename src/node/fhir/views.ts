/**
 * Read-only FHIR views of what the ledger holds about a patient:
 *
 * - `Consent`: one per consent grant (`grant/<id>`, listed by `idx/patient-grant/<patient>/`).
 *   Status `active`, or `inactive` once revoked or expired; the sealed record keys are never shown.
 * - `AuditEvent`: one per ledger audit entry (`audit/<patient>/<height>/<tx>/<entry>`), shaped after
 *   IHE BALP (Basic Audit Log Patterns). Its id is the entry's position in the chain
 *   (`<height>-<tx>-<entry>`, zero-padded as in the state key), so it never changes.
 *
 * Authorization (the node's access policy, `access.ts`): a patient sees their own; a practitioner
 * of this node's organization sees the grants made to the organization (a search must name the
 * patient), and of a patient's audit trail — while the organization reaches something of that
 * patient — only the entries about what its grants let it read. Every read and search is itself
 * audited (resource type `Consent` or `AuditEvent`), denials included, at most once per
 * (patient, action, outcome) per request. The resources themselves are mapped in
 * `view-resources.ts`.
 */
import type { AuditEvent as FhirAuditEvent, Bundle, Consent } from '@medplum/fhirtypes';
import type { AuditAction, AuditRecord, RecordEntry, StateReader } from '../../contracts/index.js';
import { VIEW_SEARCH_PARAMETERS, type ViewType } from '../../fhir/capabilities.js';
import {
  FhirError,
  SUPPORTED_TYPES,
  badRequest,
  forbidden,
  notFound,
  parseDateRange,
  type TimeRange,
} from '../../fhir/index.js';
import { DEFAULT_COUNT, parseCount } from '../../fhir/search/params.js';
import { StateKey } from '../../ledger/index.js';
import type { GrantRecord, OrgRecord, SensitivityClass } from '../../ledger/types.js';
import type { FhirIndexStore } from '../../store/index.js';
import { AccessPolicy, SENSITIVITY_CLASSES, type Reach } from './access.js';
import type { AuditEvent, AuditTrail } from './audit.js';
import { recordOnce } from './audit-once.js';
import { auditEventResource, consentResource, type Ref } from './view-resources.js';
import { DID_IDENTIFIER_SYSTEM, type FhirRequestContext } from './request.js';

/** What the views need of the node. */
export interface ViewsNodePort {
  readonly did: string;
  readonly orgDid: string;
  readonly state: StateReader;
  /** The envelopes (canonical JSON) of the transactions of a committed block, in order. */
  blockTxs(height: number): ReadonlyArray<{ readonly envelope: string; readonly code: string }>;
}

/** One page of a view search. */
export interface ViewPage<T> {
  readonly resources: T[];
  readonly total: number;
  /** Offset of the next page, when there is one. */
  readonly next?: number;
}

/** A view search: its page, the query (for links) and the page's offset. */
export interface ViewResult<T> {
  readonly page: ViewPage<T>;
  readonly params: URLSearchParams;
  readonly offset: number;
}

interface ViewQuery {
  readonly patient: string | undefined;
  readonly ids: readonly string[] | undefined;
  readonly dates: ReadonlyArray<{ prefix: string; range: TimeRange }>;
  readonly count: number;
  readonly offset: number;
  /** The query as given (without _page), for the Bundle links. */
  readonly params: URLSearchParams;
}

const DATE_PREFIX = /^(eq|ne|lt|gt|le|ge|sa|eb|ap)?(.*)$/;

/** Whether the instant `at` matches `prefix` `range` (FHIR search date semantics on an instant). */
function dateMatches(at: number, prefix: string, range: TimeRange): boolean {
  switch (prefix) {
    case 'ne':
      return at < range.start || at >= range.end;
    case 'lt':
    case 'eb':
      return at < range.start;
    case 'le':
      return at < range.end;
    case 'gt':
    case 'sa':
      return at >= range.end;
    case 'ge':
      return at >= range.start;
    default: // eq, ap
      return at >= range.start && at < range.end;
  }
}

/**
 * The views of one node (see the module comment).
 *
 * @example
 * const views = new LedgerViews(port, index, audit);
 * const page = views.searchConsent(new URLSearchParams('patient=Patient/p1'), ctx);
 */
export class LedgerViews {
  /** The one access policy: whose trail a practitioner reaches, and which of its entries. */
  private readonly access: AccessPolicy;

  constructor(
    private readonly node: ViewsNodePort,
    private readonly index: FhirIndexStore,
    private readonly audit: AuditTrail,
  ) {
    this.access = new AccessPolicy({ orgDid: node.orgDid, state: node.state });
  }

  // -------------------------------------------------------------------------------------------
  // query parsing

  private parseQuery(type: ViewType, query: string): ViewQuery {
    const params = new URLSearchParams(query);
    const allowed = new Set<string>(VIEW_SEARCH_PARAMETERS[type].map((p) => p.name));
    let patient: string | undefined;
    let ids: string[] | undefined;
    const dates: { prefix: string; range: TimeRange }[] = [];
    let count = DEFAULT_COUNT;
    let offset = 0;
    const kept = new URLSearchParams();
    for (const [name, value] of params) {
      if (name === '_page') {
        if (!/^\d{1,9}$/.test(value))
          throw new FhirError(badRequest('_page is not a page of this search', '_page'));
        offset = Number(value);
        continue;
      }
      kept.append(name, value);
      if (name === '_count') {
        // The common search parser's rule, so that _count behaves the same on every type.
        count = parseCount(value);
        continue;
      }
      const [base, modifier] = name.split(':', 2) as [string, string | undefined];
      if (
        !allowed.has(base) ||
        (modifier !== undefined && !(base === 'patient' && modifier === 'identifier'))
      ) {
        throw new FhirError(badRequest(`Unknown search parameter "${name}" for ${type}`, name));
      }
      if (base === 'patient') {
        if (patient !== undefined || value.includes(','))
          throw new FhirError(badRequest('name one patient', 'patient'));
        patient = modifier === 'identifier' ? this.didOfIdentifier(value) : this.didOfReference(value);
        if (patient === undefined) patient = '';
      } else if (base === '_id') {
        const values = value.split(',').filter((v) => v !== '');
        ids = ids === undefined ? values : ids.filter((id) => values.includes(id));
      } else {
        const m = DATE_PREFIX.exec(value);
        const range = m?.[2] === undefined ? undefined : parseDateRange(m[2]);
        if (range === undefined)
          throw new FhirError(badRequest(`"${value}" is not a date search value`, name));
        dates.push({ prefix: m?.[1] ?? 'eq', range });
      }
    }
    return { patient, ids, dates, count, offset, params: kept };
  }

  /** The DID of `Patient/<id>` (a Patient stored here), of a bare id, or of a DID itself. */
  private didOfReference(value: string): string | undefined {
    if (value.startsWith('did:')) return value;
    const id = value.startsWith('Patient/') ? value.slice('Patient/'.length) : value;
    const row = this.index.getResource(id);
    return row?.type === 'Patient' ? row.patient : undefined;
  }

  private didOfIdentifier(value: string): string | undefined {
    const bar = value.indexOf('|');
    if (bar >= 0 && value.slice(0, bar) !== DID_IDENTIFIER_SYSTEM && value.slice(0, bar) !== '')
      return undefined;
    const did = bar >= 0 ? value.slice(bar + 1) : value;
    return did.startsWith('did:') ? did : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // authorization and audit

  private record(
    ctx: FhirRequestContext,
    patient: string,
    type: ViewType,
    action: AuditAction,
    outcome: AuditEvent['outcome'],
    recordId?: string,
  ): void {
    recordOnce(this.audit, ctx, [
      {
        actor: ctx.principal.did,
        patient,
        action,
        outcome,
        purpose: ctx.purpose,
        resourceType: type,
        ...(recordId === undefined ? {} : { recordId }),
      },
    ]);
  }

  /**
   * The practitioner's organization when it is this node's, else 403 (audited as denied when
   * the patient is known).
   */
  private practitionerOrg(
    ctx: FhirRequestContext,
    denial?: { patient: string; type: ViewType; action: AuditAction; id?: string | undefined },
  ): string {
    const p = ctx.principal;
    let text: string | undefined;
    if (p.kind === 'node') text = 'NOT_AUTHORIZED: this principal may not read patient data';
    else if (p.kind === 'practitioner' && p.org !== this.node.orgDid)
      text = `OTHER_ORGANIZATION: the practitioner does not belong to this node's organization`;
    if (text === undefined) return this.node.orgDid;
    if (denial !== undefined)
      this.record(ctx, denial.patient, denial.type, denial.action, 'denied', denial.id);
    throw new FhirError(forbidden(text));
  }

  /** A patient principal may read only their own data. */
  private checkOwn(
    ctx: FhirRequestContext,
    patient: string,
    type: ViewType,
    action: AuditAction,
    id?: string,
  ): void {
    if (ctx.principal.did !== patient) {
      this.record(ctx, patient, type, action, 'denied', id);
      throw new FhirError(forbidden('NOT_OWN_RECORD: a patient may access only their own records'));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Consent

  /** `GET Consent/<id>`. */
  readConsent(id: string, ctx: FhirRequestContext): Consent {
    const grant = this.node.state.get<GrantRecord>(StateKey.grant(id));
    if (grant === undefined || grant.id !== id) throw new FhirError(notFound('Consent', id));
    if (ctx.principal.kind === 'patient') this.checkOwn(ctx, grant.patient, 'Consent', 'read', grant.id);
    else {
      const org = this.practitionerOrg(ctx, { patient: grant.patient, type: 'Consent', action: 'read', id });
      if (grant.grantee !== org) {
        this.record(ctx, grant.patient, 'Consent', 'read', 'denied', grant.id);
        throw new FhirError(forbidden('NO_GRANT: the grant was not made to this organization'));
      }
    }
    this.record(ctx, grant.patient, 'Consent', 'read', 'success', grant.id);
    return this.consentOf(grant, new Map());
  }

  /** `GET Consent?patient=...|_id=...`. */
  searchConsent(query: string, ctx: FhirRequestContext): ViewResult<Consent> {
    const q = this.parseQuery('Consent', query);
    const isPatient = ctx.principal.kind === 'patient';
    const org = isPatient ? undefined : this.practitionerOrg(ctx);
    if (!isPatient && q.patient === undefined && q.ids === undefined)
      throw new FhirError(
        badRequest('a practitioner search must name a patient (patient or _id)', 'patient'),
      );
    if (q.patient === '') return { page: { resources: [], total: 0 }, params: q.params, offset: q.offset };
    let grants: GrantRecord[];
    if (q.patient !== undefined || q.ids === undefined) {
      const patient = q.patient ?? ctx.principal.did;
      if (isPatient) this.checkOwn(ctx, patient, 'Consent', 'search');
      const prefix = StateKey.patientGrantsPrefix(patient);
      grants = this.node.state
        .range<unknown>(prefix)
        .map(([key]) => this.node.state.get<GrantRecord>(StateKey.grant(key.slice(prefix.length))))
        .filter((g): g is GrantRecord => g !== undefined);
      if (q.ids !== undefined) grants = grants.filter((g) => q.ids?.includes(g.id));
    } else {
      grants = q.ids
        .map((id) => this.node.state.get<GrantRecord>(StateKey.grant(id)))
        .filter((g): g is GrantRecord => g !== undefined);
      if (isPatient) grants = grants.filter((g) => g.patient === ctx.principal.did);
    }
    if (org !== undefined) grants = grants.filter((g) => g.grantee === org);
    grants.sort((a, b) => a.grantedAt - b.grantedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const patients = new Set(grants.map((g) => g.patient));
    if (q.patient !== undefined) patients.add(q.patient);
    for (const p of patients) this.record(ctx, p, 'Consent', 'search', 'success');
    const refs = new Map<string, string | undefined>();
    return {
      page: pageOf(
        grants.map((g) => this.consentOf(g, refs)),
        q,
      ),
      params: q.params,
      offset: q.offset,
    };
  }

  /** The Patient reference of a DID: `Patient/<id>` when stored here, and the DID identifier. */
  private patientRef(did: string, cache: Map<string, string | undefined>): Ref {
    if (!cache.has(did)) cache.set(did, this.index.resourcesOfPatient(did, 'Patient')[0]?.recordId);
    const id = cache.get(did);
    return {
      ...(id === undefined ? {} : { reference: `Patient/${id}` }),
      identifier: { system: DID_IDENTIFIER_SYSTEM, value: did },
    };
  }

  private consentOf(grant: GrantRecord, refs: Map<string, string | undefined>): Consent {
    return consentResource(grant, {
      patient: this.patientRef(grant.patient, refs),
      org: this.node.state.get<OrgRecord>(StateKey.org(grant.grantee)),
      now: Date.now(),
    });
  }

  // -------------------------------------------------------------------------------------------
  // AuditEvent

  /**
   * Authorizes reading `patient`'s audit trail (audited when denied) and answers which of its
   * entries the caller sees: a patient, all of their own; a practitioner of this node's
   * organization, the trail of a patient it reaches something of, and of it only the entries
   * about what the organization's grants let it read (`entryVisible`).
   */
  private authorizeTrail(
    ctx: FhirRequestContext,
    patient: string,
    action: AuditAction,
    id?: string,
  ): (record: AuditRecord) => boolean {
    if (ctx.principal.kind === 'patient') {
      this.checkOwn(ctx, patient, 'AuditEvent', action, id);
      return () => true;
    }
    this.practitionerOrg(ctx, { patient, type: 'AuditEvent', action, id });
    const reach = this.access.reachOf(ctx.principal, ctx.purpose, { breakGlass: false });
    const refusal = reach.refusalFor(patient, ['*', ...SUPPORTED_TYPES]);
    if (refusal !== undefined) {
      this.record(ctx, patient, 'AuditEvent', action, 'denied', id);
      throw new FhirError(forbidden(`${refusal}: the organization holds no usable grant of this patient`));
    }
    return (record) => this.entryVisible(reach, record);
  }

  /**
   * Whether an audit entry is about something `reach` may read: an entry naming a record, when
   * the record's type and class (from its anchor; an erased record counts as sensitive) are
   * covered; one naming only a resource type, when some class of it is; one naming neither
   * (consent, break-glass), when a grant covers every type.
   */
  private entryVisible(reach: Reach, record: AuditRecord): boolean {
    const type = record.resourceType;
    if (type === undefined) return reach.mayRead(record.patient, '*', 'general');
    if (record.recordId === undefined)
      return SENSITIVITY_CLASSES.some((cls) => reach.mayRead(record.patient, type, cls));
    const anchor = this.node.state.get<RecordEntry>(StateKey.record(record.recordId));
    const cls: SensitivityClass = anchor?.status === 'active' ? anchor.class : 'sensitive';
    return reach.mayRead(record.patient, type, cls);
  }

  /** `GET AuditEvent/<height>-<tx>-<entry>`. */
  readAuditEvent(id: string, ctx: FhirRequestContext): FhirAuditEvent {
    const m = /^(\d{12})-(\d{6})-(\d{4})$/.exec(id);
    if (m === null) throw new FhirError(notFound('AuditEvent', id));
    const [height, txIndex, entryIndex] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const tx = this.node.blockTxs(height)[txIndex];
    let patient: string | undefined;
    if (tx?.code === 'OK') {
      try {
        const envelope = JSON.parse(tx.envelope) as {
          tx?: { type?: string; payload?: { entries?: Array<{ patient?: unknown }> } };
        };
        const p =
          envelope.tx?.type === 'audit.batch'
            ? envelope.tx.payload?.entries?.[entryIndex]?.patient
            : undefined;
        if (typeof p === 'string') patient = p;
      } catch {
        patient = undefined;
      }
    }
    const record =
      patient === undefined
        ? undefined
        : this.node.state.get<AuditRecord>(StateKey.audit(patient, height, txIndex, entryIndex));
    if (patient === undefined || record === undefined) throw new FhirError(notFound('AuditEvent', id));
    // An entry the caller may not see is answered as one that does not exist.
    if (!this.authorizeTrail(ctx, patient, 'read', id)(record))
      throw new FhirError(notFound('AuditEvent', id));
    this.record(ctx, patient, 'AuditEvent', 'read', 'success', id);
    return this.auditEventOf(id, record, new Map());
  }

  /** `GET AuditEvent?patient=...&date=...&_count=...`. */
  searchAuditEvent(query: string, ctx: FhirRequestContext): ViewResult<FhirAuditEvent> {
    const q = this.parseQuery('AuditEvent', query);
    if (ctx.principal.kind !== 'patient') {
      this.practitionerOrg(ctx);
      if (q.patient === undefined)
        throw new FhirError(badRequest('a practitioner search must name a patient', 'patient'));
    }
    if (q.patient === '') return { page: { resources: [], total: 0 }, params: q.params, offset: q.offset };
    const patient = q.patient ?? ctx.principal.did;
    const visible = this.authorizeTrail(ctx, patient, 'search');
    const prefix = StateKey.auditPrefix(patient);
    const refs = new Map<string, string | undefined>();
    const matching = this.node.state
      .range<AuditRecord>(prefix)
      .filter(([, r]) => visible(r) && q.dates.every((d) => dateMatches(r.at, d.prefix, d.range)));
    const page = pageOf(matching, q);
    this.record(ctx, patient, 'AuditEvent', 'search', 'success');
    return {
      page: {
        ...page,
        resources: page.resources.map(([key, r]) =>
          this.auditEventOf(key.slice(prefix.length).split('/').join('-'), r, refs),
        ),
      },
      params: q.params,
      offset: q.offset,
    };
  }

  private auditEventOf(id: string, r: AuditRecord, refs: Map<string, string | undefined>): FhirAuditEvent {
    return auditEventResource(id, r, this.patientRef(r.patient, refs));
  }
}

function pageOf<T>(items: readonly T[], q: ViewQuery): ViewPage<T> {
  const resources = items.slice(q.offset, q.offset + q.count);
  const end = q.offset + resources.length;
  return {
    resources,
    total: items.length,
    ...(end < items.length && q.count > 0 ? { next: end } : {}),
  };
}

/** The searchset Bundle of a view page, with `self` and `next` links. */
export function viewBundle(
  baseUrl: string,
  type: ViewType,
  params: URLSearchParams,
  page: ViewPage<Consent | FhirAuditEvent>,
  offset: number,
): Bundle {
  const base = baseUrl.replace(/\/+$/, '');
  const url = (at: number): string => {
    const p = new URLSearchParams(params);
    if (at > 0) p.set('_page', String(at));
    const text = p.toString();
    return `${base}/${type}${text === '' ? '' : `?${text}`}`;
  };
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: page.total,
    link: [
      { relation: 'self', url: url(offset) },
      ...(page.next === undefined ? [] : [{ relation: 'next', url: url(page.next) }]),
    ],
    entry: page.resources.map((resource) => ({
      fullUrl: `${base}/${type}/${resource.id ?? ''}`,
      resource,
      search: { mode: 'match' as const },
    })),
  };
}
