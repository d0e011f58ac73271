/**
 * Helpers of the FHIR API tests: a real node in a temp folder with its HTTP server, patients
 * and practitioners registered through the ledger, grants carrying sealed record keys, tokens
 * from the /auth routes, and FHIR calls through `inject`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { toBase64Url } from '../../src/crypto/index.js';
import { currentEpoch, type AuditRecord } from '../../src/contracts/index.js';
import { StateKey } from '../../src/ledger/index.js';
import type { GrantAccess, PractitionerRole, SensitivityClass } from '../../src/ledger/types.js';
import type { FhirNodePort } from '../../src/node/fhir/index.js';
import { buildHttpServer, type HttpServerOptions } from '../../src/node/http/server.js';
import { sealGrantKeys } from '../../src/vault/index.js';
import { createWallet, deriveRecordKeySeed, type Wallet } from '../../src/wallet/index.js';
import { commit, registeredPatient, signInThrough } from '../auth/fixture.js';
import { envelope, openTestNode, type TestNode } from '../http/fixture.js';

export { commit, registeredPatient };

export interface FhirTestNode extends TestNode {
  readonly app: FastifyInstance;
  readonly dataDir: string;
}

/**
 * A test node and its HTTP server (`serverOptions`: e.g. a logger, as the log scan uses;
 * `blockTimeoutMs`: its local orderer's block timeout, default the test nodes' 5 ms).
 */
export async function openFhirNode(
  serverOptions: HttpServerOptions = {},
  blockTimeoutMs?: number,
): Promise<FhirTestNode> {
  const test = await openTestNode(blockTimeoutMs);
  const app = buildHttpServer(test.node, serverOptions);
  await app.ready();
  return {
    ...test,
    app,
    dataDir: test.node.config.dataDir,
    async close() {
      await app.close();
      await test.close();
    },
  };
}

/**
 * What an `EncryptedFhirRepository` needs of the test node, as the node wires it, with some
 * parts replaced (e.g. a ledger that answers otherwise).
 */
export function nodePort(t: FhirTestNode, replaced: Partial<FhirNodePort> = {}): FhirNodePort {
  const node = t.node;
  return {
    did: node.did,
    chainId: node.ledger.chainId,
    orgDid: node.orgDid,
    nodeSecretKey: node.config.keys.node.secretKey,
    orgEncryptionSecretKey: node.config.keys.orgEncryption.secretKey,
    state: {
      get: <T>(key: string) => node.ledger.getState<T>(key),
      range: <T>(prefix: string) => node.ledger.rangeState<T>(prefix),
    },
    submit: (envelopes) => node.submit(envelopes),
    waitForCommit: (id, ms) => node.waitForCommit(id, ms),
    ...replaced,
  };
}

/** A practitioner of the node's organization, registered by its admin. */
export async function registeredPractitioner(
  t: FhirTestNode,
  roles: readonly PractitionerRole[] = ['physician'],
): Promise<Wallet> {
  const wallet = createWallet('practitioner').wallet;
  await commit(
    t.node,
    envelope(t.admin, 'identity.practitioner.register', {
      practitioner: wallet.did,
      roles: [...roles],
      encryptionKey: toBase64Url(wallet.encryption.publicKey),
    }),
  );
  return wallet;
}

export interface GrantOptions {
  readonly resourceTypes?: readonly string[];
  readonly classes?: readonly SensitivityClass[];
  readonly access?: GrantAccess;
  readonly expiresAt?: number | null;
  /** Record keys to seal to the organization (default: epoch 0 of each class; [] for none). */
  readonly keys?: readonly SensitivityClass[];
  /** The key epoch of the sealed keys (default 0). */
  readonly keyEpoch?: number;
}

/**
 * A time-boxed write grant (every type, both classes, no keys of its own) that lets `patient`'s own
 * writes be kept by the node's organization: the ledger anchors a version the patient writes only
 * under an active write grant to the custodian covering its type and class. Tests that then need
 * the organization to have *no* grant for those records call `ended()`, which waits until the
 * grant has expired (an expiry, unlike a revocation, leaves the patient's key epoch where it is).
 */
export async function writeWindow(
  t: FhirTestNode,
  patient: Wallet,
  ms = 10_000,
): Promise<{ readonly grantId: string; ended(): Promise<void> }> {
  const expiresAt = Date.now() + ms;
  const grantId = await grantOrg(t, patient, {
    resourceTypes: ['*'],
    classes: ['general', 'sensitive'],
    access: 'write',
    keys: [],
    expiresAt,
  });
  return {
    grantId,
    async ended() {
      const wait = expiresAt + 50 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    },
  };
}

/** `patient` grants the node's organization access, with sealed keys; returns the grant id. */
export async function grantOrg(
  t: FhirTestNode,
  patient: Wallet,
  options: GrantOptions = {},
): Promise<string> {
  const classes = options.classes ?? ['general'];
  const keyClasses = options.keys ?? classes;
  const grantId = randomUUID();
  const keys =
    keyClasses.length === 0
      ? undefined
      : await sealGrantKeys({
          recordKeySeed: deriveRecordKeySeed(patient),
          patient: patient.did,
          grantee: t.node.orgDid,
          granteePublicKey: t.node.config.keys.orgEncryption.publicKey,
          keys: keyClasses.map((c) => ({ class: c, epoch: options.keyEpoch ?? 0 })),
        });
  await commit(
    t.node,
    envelope(patient, 'consent.grant', {
      grantId,
      grantee: t.node.orgDid,
      scope: { resourceTypes: [...(options.resourceTypes ?? ['*'])], classes: [...classes] },
      purpose: 'treatment',
      access: options.access ?? 'write',
      expiresAt: options.expiresAt ?? null,
      ...(keys === undefined ? {} : { keys }),
    }),
  );
  return grantId;
}

/**
 * Runs `write` (the patient's own writes) under a write grant to the node's organization that is
 * revoked right after: records the organization keeps but may not use (the ledger anchors a
 * patient's own version only under such a grant, at the patient's current key epoch, whose keys
 * this grant carries). The revocation moves the patient to the next epoch.
 */
export async function underPassingWriteGrant<T>(
  t: FhirTestNode,
  patient: Wallet,
  write: () => Promise<T>,
): Promise<T> {
  const reader = {
    get: <V>(key: string) => t.node.ledger.getState<V>(key),
    range: <V>(prefix: string) => t.node.ledger.rangeState<V>(prefix),
  };
  const grantId = await grantOrg(t, patient, {
    resourceTypes: ['*'],
    classes: ['general', 'sensitive'],
    access: 'write',
    keyEpoch: currentEpoch(reader, patient.did),
  });
  try {
    return await write();
  } finally {
    await revoke(t, patient, grantId);
  }
}

export async function revoke(t: FhirTestNode, patient: Wallet, grantId: string): Promise<void> {
  await commit(t.node, envelope(patient, 'consent.revoke', { grantId }));
}

export async function tokenOf(t: FhirTestNode, wallet: Wallet): Promise<string> {
  const res = await signInThrough(t.app, wallet);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.access_token;
}

export interface FhirAnswer<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Record<string, unknown>;
}

/** A FHIR call: `url` relative to /fhir/R4. */
export async function fhir<T = unknown>(
  t: FhirTestNode,
  token: string | undefined,
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<FhirAnswer<T>> {
  const res = await t.app.inject({
    method,
    url: `/fhir/R4/${url.replace(/^\//, '')}`,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: res.json<T>(), headers: res.headers };
}

/** Asserts an OperationOutcome answer with `status` whose text matches `text`. */
export function assertOutcome(res: FhirAnswer, status: number, text?: RegExp): OperationOutcome {
  const body = res.body as OperationOutcome;
  assert.equal(res.status, status, `expected ${status}, got ${res.status} ${JSON.stringify(body)}`);
  assert.equal(body.resourceType, 'OperationOutcome');
  assert.match(String(res.headers['content-type']), /^application\/fhir\+json/);
  if (text !== undefined) assert.match(JSON.stringify(body.issue), text);
  return body;
}

export function expectStatus(res: FhirAnswer, status: number): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
}

/** Every resource across the pages of a searchset, following `next` links. */
export async function allPages(
  t: FhirTestNode,
  token: string,
  url: string,
): Promise<{ resources: { resourceType: string; id?: string }[]; pages: number }> {
  const resources: { resourceType: string; id?: string }[] = [];
  let next: string | undefined = url;
  let pages = 0;
  while (next !== undefined) {
    const res: FhirAnswer<Bundle> = await fhir<Bundle>(t, token, 'GET', next);
    expectStatus(res, 200);
    pages++;
    for (const e of res.body.entry ?? []) resources.push(e.resource as { resourceType: string; id?: string });
    const link = res.body.link?.find((l) => l.relation === 'next')?.url;
    next = link === undefined ? undefined : link.slice(link.indexOf('/fhir/R4/') + '/fhir/R4/'.length);
  }
  return { resources, pages };
}

/** A patient's Patient resource, created by the patient (DID identifier filled in by the server). */
export async function createPatient(t: FhirTestNode, token: string, family = 'Testperson'): Promise<string> {
  const res = await fhir<{ id: string }>(t, token, 'POST', 'Patient', {
    resourceType: 'Patient',
    name: [{ family, given: ['Alex'] }],
    gender: 'other',
    birthDate: '1980-04-01',
  });
  expectStatus(res, 201);
  return res.body.id;
}

export function observation(
  patientId: string,
  code: string,
  date: string,
  value = 70,
): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code, display: 'Vital sign' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: date,
    valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

export function condition(patientId: string, sensitive: boolean): Record<string, unknown> {
  return {
    resourceType: 'Condition',
    ...(sensitive
      ? {
          meta: {
            security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
          },
        }
      : {}),
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003', display: 'Hypertension' }] },
    subject: { reference: `Patient/${patientId}` },
    onsetDateTime: '2020-05-01',
  };
}

/** Polls the ledger until the audit entries of `patient` satisfy `done` (or fails after `ms`). */
export async function waitForAudit(
  t: FhirTestNode,
  patient: string,
  done: (entries: AuditRecord[]) => boolean,
  ms = 10_000,
): Promise<AuditRecord[]> {
  const until = Date.now() + ms;
  for (;;) {
    const entries = t.node.ledger.rangeState<AuditRecord>(StateKey.auditPrefix(patient)).map(([, v]) => v);
    if (done(entries)) return entries;
    if (Date.now() > until) assert.fail(`audit entries not as expected: ${JSON.stringify(entries)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
