// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * Durability of records on a JetStream node (real nats-server cluster, real node process): the
 * node is killed (-9) ROUNDS times in the middle of a stream of FHIR creates and transaction
 * Bundles. Transactions it published before the kill are still in the stream, and their block is
 * cut only after the restart: write-path recovery must wait for them (it reads the stream to its
 * end) before it deletes the vault versions whose anchors it has not seen commit — or an anchor
 * commits after its ciphertext was deleted and points at nothing. After each restart every
 * acknowledged write reads back identical; at the end every anchor of the node's records names a
 * ciphertext its vault holds, and `roam ledger verify` passes.
 *
 * One region only: with no peer to cut the killed node's last block or to serve it at catch-up,
 * the restarted node itself meets the tail of the stream after its start (the case to test).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { roamJson } from '../cli/harness.js';
import { anchorsWithoutCiphertext, fhir, patientKeptBy, tokenFor, writeLoop } from './records-support.js';
import { startTestNetwork, type TestNetwork } from './support.js';

const ROUNDS = Number(process.env['NET_CRASH_ROUNDS'] ?? 3);
/** The kill: a random moment in this window (ms) after the round's first acknowledged write. */
const KILL_WINDOW_MS: readonly [number, number] = [200, 1200];

describe('a JetStream node killed (-9) during FHIR writes', { timeout: 600_000 }, () => {
  let net: TestNetwork;
  before(async () => {
    net = await startTestNetwork(['eu']);
  });
  after(async () => {
    await net?.close();
  });

  it(`keeps every acknowledged write, and no anchor points at nothing, over ${ROUNDS} kills`, async (t) => {
    const eu = net.file.nodes[0]!;
    const patient = await patientKeptBy({ dir: net.dir, url: eu.url, orgDid: eu.orgDid });
    let token = patient.token;
    const checked = new Set<string>();
    for (let round = 1; round <= ROUNDS; round++) {
      const loop = writeLoop({ url: () => eu.url, token: () => token, patientId: patient.patientId, clients: 4 });
      await loop.firstAck();
      await sleep(KILL_WINDOW_MS[0] + Math.floor(Math.random() * (KILL_WINDOW_MS[1] - KILL_WINDOW_MS[0])));
      await net.kill('eu', 'SIGKILL');
      await loop.stop();
      await net.restart('eu');
      token = await tokenFor(patient.wallet, eu.url);

      const wrong: string[] = [];
      for (const [key, { resource }] of loop.acknowledged) {
        const read = await fhir(eu.url, token, 'GET', key);
        if (read.status !== 200) wrong.push(`${key}: ${read.status} ${JSON.stringify(read.body).slice(0, 200)}`);
        else if (!isDeepStrictEqual(read.body, resource)) wrong.push(`${key}: differs`);
        checked.add(key);
      }
      assert.deepEqual(wrong, [], `round ${round}: acknowledged writes lost or changed`);
      assert.ok(loop.acknowledged.size > 0, `round ${round}: nothing was acknowledged before the kill`);
      t.diagnostic(`round ${round}: ${loop.acknowledged.size} acknowledged versions read back`);
    }
    assert.ok(checked.size > 0);

    // The node's files, with it stopped: every anchor of its records names a ciphertext it holds.
    await net.kill('eu', 'SIGTERM');
    assert.deepEqual(anchorsWithoutCiphertext(eu.dataDir, eu.orgDid), []);
    const verify = await roamJson<{ ok: boolean }>(['ledger', 'verify', '--data', eu.dataDir]);
    assert.equal(verify.ok, true);
  });
});
