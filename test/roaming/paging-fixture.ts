/**
 * Helpers of the roaming paging tests: a patient's records written alternately at two custodians
 * (so local and remote records interleave in every sort), pages followed by their next links, and
 * a count of what a custodian answers per query.
 */
import assert from 'node:assert/strict';
import type { Bundle } from '@medplum/fhirtypes';
import {
  RemoteRecords,
  RoamingClient,
  type Custodian,
  type RecordQueryRequest,
  type RoamingClientOptions,
} from '../../src/node/roaming/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import {
  expectStatus,
  fhir,
  grantOrg,
  observation,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  type FhirTestNode,
} from '../fhir-api/fixture.js';
import { createTravellerPatient, openNetwork, type RegionNode, type TestNetwork } from './fixture.js';

/** The matches of one page, as `Type/id`, and the page's total and next `_page`. */
export interface PageSeen {
  readonly ids: string[];
  readonly total: number | undefined;
  readonly next: string | undefined;
  /** OperationOutcome entries (warnings) of the page. */
  readonly outcomes: number;
}

/** One page of `path` (a FHIR path with or without its own query) with `_count` and `_page`. */
export async function pageOf(
  t: FhirTestNode,
  token: string,
  path: string,
  count: number,
  page?: string,
): Promise<PageSeen> {
  const sep = path.includes('?') ? '&' : '?';
  const url = `${path}${sep}_count=${count}${page === undefined ? '' : `&_page=${page}`}`;
  const res = await fhir<Bundle>(t, token, 'GET', url);
  expectStatus(res, 200);
  const entries = res.body.entry ?? [];
  const nextUrl = res.body.link?.find((l) => l.relation === 'next')?.url;
  return {
    ids: entries
      .filter((e) => e.search?.mode !== 'outcome')
      .map((e) => `${e.resource?.resourceType}/${e.resource?.id}`),
    total: res.body.total,
    next: nextUrl === undefined ? undefined : (new URL(nextUrl, 'http://x').searchParams.get('_page') ?? undefined),
    outcomes: entries.filter((e) => e.search?.mode === 'outcome').length,
  };
}

/** Every page of `path`, following next links (at most `maxPages`). */
export async function allPages(
  t: FhirTestNode,
  token: string,
  path: string,
  count: number,
  maxPages = 100,
): Promise<PageSeen[]> {
  const pages: PageSeen[] = [];
  let next: string | undefined;
  do {
    const page = await pageOf(t, token, path, count, next);
    pages.push(page);
    next = page.next;
    assert.ok(pages.length <= maxPages, `more than ${maxPages} pages: paging does not move on`);
  } while (next !== undefined);
  return pages;
}

/**
 * Writes `n` Observations of the patient alternately at `a` and `b` (each with its own Patient
 * resource id of the same DID), dates cycling through January so that `date` sorts tie too.
 */
export async function writeInterleaved(
  sides: ReadonlyArray<{ readonly t: FhirTestNode; readonly token: string; readonly patientId: string; readonly every: number }>,
  n: number,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    const side = sides.find((s) => i % s.every === 0) ?? sides[sides.length - 1]!;
    const day = String(1 + (i % 9)).padStart(2, '0');
    const res = await fhir(side.t, side.token, 'POST', 'Observation', observation(side.patientId, '8867-4', `2026-01-${day}`, 60 + i));
    expectStatus(res, 201);
  }
}

/** Counts the records each answer of `custodian` carries, and keeps the queries (the original still answers). */
export function countAnswers(custodian: Custodian): {
  readonly sizes: number[];
  readonly queries: RecordQueryRequest[];
  /** Ids of the records the answers carried. */
  readonly sent: Set<string>;
  restore(): void;
} {
  const original = custodian.answer.bind(custodian);
  const sizes: number[] = [];
  const queries: RecordQueryRequest[] = [];
  const sent = new Set<string>();
  custodian.answer = (...args: Parameters<Custodian['answer']>) => {
    const answer = original(...args);
    sizes.push(answer.records.length);
    queries.push(args[1]);
    for (const record of answer.records) sent.add(record.id);
    return answer;
  };
  return {
    sizes,
    queries,
    sent,
    restore: () => {
      custodian.answer = original;
    },
  };
}

/**
 * Makes `reader`'s repository fetch remote records through `http` (e.g. a custodian's answers
 * altered in transit, or an older custodian's refusals); returns the undo.
 */
export function useRemoteThrough(reader: RegionNode, http: RoamingClientOptions['http']): () => void {
  const { node } = reader;
  const state = {
    get: <T>(key: string) => node.ledger.getState<T>(key),
    range: <T>(prefix: string) => node.ledger.rangeState<T>(prefix),
  };
  const client = new RoamingClient({ nodeDid: node.did, secretKey: node.config.keys.node.secretKey, state, http });
  node.fhir.repository.useRemote(new RemoteRecords({ orgDid: node.orgDid, state }, client));
  return () => node.fhir.repository.useRemote(node.fhir.roaming.remote);
}

/** eu keeps a patient's records; us holds a grant, ap none; a practitioner's token at us and ap. */
export interface BystanderTrio {
  readonly net: TestNetwork;
  readonly eu: RegionNode;
  readonly us: RegionNode;
  readonly ap: RegionNode;
  readonly patient: Wallet;
  /** The us clinic's grant (to revoke). */
  readonly usGrant: string;
  readonly tokUs: string;
  readonly tokAp: string;
  /** The Patient resource the eu hospital keeps. */
  readonly patientId: string;
}

/** Opens {@link BystanderTrio} with `records` Observations at eu (dates cycling through February). */
export async function openBystanderTrio(records: number): Promise<BystanderTrio> {
  const net = await openNetwork([
    { name: 'EU Hospital', region: 'eu' },
    { name: 'US Clinic', region: 'us' },
    { name: 'AP Clinic', region: 'ap' },
  ]);
  const [eu, us, ap] = net.nodes as [RegionNode, RegionNode, RegionNode];
  const patient = await registeredPatient(eu.node);
  const [drEu, drUs, drAp] = [await registeredPractitioner(eu), await registeredPractitioner(us), await registeredPractitioner(ap)];
  await grantOrg(eu, patient);
  const usGrant = await grantOrg(us, patient);
  await net.settle();
  const tokEu = await tokenOf(eu, drEu);
  const patientId = await createTravellerPatient(eu, tokEu, patient.did);
  for (let i = 0; i < records; i++) {
    const day = String(1 + (i % 28)).padStart(2, '0');
    expectStatus(await fhir(eu, tokEu, 'POST', 'Observation', observation(patientId, '8867-4', `2026-02-${day}`, 60 + i)), 201);
  }
  await net.settle();
  return { net, eu, us, ap, patient, usGrant, tokUs: await tokenOf(us, drUs), tokAp: await tokenOf(ap, drAp), patientId };
}
