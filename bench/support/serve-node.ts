/** Runs one node with its HTTP API in this process (the benchmark's server side). */
import { RoamNode } from '../../src/node/index.js';
import { startHttp } from '../../src/node/http/listen.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: serve-node.ts DATA_DIR');
const node = await RoamNode.open({ dataDir });
const http = await startHttp(node, { host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ url: http.url }));
const stop = () => void http.close().then(() => node.close()).then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
