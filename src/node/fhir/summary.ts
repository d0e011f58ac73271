/**
 * `Patient/:id/$summary`: the International Patient Summary of a patient, built from every record
 * of theirs the caller may read — local and roamed from other custodians — by gathering exactly
 * what `$everything` gathers (so access is decided, refused and audited exactly as there: one
 * audit entry per patient for the whole summary), then handing it to the pure IPS builder.
 * The author is this node's organization, named as the ledger names it.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import type { StateReader } from '../../contracts/index.js';
import {
  FhirError,
  MAX_COUNT,
  badRequest,
  notFound,
  parseSearch,
  type Cursor,
  type StoredResource,
} from '../../fhir/index.js';
import { URI_IDENTIFIER_SYSTEM, buildPatientSummary, type SummaryLanguage } from '../../fhir/ips/index.js';
import { StateKey } from '../../ledger/index.js';
import type { OrgRecord } from '../../ledger/types.js';
import type { FhirRequestContext } from './request.js';
import type { EncryptedFhirRepository } from './service.js';

/** What `$everything` gave: the records, and whether a custodian was not reached. */
interface Gathered {
  readonly resources: StoredResource[];
  readonly incomplete: boolean;
}

export interface PatientSummariesOptions {
  readonly repository: Pick<EncryptedFhirRepository, 'everything' | 'search'>;
  /** The ledger state: this organization's name. */
  readonly state: Pick<StateReader, 'get'>;
  readonly orgDid: string;
  /** The clock of the summary's timestamp (the system clock unless a test gives one). */
  readonly now?: () => Date;
}

/**
 * Builds patient summaries for the FHIR API (see the module comment).
 *
 * @example
 * const bundle = await summaries.summaryOf('p1', 'de', ctx);
 */
export class PatientSummaries {
  constructor(private readonly options: PatientSummariesOptions) {}

  /** Every record of the patient the caller may read, all pages of `$everything` under one request. */
  private async gather(patientId: string, ctx: FhirRequestContext): Promise<Gathered> {
    const out: StoredResource[] = [];
    let incomplete = false;
    let page: Cursor | undefined;
    do {
      const result = await this.options.repository.everything(
        patientId,
        page === undefined ? { count: MAX_COUNT } : { count: MAX_COUNT, page },
        ctx,
      );
      out.push(...result.resources);
      incomplete ||= (result.outcomes ?? []).length > 0;
      page = result.next;
    } while (page !== undefined);
    return { resources: out, incomplete };
  }

  private authorName(): string {
    return this.options.state.get<OrgRecord>(StateKey.org(this.options.orgDid))?.name ?? this.options.orgDid;
  }

  /** The IPS document of patient `patientId` in `language`, as the caller may see it. */
  async summaryOf(patientId: string, language: SummaryLanguage, ctx: FhirRequestContext): Promise<Bundle> {
    const { resources, incomplete } = await this.gather(patientId, ctx);
    const patients = resources.filter((r): r is Patient => r.resourceType === 'Patient');
    // The patient's own Patient resource when it is readable; roamed copies from other custodians
    // are the same person (same DID) and are left out so the document has exactly one Patient.
    const patient: Patient = patients.find((p) => p.id === patientId) ??
      patients[0] ?? { resourceType: 'Patient', id: patientId };
    return buildPatientSummary({
      patient,
      resources: resources.filter((r) => r.resourceType !== 'Patient'),
      author: {
        display: this.authorName(),
        identifier: { system: URI_IDENTIFIER_SYSTEM, value: this.options.orgDid },
      },
      language,
      now: (this.options.now ?? (() => new Date()))(),
      newUuid: randomUUID,
      incomplete,
    });
  }

  /**
   * The id of the one Patient `identifier` (`system|value` or `value`) names among those the
   * caller may read: 404 when none, 400 when several.
   */
  async patientIdOf(identifier: string, ctx: FhirRequestContext): Promise<string> {
    const query = parseSearch('Patient', new URLSearchParams({ identifier, _count: '2' }));
    const found = await this.options.repository.search('Patient', query, ctx);
    const [first, second] = found.resources;
    if (first?.id === undefined) throw new FhirError(notFound('Patient', `?identifier=${identifier}`));
    if (second !== undefined) throw new FhirError(badRequest('the identifier names more than one patient'));
    return first.id;
  }
}
