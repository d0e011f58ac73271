import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { StoreErrorCode, type StoreError } from './errors.js';
import { FhirIndexStore } from './fhir-index-store.js';
import { VaultStore } from './vault-store.js';
import { walSyncOf, walSyncOfConnection } from './wal-sync.js';

const dir = mkdtempSync(join(tmpdir(), 'roam-wal-sync-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** A fresh WAL-mode file with a table, committing with synchronous=NORMAL. */
function walFile(): { path: string; db: Database.Database } {
  const path = join(dir, `db-${++files}.sqlite`);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (v INTEGER NOT NULL)');
  return { path, db };
}

describe('WalSync: durable commits synced off the main thread, one sync per turn', () => {
  it('syncs asked for while one runs share the next one, which covers the commits made meanwhile', async () => {
    const { path, db } = walFile();
    const sync = walSyncOf(path)!;
    const running = sync.sync();
    // Committed after the running sync started: it may not be covered by it.
    db.prepare('INSERT INTO t (v) VALUES (1)').run();
    const next = Array.from({ length: 20 }, () => sync.sync());
    assert.ok(
      next.every((p) => p === next[0]),
      'every request made during the sync shares one promise',
    );
    assert.notEqual(next[0], running);
    await Promise.all([running, ...next]);
    assert.equal(sync.completed, 2, 'two fdatasyncs for 21 requests');
    // Nothing runs now: the next request starts a sync at once.
    await sync.sync();
    assert.equal(sync.completed, 3);
    db.close();
  });

  it('is one per file: the vault and the index (two connections to vault.sqlite) share it', () => {
    const { path, db } = walFile();
    db.close();
    const vault = VaultStore.open(path);
    const index = FhirIndexStore.open(path);
    const shared = walSyncOf(path);
    assert.ok(shared !== undefined);
    assert.equal(walSyncOf(relative(process.cwd(), path)), shared, 'a relative path names the same file');
    assert.equal(walSyncOfConnection(vault.db), shared);
    index.close();
    vault.close();
  });

  it('leaves alone what cannot be synced this way: in memory, or not in WAL mode', () => {
    assert.equal(walSyncOf(':memory:'), undefined);
    const memory = new Database(':memory:');
    assert.equal(walSyncOfConnection(memory), undefined);
    memory.close();
    const rollback = new Database(join(dir, 'rollback.sqlite'));
    rollback.pragma('journal_mode = DELETE');
    assert.equal(
      walSyncOfConnection(rollback),
      undefined,
      'a rollback-journal file keeps syncing in its commits',
    );
    rollback.close();
  });

  it('an off-thread durable commit resolves after a sync that started after it committed', async () => {
    const { path, db } = walFile();
    db.close();
    const index = FhirIndexStore.open(path);
    const sync = walSyncOf(path)!;
    const before = sync.completed;
    const row = {
      recordId: 'r1',
      type: 'Observation',
      version: 1,
      patient: 'did:key:z6MkP',
      lastUpdated: 1,
      class: 'general',
      epoch: 0,
    };
    const durable = index.durablyOffThread(() => index.putResource(row, []));
    // Committed already (visible to this process), not yet acknowledged as durable.
    assert.deepEqual(index.getResource('r1'), row);
    assert.equal(sync.completed, before);
    await durable;
    assert.equal(sync.completed, before + 1);
    index.close();
  });

  it('a sync that fails rejects with STORE_SYNC_FAILED, and the next one tries again', async () => {
    const { path, db } = walFile();
    db.close(); // the last connection deletes the WAL file: there is nothing to sync
    const sync = walSyncOf(path)!;
    await assert.rejects(sync.sync(), (error: StoreError) => error.code === StoreErrorCode.SYNC_FAILED);
    const reopened = new Database(path);
    reopened.pragma('journal_mode = WAL');
    reopened.prepare('INSERT INTO t (v) VALUES (2)').run();
    await sync.sync();
    assert.equal(sync.completed, 1);
    reopened.close();
  });
});
