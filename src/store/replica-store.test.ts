import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { RefillLog } from './refill-log.js';
import { ReplicaStore, type ReplicaVersionRow } from './replica-store.js';

const dir = mkdtempSync(join(tmpdir(), 'roam-replica-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `replica-${++files}.sqlite`);

function held(recordId: string, version: number, overrides: Partial<ReplicaVersionRow> = {}): ReplicaVersionRow {
  return {
    recordId,
    version,
    patient: 'did:key:z6MkPatient',
    custodian: 'did:key:z6MkCustodian',
    resourceType: 'Observation',
    class: 'general',
    epoch: 0,
    contentHash: `${version}`.padStart(64, '0'),
    wrappedDek: '{"iv":"iv","ct":"ct"}',
    lastUpdated: 1_700_000_000_000 + version,
    date: null,
    anchorTx: `${version}`.padStart(64, 'a'),
    blob: new Uint8Array([version, 1, 2, 3]),
    ...overrides,
  };
}

describe('ReplicaStore', () => {
  it('keeps every version of a record: each one by number, the latest by default and in a patient’s records', () => {
    const store = ReplicaStore.open(freshPath());
    try {
      assert.equal(store.put(held('r1', 2)), 'stored');
      assert.equal(store.put(held('r1', 1)), 'stored', 'an older version arriving late is kept too');
      assert.equal(store.put(held('r1', 3)), 'stored');
      assert.equal(store.put(held('r1', 3)), 'exists');
      assert.equal(store.put(held('r2', 1, { resourceType: 'Condition' })), 'stored');
      assert.deepEqual(store.versionsOf('r1'), [1, 2, 3]);
      assert.equal(store.get('r1')?.version, 3);
      assert.deepEqual([...(store.get('r1', 1)?.blob ?? [])], [1, 1, 2, 3]);
      assert.equal(store.get('r1', 1)?.anchorTx, '1'.padStart(64, 'a'));
      assert.equal(store.get('r1', 4), undefined);
      assert.deepEqual(
        store.ofPatient('did:key:z6MkPatient', 'did:key:z6MkCustodian').map((v) => [v.recordId, v.version]),
        [
          ['r1', 3],
          ['r2', 1],
        ],
      );
      assert.deepEqual(store.ofPatient('did:key:z6MkPatient', 'did:key:z6MkCustodian', 'Condition').map((v) => v.recordId), ['r2']);
      assert.equal(store.count(), 4);
    } finally {
      store.close();
    }
  });

  it('erasure deletes every version held of the record and its pending shipments', () => {
    const store = ReplicaStore.open(freshPath());
    try {
      for (const v of [1, 2, 3]) store.put(held('r1', v));
      store.put(held('r2', 1));
      store.enqueue([{ recordId: 'r1', version: 3, target: 'did:key:z6MkReplica', anchorTx: null }], 7);
      assert.equal(store.erase('r1'), true);
      assert.deepEqual(store.versionsOf('r1'), []);
      assert.equal(store.get('r1'), undefined);
      assert.equal(store.backlog(), 0);
      assert.deepEqual(store.versionsOf('r2'), [1]);
    } finally {
      store.close();
    }
  });

  it('prepares its statements once: the shipper’s tick does not prepare them again', () => {
    const store = ReplicaStore.open(freshPath());
    // Counts every statement prepared on any connection from here on (the store's included).
    const original = Object.getOwnPropertyDescriptor(Database.prototype, 'prepare')!;
    const prepare = original.value as (this: Database.Database, source: string) => Database.Statement;
    let prepared = 0;
    Object.defineProperty(Database.prototype, 'prepare', {
      ...original,
      value(this: Database.Database, source: string) {
        prepared++;
        return prepare.call(this, source);
      },
    });
    try {
      for (let tick = 0; tick < 5; tick++) {
        store.scannedHeight();
        store.enqueue([{ recordId: 'r1', version: tick + 1, target: 'did:key:z6MkReplica', anchorTx: null }], tick);
        const due = store.due(Date.now(), 500);
        store.postpone([due[0]!.seq], 0);
        store.settle([due[0]!.seq]);
        store.backlog();
        store.put(held('r1', tick + 1));
        store.get('r1');
      }
      assert.equal(prepared, 0);
    } finally {
      Object.defineProperty(Database.prototype, 'prepare', original);
      store.close();
    }
  });

  it('migrates a file of an earlier build: its latest copies become versions, its outbox gains the anchoring transaction', () => {
    const path = freshPath();
    const old = new Database(path);
    old.exec(`
      CREATE TABLE replica_versions (
        record_id TEXT PRIMARY KEY, version INTEGER NOT NULL, patient TEXT NOT NULL, custodian TEXT NOT NULL,
        resource_type TEXT NOT NULL, class TEXT NOT NULL, epoch INTEGER NOT NULL, content_hash TEXT NOT NULL,
        wrapped_dek TEXT NOT NULL, last_updated INTEGER NOT NULL, date INTEGER, blob BLOB NOT NULL) STRICT;
      CREATE TABLE replica_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL, version INTEGER NOT NULL,
        target TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0,
        UNIQUE (record_id, version, target)) STRICT;
      INSERT INTO replica_versions VALUES ('r1', 2, 'did:key:z6MkPatient', 'did:key:z6MkCustodian', 'Observation', 'general', 0,
        '${'2'.padStart(64, '0')}', '{}', 1, NULL, X'0203');
      INSERT INTO replica_outbox (record_id, version, target) VALUES ('r1', 2, 'did:key:z6MkReplica');
    `);
    old.close();
    const store = ReplicaStore.open(path);
    try {
      assert.equal(store.get('r1')?.version, 2);
      assert.equal(store.get('r1')?.anchorTx, null);
      assert.equal(store.due(Date.now(), 10)[0]?.anchorTx, null);
      assert.equal(store.put(held('r1', 3)), 'stored');
      assert.deepEqual(store.versionsOf('r1'), [2, 3]);
    } finally {
      store.close();
    }
    // Opening again (already migrated) changes nothing.
    const again = ReplicaStore.open(path);
    assert.deepEqual(again.versionsOf('r1'), [2, 3]);
    again.close();
  });
});

describe('RefillLog', () => {
  it('keeps each missing version’s last attempt across rewrites of the list, and is read read-only while the node writes', () => {
    const path = freshPath();
    assert.equal(RefillLog.read(path), null, 'no file');
    const store = ReplicaStore.open(path);
    try {
      const log = store.refillLog;
      log.replace(
        [
          { recordId: 'r1', version: 2, replica: 'did:key:z6MkReplica' },
          { recordId: 'r2', version: 1, replica: null },
        ],
        1_000,
      );
      log.noteAttempts([{ recordId: 'r1', version: 2, outcome: 'unreachable' }], 2_000);
      log.replace(
        [
          { recordId: 'r1', version: 2, replica: 'did:key:z6MkReplica' },
          { recordId: 'r3', version: 4, replica: 'did:key:z6MkReplica' },
        ],
        3_000,
      );
      const report = RefillLog.read(path);
      assert.deepEqual(report, {
        checkedAt: 3_000,
        gaps: [
          { recordId: 'r1', version: 2, replica: 'did:key:z6MkReplica', attemptedAt: 2_000, outcome: 'unreachable' },
          { recordId: 'r3', version: 4, replica: 'did:key:z6MkReplica', attemptedAt: null, outcome: null },
        ],
      });
    } finally {
      store.close();
    }
  });
});
