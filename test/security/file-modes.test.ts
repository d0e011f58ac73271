// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * The node's SQLite files are readable by their owner only (issue #9): before, `ledger.sqlite`,
 * `vault.sqlite` and their `-wal`/`-shm` files were created with the process umask (0644 under
 * the usual 022), readable by every account on the machine.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LedgerStore, ShareLinkStore, VaultStore } from '../../src/store/index.js';
import { openTestNode, registeredPatient, type TestNode } from '../auth/fixture.js';

let t: TestNode;
const previousUmask = process.umask(0o022);

before(async () => {
  t = await openTestNode();
  // A commit writes the WAL of the ledger; the vault has its WAL from opening.
  await registeredPatient(t.node);
});

after(async () => {
  await t.close();
  process.umask(previousUmask);
});

const modeOf = (path: string) => statSync(path).mode & 0o777;

test('ledger.sqlite, vault.sqlite, shl.sqlite and their -wal and -shm files are 0600', () => {
  const dataDir = t.node.config.dataDir;
  for (const name of ['ledger.sqlite', 'vault.sqlite', 'shl.sqlite']) {
    for (const suffix of ['', '-wal', '-shm']) {
      const path = join(dataDir, name + suffix);
      assert.ok(existsSync(path), `${name + suffix} exists`);
      assert.equal(modeOf(path).toString(8), '600', `${name + suffix} is owner-only`);
    }
  }
});

test('files left readable by an older version are narrowed to 0600 when opened', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roam-modes-'));
  try {
    for (const [name, open] of [
      ['ledger.sqlite', (path: string) => LedgerStore.open(path)],
      ['vault.sqlite', (path: string) => VaultStore.open(path)],
      ['shl.sqlite', (path: string) => ShareLinkStore.open(path)],
    ] as const) {
      const path = join(dir, name);
      writeFileSync(path, '');
      chmodSync(path, 0o644);
      const store = open(path);
      store.close();
      assert.equal(modeOf(path).toString(8), '600', `${name} narrowed`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
