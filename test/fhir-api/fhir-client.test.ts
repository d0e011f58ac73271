/**
 * A real FHIR client library (fhir-kit-client) against a listening node with a bearer token:
 * create, read, search, a transaction Bundle with urn:uuid references, and paging with
 * `client.nextPage`.
 *
 * The node's `publicUrl` must be where it listens, because `next` links and Locations are
 * absolute URLs at the node's public base and the client follows them as they are. So the test
 * asks the OS for a free port first and gives the node that port (instead of port 0, whose
 * number is known only once the node listens); a port taken in between is retried.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Observation, Patient } from '@medplum/fhirtypes';
import { Client, type FhirResource, type PaginationParams } from 'fhir-kit-client';
import { signIn } from '../../src/client/auth.js';
import { toBase64Url } from '../../src/crypto/index.js';
import { startHttp, type RunningHttp } from '../../src/node/http/listen.js';
import { initNetwork, RoamNode } from '../../src/node/index.js';
import { sealGrantKeys } from '../../src/vault/index.js';
import { createWallet, deriveRecordKeySeed, loadWallet, type Wallet } from '../../src/wallet/index.js';
import { commit, registeredPatient } from '../auth/fixture.js';
import { envelope, useChain } from '../http/fixture.js';
import { observation } from './fixture.js';

const PASSPHRASE = 'test passphrase 1234';

/** fhir-kit-client types every answer as a loose FhirResource; the tests name what they expect. */
function as<T>(resource: FhirResource | undefined): T {
  return resource as unknown as T;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Running {
  readonly node: RoamNode;
  readonly http: RunningHttp;
  readonly admin: Wallet;
  readonly dataDir: string;
}

/** A node listening on 127.0.0.1 at the port its publicUrl names. */
async function startListeningNode(): Promise<Running> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'roam-fhir-client-'));
    let node: RoamNode | undefined;
    try {
      const init = await initNetwork({
        dataDir,
        orgName: 'Clinic of Test',
        region: 'eu-west',
        adminPassphrase: PASSPHRASE,
        host: '127.0.0.1',
        port,
        walletKdf: { N: 32768, r: 8, p: 1 },
      });
      node = await RoamNode.open({ dataDir, blockLimits: { timeoutMs: 5 } });
      useChain(node.ledger.chainId);
      const http = await startHttp(node, { host: '127.0.0.1', port });
      assert.equal(http.url, init.publicUrl);
      return { node, http, admin: await loadWallet(init.adminWalletPath, PASSPHRASE), dataDir };
    } catch (error) {
      await node?.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (attempt >= 5 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
}

describe('FHIR API through fhir-kit-client', () => {
  let running: Running;
  let patient: Wallet;
  let client: Client;
  let doctorClient: Client;
  let patientId: string;

  before(async () => {
    running = await startListeningNode();
    const { node, http, admin } = running;
    patient = await registeredPatient(node);
    const keys = await sealGrantKeys({
      recordKeySeed: deriveRecordKeySeed(patient),
      patient: patient.did,
      grantee: node.orgDid,
      granteePublicKey: node.config.keys.orgEncryption.publicKey,
      keys: [{ class: 'general', epoch: 0 }],
    });
    await commit(
      node,
      envelope(patient, 'consent.grant', {
        grantId: randomUUID(),
        grantee: node.orgDid,
        scope: { resourceTypes: ['*'], classes: ['general'] },
        purpose: 'treatment',
        access: 'write',
        expiresAt: null,
        keys,
      }),
    );
    const doctor = createWallet('practitioner').wallet;
    await commit(
      node,
      envelope(admin, 'identity.practitioner.register', {
        practitioner: doctor.did,
        roles: ['physician'],
        encryptionKey: toBase64Url(doctor.encryption.publicKey),
      }),
    );
    const baseUrl = `${http.url}/fhir/R4`;
    const patientToken = (await signIn({ baseUrl: http.url }, patient)).access_token;
    const doctorToken = (await signIn({ baseUrl: http.url }, doctor)).access_token;
    client = new Client({ baseUrl, customHeaders: { Authorization: `Bearer ${patientToken}` } });
    // (fhir-kit-client 2 builds each request's headers itself: `requestOptions.headers` would be
    // overwritten, so the bearer token goes in `customHeaders`.)
    doctorClient = new Client({ baseUrl, customHeaders: { authorization: `Bearer ${doctorToken}` } });
  });

  after(async () => {
    await running.http.close();
    await running.node.close();
    rmSync(running.dataDir, { recursive: true, force: true });
  });

  it('reads the CapabilityStatement', async () => {
    const capability = (await client.capabilityStatement()) as { resourceType: string; fhirVersion?: string };
    assert.equal(capability.resourceType, 'CapabilityStatement');
    assert.match(capability.fhirVersion ?? '', /^4\.0/);
  });

  it('creates and reads a Patient and an Observation', async () => {
    const created = as<Patient>(
      await client.create({
        resourceType: 'Patient',
        body: {
          resourceType: 'Patient',
          name: [{ family: 'Kitclient', given: ['Robin'] }],
          gender: 'female',
          birthDate: '1985-02-03',
        },
      }),
    );
    assert.ok(created.id);
    assert.equal(created.meta?.versionId, '1');
    patientId = created.id;

    const readRaw = await client.read({ resourceType: 'Patient', id: patientId });
    const read = as<Patient>(readRaw);
    assert.equal(read.name?.[0]?.family, 'Kitclient');
    assert.deepEqual(read.identifier, [{ system: 'urn:ietf:rfc:3986', value: patient.did }]);
    const response = Client.httpFor(readRaw).response;
    assert.match(response?.headers.get('etag') ?? '', /^W\/"1"$/);

    const obs = as<Observation>(
      await doctorClient.create({
        resourceType: 'Observation',
        body: observation(patientId, '8867-4', '2024-03-01', 72) as FhirResource,
      }),
    );
    assert.ok(obs.id);
    const back = as<Observation>(await doctorClient.read({ resourceType: 'Observation', id: obs.id }));
    assert.equal(back.valueQuantity?.value, 72);
    assert.equal(back.subject?.reference, `Patient/${patientId}`);
  });

  it('reports a missing resource as a 404 OperationOutcome', async () => {
    await assert.rejects(
      client.read({ resourceType: 'Observation', id: 'no-such-id' }),
      (error: { response?: { status: number; data: { resourceType?: string } } }) => {
        assert.equal(error.response?.status, 404);
        assert.equal(error.response?.data.resourceType, 'OperationOutcome');
        return true;
      },
    );
  });

  it('posts a transaction Bundle whose entries reference each other by urn:uuid', async () => {
    // An Encounter and an Observation of it: the server rewrites the urn:uuid to Encounter/<id>.
    const encounterUrn = `urn:uuid:${randomUUID()}`;
    const obsUrn = `urn:uuid:${randomUUID()}`;
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: encounterUrn,
          resource: {
            resourceType: 'Encounter',
            status: 'finished',
            class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
            subject: { reference: `Patient/${patientId}` },
            period: { start: '2024-03-02T09:00:00Z', end: '2024-03-02T09:30:00Z' },
          },
          request: { method: 'POST', url: 'Encounter' },
        },
        {
          fullUrl: obsUrn,
          resource: {
            ...observation(patientId, '8310-5', '2024-03-02T09:10:00Z', 37),
            encounter: { reference: encounterUrn },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    const response = as<Bundle>(await doctorClient.transaction({ body: bundle }));
    assert.equal(response.resourceType, 'Bundle');
    assert.equal(response.type, 'transaction-response');
    assert.equal(response.entry?.length, 2);
    const [encounterLocation, obsLocation] = (response.entry ?? []).map((e) => e.response?.location ?? '');
    assert.match(encounterLocation!, /Encounter\/[^/]+/);
    assert.match(obsLocation!, /Observation\/[^/]+/);
    for (const entry of response.entry ?? []) assert.match(entry.response?.status ?? '', /^201/);
    const encounterId = /Encounter\/([^/]+)/.exec(encounterLocation!)![1]!;
    const obsId = /Observation\/([^/]+)/.exec(obsLocation!)![1]!;
    const obs = as<Observation>(await doctorClient.read({ resourceType: 'Observation', id: obsId }));
    assert.equal(obs.encounter?.reference, `Encounter/${encounterId}`);
    assert.equal(obs.subject?.reference, `Patient/${patientId}`);
  });

  it('searches, and pages through the results with nextPage', async () => {
    const total = 7;
    for (let i = 0; i < total; i++) {
      await doctorClient.create({
        resourceType: 'Observation',
        body: observation(patientId, '9279-1', `2024-04-0${i + 1}`, 12 + i) as FhirResource,
      });
    }
    const firstRaw = await doctorClient.search({
      resourceType: 'Observation',
      searchParams: { patient: patientId, code: 'http://loinc.org|9279-1', _count: 3 },
    });
    const first = as<Bundle>(firstRaw);
    assert.equal(first.type, 'searchset');
    assert.equal(first.entry?.length, 3);

    const seen = new Set<string>();
    let raw: FhirResource | undefined = firstRaw;
    let pages = 0;
    while (raw !== undefined) {
      const page: Bundle = as<Bundle>(raw);
      pages++;
      for (const entry of page.entry ?? []) {
        const resource = entry.resource as Observation;
        assert.equal(resource.code.coding?.[0]?.code, '9279-1');
        seen.add(resource.id!);
      }
      const hasNext: boolean = page.link?.some((l) => l.relation === 'next') ?? false;
      raw = hasNext ? await doctorClient.nextPage({ bundle: raw as PaginationParams['bundle'] }) : undefined;
    }
    assert.equal(pages, 3);
    assert.equal(seen.size, total);

    // The patient finds their own records too, and a token-less client is refused.
    const own = as<Bundle>(
      await client.search({
        resourceType: 'Observation',
        searchParams: { code: 'http://loinc.org|9279-1', _count: 50 },
      }),
    );
    assert.equal(own.entry?.length, total);
    const anonymous = new Client({ baseUrl: `${running.http.url}/fhir/R4` });
    await assert.rejects(
      anonymous.search({ resourceType: 'Observation', searchParams: { patient: patientId } }),
      (error: { response?: { status: number } }) => error.response?.status === 401,
    );
  });
});
