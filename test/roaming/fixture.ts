/**
 * A multi-region network in one process for the roaming tests: one genesis with several founder
 * organizations (one node each, its URL on the ledger), real SQLite data folders, every node's
 * HTTP server listening on 127.0.0.1 at the port its genesis entry names, and one ordering hub
 * delivering the same blocks to every node.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer } from '../../src/node/http/server.js';
import { createGenesis, prepareNode, RoamNode, writeNodeFiles } from '../../src/node/index.js';
import { DID_IDENTIFIER_SYSTEM } from '../../src/node/fhir/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import {
  expectStatus,
  fhir,
  grantOrg,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  type FhirTestNode,
} from '../fhir-api/fixture.js';
import { useChain } from '../http/fixture.js';
import { OrderingHub } from '../support/ordering-hub.js';

const PASSPHRASE = 'test passphrase 1234';

/** One region's node, usable with the helpers of test/fhir-api/fixture.ts. */
export interface RegionNode extends FhirTestNode {
  readonly region: string;
  readonly url: string;
  /** Stops the HTTP server only (the node keeps following the chain): a custodian that is down. */
  stopHttp(): Promise<void>;
}

export interface TestNetwork {
  readonly nodes: readonly RegionNode[];
  readonly hub: OrderingHub;
  /** Waits until every node has executed and committed every block cut so far. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (free when asked; the node binds it right after). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Opens a network of one organization per entry of `orgs`.
 *
 * @example
 * const net = await openNetwork([{ name: 'EU Hospital', region: 'eu' }, { name: 'US Clinic', region: 'us' }]);
 */
export async function openNetwork(
  orgs: ReadonlyArray<{ readonly name: string; readonly region: string }>,
): Promise<TestNetwork> {
  const ports = await Promise.all(orgs.map(() => freePort()));
  const prepared = orgs.map((org, i) =>
    prepareNode({
      orgName: org.name,
      region: org.region,
      host: '127.0.0.1',
      port: ports[i]!,
      publicUrl: `http://127.0.0.1:${ports[i]!}`,
    }),
  );
  const genesis = createGenesis(prepared.map((p) => p.founder));
  useChain(genesis.chainId);
  const hub = new OrderingHub();
  const nodes: RegionNode[] = [];
  const dirs: string[] = [];
  try {
    for (const [i, p] of prepared.entries()) {
      const dataDir = mkdtempSync(join(tmpdir(), `roam-roaming-${orgs[i]!.region}-`));
      dirs.push(dataDir);
      const adminWalletPath = await writeNodeFiles({ dataDir, prepared: p, genesis, adminPassphrase: PASSPHRASE, walletKdf: { N: 32768, r: 8, p: 1 } });
      const node = await RoamNode.open({ dataDir, orderer: hub.orderer });
      let app: FastifyInstance | undefined = buildHttpServer(node);
      await app.listen({ host: '127.0.0.1', port: ports[i]! });
      const url = p.config.publicUrl;
      const stopHttp = async (): Promise<void> => {
        const running = app;
        app = undefined;
        await running?.close();
      };
      nodes.push({
        node,
        region: orgs[i]!.region,
        url,
        dataDir,
        admin: p.admin,
        init: {
          dataDir,
          chainId: genesis.chainId,
          orgDid: p.keys.orgDid,
          nodeDid: p.keys.nodeDid,
          adminDid: p.admin.did,
          adminWalletPath,
          publicUrl: url,
          keyEncrypted: false,
        },
        get app(): FastifyInstance {
          assert.ok(app, `the HTTP server of ${url} is stopped`);
          return app;
        },
        stopHttp,
        async close() {
          await stopHttp();
          await node.close();
        },
      });
    }
  } catch (error) {
    for (const n of nodes) await n.close().catch(() => undefined);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    nodes,
    hub,
    async settle() {
      const until = Date.now() + 10_000;
      while (nodes.some((n) => n.node.ledger.height < hub.height)) {
        assert.ok(Date.now() < until, 'the nodes did not reach the hub height in time');
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async close() {
      for (const n of nodes) await n.close().catch(() => undefined);
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Two founders, eu and us, a patient granting both, a practitioner's token at each, the Patient kept by eu. */
export interface TravellerPair {
  readonly net: TestNetwork;
  readonly eu: RegionNode;
  readonly us: RegionNode;
  readonly patient: Wallet;
  readonly tokEu: string;
  readonly tokUs: string;
  /** The patient's Patient resource, written by the eu hospital. */
  readonly euPatientId: string;
}

/** Opens the network of {@link TravellerPair} (both grants committed, the Patient written). */
export async function openTravellerPair(): Promise<TravellerPair> {
  const net = await openNetwork([
    { name: 'EU Hospital', region: 'eu' },
    { name: 'US Clinic', region: 'us' },
  ]);
  const [eu, us] = net.nodes as [RegionNode, RegionNode];
  const patient = await registeredPatient(eu.node);
  const drEu = await registeredPractitioner(eu);
  const drUs = await registeredPractitioner(us);
  await grantOrg(eu, patient);
  await grantOrg(us, patient);
  await net.settle();
  const tokEu = await tokenOf(eu, drEu);
  const tokUs = await tokenOf(us, drUs);
  const euPatientId = await createTravellerPatient(eu, tokEu, patient.did);
  return { net, eu, us, patient, tokEu, tokUs, euPatientId };
}

/** Creates a Patient of `did` (its DID identifier, name Ana Traveller) on `t` with `token`; returns its id. */
export async function createTravellerPatient(
  t: FhirTestNode,
  token: string,
  did: string,
  more: Record<string, unknown> = {},
): Promise<string> {
  const created = await fhir<{ id: string }>(t, token, 'POST', 'Patient', {
    resourceType: 'Patient',
    identifier: [{ system: DID_IDENTIFIER_SYSTEM, value: did }],
    name: [{ family: 'Traveller', given: ['Ana'] }],
    ...more,
  });
  expectStatus(created, 201);
  return created.body.id;
}
