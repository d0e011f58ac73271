/**
 * A node's NATS seed lets whoever reads it publish as the organization: like ssh with a private
 * key, the node refuses a seed file that other users of the machine can read.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createNatsUserKey } from '../../src/network/nats-security.js';
import { NodeSecurityFiles, readOrderingCredentials, type NodeConfigFile } from '../../src/node/config.js';

describe('readOrderingCredentials', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'roam-seed-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const seed = createNatsUserKey().seed;
  mkdirSync(join(dataDir, 'nats'));
  mkdirSync(join(dataDir, 'tls'));
  writeFileSync(join(dataDir, NodeSecurityFiles.nkeySeedFile), seed + '\n', { mode: 0o600 });
  writeFileSync(join(dataDir, NodeSecurityFiles.caFile), '-----BEGIN CERTIFICATE-----\n');
  const file = {
    ordering: { kind: 'jetstream', servers: ['nats://127.0.0.1:4222'], replicas: 3, caFile: NodeSecurityFiles.caFile, nkeySeedFile: NodeSecurityFiles.nkeySeedFile },
  } as unknown as NodeConfigFile;

  it('reads the CA bundle and the seed (without its newline) from the data folder', () => {
    const credentials = readOrderingCredentials({ dataDir, file });
    assert.equal(new TextDecoder().decode(credentials!.nkeySeed), seed);
    assert.match(credentials!.caPem!, /BEGIN CERTIFICATE/);
  });

  it('refuses a seed that other users can read', () => {
    chmodSync(join(dataDir, NodeSecurityFiles.nkeySeedFile), 0o644);
    assert.throws(() => readOrderingCredentials({ dataDir, file }), { code: 'NODE_BAD_CONFIG', message: /readable by other users/ });
    chmodSync(join(dataDir, NodeSecurityFiles.nkeySeedFile), 0o600);
  });

  it('names a missing file without printing any secret', () => {
    const missing = { ordering: { ...file.ordering, nkeySeedFile: 'nats/absent.nk' } } as unknown as NodeConfigFile;
    assert.throws(() => readOrderingCredentials({ dataDir, file: missing }), (error: Error) => /absent\.nk cannot be read/.test(error.message) && !error.message.includes(seed));
  });
});
