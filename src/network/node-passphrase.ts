/**
 * The passphrase that encrypts the node keys of a network made by `roam network up`. It is
 * generated once into DIR/node-passphrase.txt (0600) and handed to each node process in
 * ROAM_NODE_PASSPHRASE, so the nodes of a development network run with encrypted keys as a
 * production node should. (It sits beside the data folders here: on a real host keep the
 * passphrase file away from the data folder and its backups.)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, toBase64Url } from '../crypto/index.js';
import { NODE_PASSPHRASE_ENV_VAR } from '../node/index.js';

/** 24 random bytes: a passphrase no one types, as strong as the key it guards needs. */
const GENERATED_PASSPHRASE_BYTES = 24;

export const nodePassphrasePath = (dir: string): string => join(dir, 'node-passphrase.txt');

/** Generates the network's node-key passphrase into DIR/node-passphrase.txt (never over one) and returns it. */
export function createNodePassphrase(dir: string): string {
  const passphrase = toBase64Url(randomBytes(GENERATED_PASSPHRASE_BYTES));
  writeFileSync(nodePassphrasePath(dir), passphrase + '\n', { mode: 0o600, flag: 'wx' });
  return passphrase;
}

/** The network's node-key passphrase; undefined for a network made before keys were encrypted. */
export function readNodePassphrase(dir: string): string | undefined {
  const path = nodePassphrasePath(dir);
  return existsSync(path) ? readFileSync(path, 'utf8').replace(/\r?\n$/u, '') : undefined;
}

/** The environment a node process of the network needs to open its key. */
export function nodePassphraseEnv(dir: string): Record<string, string> {
  const passphrase = readNodePassphrase(dir);
  return passphrase === undefined ? {} : { [NODE_PASSPHRASE_ENV_VAR]: passphrase };
}
