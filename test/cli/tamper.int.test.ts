// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/**
 * `roam ledger verify` finds one changed byte anywhere in the store and names the height:
 * a block header, a transaction envelope, a world-state row. Each case edits a fresh copy of
 * a stopped node's data folder with better-sqlite3 directly, as an attacker with the file would.
 */
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { chainIdOf, patientRegistration, postCommit, roam, startCli, tempDir } from './harness.js';

interface Committed {
  readonly height: number;
}

describe('roam ledger verify on a tampered store', () => {
  const { dir, cleanup } = tempDir('roam-tamper-');
  const data = join(dir, 'node');
  /** A block of several transactions, neither the first nor the head. */
  let batchHeight = 0;
  /** The block that registered `loneDid`. */
  let loneHeight = 0;
  let loneDid = '';
  let copies = 0;

  before(async () => {
    const init = await roam(['init', '--data', data, '--org', 'Tamper General', '--region', 'eu']);
    assert.equal(init.status, 0, init.stderr);
    const node = await startCli(['start', '--data', data, '--port', '0']);
    try {
      const chainId = await chainIdOf(node.url);
      const first = await postCommit(node.url, patientRegistration(chainId).envelope);
      assert.equal(first.status, 200, JSON.stringify(first.body));

      const batch = await postCommit(node.url, { txs: [0, 1, 2].map(() => patientRegistration(chainId).envelope) });
      assert.equal(batch.status, 200, JSON.stringify(batch.body));
      const heights = (batch.body as { results: Committed[] }).results.map((r) => r.height);
      batchHeight = heights[1]!;
      assert.ok(
        heights.every((h) => h === batchHeight),
        `one block for the batch, got ${heights.join(',')}`,
      );

      const lone = patientRegistration(chainId);
      loneDid = lone.did;
      loneHeight = ((await postCommit(node.url, lone.envelope)).body as Committed).height;
      await postCommit(node.url, patientRegistration(chainId).envelope);
      assert.ok(loneHeight > batchHeight);

      // Verify reads the store while the node runs (WAL, read-only connection).
      const live = await roam(['ledger', 'verify', '--data', data]);
      assert.equal(live.status, 0, live.stdout + live.stderr);
    } finally {
      const { status } = await node.stop('SIGTERM');
      assert.equal(status, 0);
    }
  });

  after(cleanup);

  /** Copies the data folder, lets `edit` change the copy's SQLite file, returns the copy. */
  function tamperedCopy(edit: (db: Database.Database) => void): string {
    const copy = join(dir, `copy-${++copies}`);
    cpSync(data, copy, { recursive: true });
    const db = new Database(join(copy, 'ledger.sqlite'));
    try {
      edit(db);
    } finally {
      db.close();
    }
    return copy;
  }

  async function expectFailureAt(copy: string, height: number, problem: RegExp): Promise<void> {
    const result = await roam(['ledger', 'verify', '--data', copy]);
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.match(result.stdout, new RegExp(`^ledger verify: FAILED at height ${height}: `));
    assert.match(result.stdout, problem);
    const json = await roam(['ledger', 'verify', '--data', copy, '--json']);
    assert.equal(json.status, 1);
    assert.deepEqual(JSON.parse(json.stdout), {
      ok: false,
      height,
      problem: /^ledger verify: FAILED at height \d+: (.*)\n$/.exec(result.stdout)![1],
    });
  }

  it('the untouched copy verifies', async () => {
    const copy = tamperedCopy(() => undefined);
    const result = await roam(['ledger', 'verify', '--data', copy, '--json']);
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { ok: boolean; height: number; txCount: number };
    assert.deepEqual([report.ok, report.txCount], [true, 6]);
  });

  it('(a) one byte of a block header', async () => {
    const copy = tamperedCopy((db) => {
      const { header } = db
        .prepare<[number], { header: string }>('SELECT header FROM blocks WHERE height = ?')
        .get(batchHeight)!;
      db.prepare('UPDATE blocks SET header = ? WHERE height = ?').run(
        flipHexAfter(header, '"txRoot":"'),
        batchHeight,
      );
    });
    await expectFailureAt(copy, batchHeight, /block hash does not match its header/);
  });

  it('(b) one byte of a stored transaction envelope', async () => {
    const copy = tamperedCopy((db) => {
      const { envelope } = db
        .prepare<[number], { envelope: string }>('SELECT envelope FROM txs WHERE height = ? AND idx = 1')
        .get(batchHeight)!;
      db.prepare('UPDATE txs SET envelope = ? WHERE height = ? AND idx = 1').run(
        flipAfter(envelope, '"encryptionKey":"'),
        batchHeight,
      );
    });
    await expectFailureAt(copy, batchHeight, /Merkle root/);
  });

  it('(c) one byte of a world-state row', async () => {
    const copy = tamperedCopy((db) => {
      const key = `party/${loneDid}`;
      const row = db
        .prepare<[string], { value: string; height: number }>('SELECT value, height FROM state WHERE key = ?')
        .get(key)!;
      assert.equal(row.height, loneHeight);
      db.prepare('UPDATE state SET value = ? WHERE key = ?').run(
        flipAfter(row.value, '"encryptionKey":"'),
        key,
      );
    });
    await expectFailureAt(copy, loneHeight, new RegExp(`state of "party/${loneDid}" differs`));
  });
});

/** Changes the one character right after `marker` (a hex digit) to another hex digit. */
function flipHexAfter(text: string, marker: string): string {
  const at = text.indexOf(marker) + marker.length;
  assert.ok(at >= marker.length, `no ${marker} in ${text}`);
  return text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1);
}

/** Changes the one character right after `marker` (a base64url character) to another one. */
function flipAfter(text: string, marker: string): string {
  const at = text.indexOf(marker) + marker.length;
  assert.ok(at >= marker.length, `no ${marker} in ${text}`);
  return text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
}
