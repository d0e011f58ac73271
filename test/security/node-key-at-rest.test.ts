// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * Issue #11, finding 7: `node.key.json` (whose organization key opens every record key granted
 * to the organization) lay in clear beside the databases: whoever copied the data folder (a
 * backup, a disk image) had the keys. With a passphrase it is now encrypted with the wallets'
 * envelope (scrypt + AES-256-GCM), its DIDs bound as associated data; a clear file still loads.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { generateSigningKeyPair, didFromSigningKey, toBase64Url, toHex } from '../../src/crypto/index.js';
import { DataFiles, encodeNodeKeyFile, encryptNodeKeyFile, initNetwork, loadNodeConfig, type NodeKeys } from '../../src/node/index.js';
import { MIN_KDF_N } from '../../src/wallet/index.js';

const NODE_PASSPHRASE = 'node key passphrase at rest';
const ADMIN_PASSPHRASE = 'admin wallet passphrase';
const FAST_KDF = { N: MIN_KDF_N, r: 8, p: 1 };

const folders: string[] = [];
after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** A node initialized in a fresh folder; `nodePassphrase` encrypts its key. */
async function initNode(nodePassphrase?: string): Promise<{ dataDir: string; nodeDid: string; orgDid: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'roam-node-key-'));
  folders.push(dataDir);
  const result = await initNetwork({
    dataDir,
    orgName: 'Key Clinic',
    region: 'eu',
    adminPassphrase: ADMIN_PASSPHRASE,
    walletKdf: FAST_KDF,
    ...(nodePassphrase === undefined ? {} : { nodePassphrase }),
  });
  return { dataDir, nodeDid: result.nodeDid, orgDid: result.orgDid };
}

/** Every encoding of every seed an attacker might grep a file for. */
function seedEncodings(keys: NodeKeys): string[] {
  const seeds = [keys.node.secretKey, keys.nodeEncryption.secretKey, keys.org.secretKey, keys.orgEncryption.secretKey];
  return seeds.flatMap((seed) => [toBase64Url(seed), Buffer.from(seed).toString('base64'), toHex(seed), toHex(seed).toUpperCase()]);
}

function codeIs(code: string, ...absent: string[]): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.equal((error as { code?: string }).code, code, (error as Error).message);
    for (const secret of absent) assert.ok(!(error as Error).message.includes(secret), 'the message holds no secret');
    return true;
  };
}

const readKeyFile = (dataDir: string) => JSON.parse(readFileSync(DataFiles.nodeKey(dataDir), 'utf8')) as Record<string, unknown>;
const writeKeyFile = (dataDir: string, file: unknown) => writeFileSync(DataFiles.nodeKey(dataDir), JSON.stringify(file, null, 2));

describe('node.key.json at rest', () => {
  test('written with a passphrase, it holds none of the seeds (base64url, base64, hex) and loads back to the same DIDs', async () => {
    const { dataDir, nodeDid, orgDid } = await initNode(NODE_PASSPHRASE);
    const config = await loadNodeConfig(dataDir, { nodePassphrase: NODE_PASSPHRASE });
    assert.equal(config.keys.nodeDid, nodeDid);
    assert.equal(config.keys.orgDid, orgDid);
    const text = readFileSync(DataFiles.nodeKey(dataDir), 'utf8');
    for (const encoding of seedEncodings(config.keys)) assert.ok(!text.includes(encoding), 'no seed in the file');
    assert.equal(config.keyEncrypted, true);
    assert.equal((statSync(DataFiles.nodeKey(dataDir)).mode & 0o777).toString(8), '600');
  });

  test('a wrong passphrase is refused with NODE_KEY_BAD_PASSPHRASE, naming neither passphrase', async () => {
    const { dataDir } = await initNode(NODE_PASSPHRASE);
    const wrong = 'not the node passphrase';
    await assert.rejects(loadNodeConfig(dataDir, { nodePassphrase: wrong }), codeIs('NODE_KEY_BAD_PASSPHRASE', wrong, NODE_PASSPHRASE));
  });

  test('an encrypted key without a passphrase says which option to give', async () => {
    const { dataDir } = await initNode(NODE_PASSPHRASE);
    await assert.rejects(loadNodeConfig(dataDir), (error: unknown) => {
      codeIs('NODE_KEY_PASSPHRASE_REQUIRED')(error);
      assert.match((error as Error).message, /--node-passphrase-file/);
      assert.match((error as Error).message, /ROAM_NODE_PASSPHRASE/);
      return true;
    });
  });

  test('swapped DID fields are refused: the DIDs are associated data', async () => {
    const { dataDir } = await initNode(NODE_PASSPHRASE);
    const file = readKeyFile(dataDir);
    writeKeyFile(dataDir, { ...file, nodeDid: file['orgDid'], orgDid: file['nodeDid'] });
    await assert.rejects(loadNodeConfig(dataDir, { nodePassphrase: NODE_PASSPHRASE }), codeIs('NODE_KEY_BAD_PASSPHRASE'));
    const stranger = didFromSigningKey(generateSigningKeyPair().publicKey);
    writeKeyFile(dataDir, { ...file, nodeDid: stranger });
    await assert.rejects(loadNodeConfig(dataDir, { nodePassphrase: NODE_PASSPHRASE }), codeIs('NODE_KEY_BAD_PASSPHRASE'));
  });

  test('an encrypted key file whose scrypt N was lowered to 1024 is not opened (WEAK_KDF)', async () => {
    const { dataDir } = await initNode(NODE_PASSPHRASE);
    const file = readKeyFile(dataDir);
    writeKeyFile(dataDir, { ...file, kdf: { ...(file['kdf'] as object), N: 1024 } });
    await assert.rejects(loadNodeConfig(dataDir, { nodePassphrase: NODE_PASSPHRASE }), codeIs('WEAK_KDF'));
  });

  test('a new encrypted key file costs scrypt N = 2^17 by default, as a wallet', async () => {
    const seed = () => toBase64Url(generateSigningKeyPair().secretKey);
    const text = await encodeNodeKeyFile(
      { nodeSigningSeed: seed(), nodeEncryptionSeed: seed(), orgSigningSeed: seed(), orgEncryptionSeed: seed() },
      { passphrase: NODE_PASSPHRASE },
    );
    assert.equal((JSON.parse(text) as { kdf: { N: number } }).kdf.N, 2 ** 17);
  });

  test('a node passphrase under 8 characters is refused before anything is written', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'roam-node-key-')), 'data');
    folders.push(dirname(dataDir));
    await assert.rejects(
      initNetwork({ dataDir, orgName: 'Key Clinic', region: 'eu', adminPassphrase: ADMIN_PASSPHRASE, walletKdf: FAST_KDF, nodePassphrase: 'short' }),
      codeIs('WEAK_PASSPHRASE', 'short'),
    );
    assert.equal(existsSync(dataDir), false, 'no half-initialized data folder');
  });

  test('a version-1 (clear) key file still loads, and says it is not encrypted', async () => {
    const { dataDir, nodeDid } = await initNode();
    assert.equal(readKeyFile(dataDir)['version'], 1);
    const config = await loadNodeConfig(dataDir);
    assert.equal(config.keys.nodeDid, nodeDid);
    assert.equal(config.keyEncrypted, false);
  });

  test('encrypting a clear key in place keeps the DIDs and leaves no seed in the file', async () => {
    const { dataDir, nodeDid, orgDid } = await initNode();
    const clear = await loadNodeConfig(dataDir);
    assert.deepEqual(await encryptNodeKeyFile(DataFiles.nodeKey(dataDir), { passphrase: NODE_PASSPHRASE, kdfParams: FAST_KDF }), { nodeDid, orgDid });
    const text = readFileSync(DataFiles.nodeKey(dataDir), 'utf8');
    for (const encoding of seedEncodings(clear.keys)) assert.ok(!text.includes(encoding), 'no seed in the file');
    const reopened = await loadNodeConfig(dataDir, { nodePassphrase: NODE_PASSPHRASE });
    assert.equal(reopened.keys.nodeDid, nodeDid);
    assert.equal(reopened.keyEncrypted, true);
    await assert.rejects(
      encryptNodeKeyFile(DataFiles.nodeKey(dataDir), { passphrase: NODE_PASSPHRASE, kdfParams: FAST_KDF }),
      codeIs('NODE_KEY_ALREADY_ENCRYPTED'),
    );
  });
});
