/**
 * Makes a data folder whose ledger holds BENCH_TXS consent/anchor transactions (plus patient
 * registrations of BENCH_PATIENTS patients, 2,000 by default: fewer patients, more grants each),
 * for profiling `roam ledger verify` and catch-up. Usage: make-ledger.ts DIR
 */
import { initNetwork, loadNodeConfig, RoamNode } from '../../src/node/index.js';
import { consentAndAnchorTxs, newPatients, registrations } from './workload.js';

const [dir] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: make-ledger.ts DIR');
const count = Number(process.env['BENCH_TXS'] ?? 50_000);
await initNetwork({ dataDir: dir, orgName: 'Bench Hospital', region: 'eu', adminPassphrase: 'bench-passphrase', walletKdf: { N: 32768, r: 8, p: 1 } });
const node = await RoamNode.open({ dataDir: dir });
try {
  const { keys } = await loadNodeConfig(dir);
  const patients = newPatients(Number(process.env['BENCH_PATIENTS'] ?? 2_000));
  const setup = await node.submit(registrations(patients, node.ledger.chainId));
  await node.waitForCommit(setup.accepted[setup.accepted.length - 1]!.id, 60_000);
  const load = consentAndAnchorTxs(count, patients, keys.orgDid, { did: keys.nodeDid, keys: keys.node }, node.ledger.chainId);
  let last = '';
  for (let i = 0; i < load.length; i += 500) {
    const outcome = await node.submit(load.slice(i, i + 500));
    if (outcome.rejected.length > 0) throw new Error(`rejected: ${JSON.stringify(outcome.rejected[0])}`);
    last = outcome.accepted[outcome.accepted.length - 1]!.id;
  }
  await node.waitForCommit(last, 600_000);
  console.log(JSON.stringify({ dir, txs: load.length + patients.length }));
} finally {
  await node.close();
}
