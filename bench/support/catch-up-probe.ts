/**
 * A joining node's catch-up from the node of DATA_DIR, alone (what bench:scale measures after
 * verify): starts the node (serve-node.ts), lets catch-up-node.ts copy and re-execute its whole
 * chain over HTTP, stops the node, prints one JSON line. Usage: catch-up-probe.ts DATA_DIR
 */
import { joinAndCatchUp, ledgerTxCount, startNodeProcess, stopNodeProcess } from './scale-node.js';

const [dir] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: catch-up-probe.ts DATA_DIR');
const transactions = ledgerTxCount(dir);
const node = await startNodeProcess(dir);
try {
  // Height 0: joinAndCatchUp then only checks the joiner reached some height; blocks are reported.
  const catchUp = await joinAndCatchUp({ dataDir: dir, url: node.url, height: 0 });
  console.log(JSON.stringify({ bench: 'catch-up-probe', transactions, blocks: catchUp.blocks, seconds: Math.round(catchUp.seconds * 10) / 10, catch_up_tx_per_s: Math.round(transactions / catchUp.seconds) }));
} finally {
  await stopNodeProcess(node);
}
