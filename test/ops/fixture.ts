/** A one-organization node's data folder for the ops tests (the node is opened by each test its own way). */
import { initNetwork } from '../../src/node/index.js';

/** `roam init` of a new network in `dataDir`, in-process, with a test-strength admin wallet KDF. */
export async function initTestDataFolder(dataDir: string, orgName: string): Promise<void> {
  await initNetwork({
    dataDir,
    orgName,
    region: 'eu-west',
    adminPassphrase: 'test passphrase 1234',
    host: '127.0.0.1',
    port: 0,
    publicUrl: 'https://clinic.test:8080',
    walletKdf: { N: 32768, r: 8, p: 1 },
  });
}
