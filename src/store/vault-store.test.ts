import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { randomBytes, sha256Hex } from '../crypto/index.js';
import { StoreErrorCode } from './errors.js';
import { FhirIndexStore } from './fhir-index-store.js';
import { PENDING_VERSIONS_META, VaultStore, type NewRecordVersion } from './vault-store.js';

const dir = mkdtempSync(join(tmpdir(), 'roam-vault-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `vault-${++files}.sqlite`);

function version(recordId: string, v: number, overrides: Partial<NewRecordVersion> = {}): NewRecordVersion {
  return {
    recordId,
    version: v,
    patient: 'did:key:z6MkPatient',
    resourceType: 'Observation',
    class: 'general',
    epoch: 0,
    wrappedDek: `{"ct":"ct-${recordId}-${v}","iv":"iv"}`,
    custodian: 'did:key:z6MkOrg',
    author: 'did:key:z6MkAuthor',
    createdAt: 1_700_000_000_000 + v,
    ...overrides,
  };
}

describe('VaultStore', () => {
  it('opens a WAL file with synchronous=FULL and secure_delete on', () => {
    const path = freshPath();
    const store = VaultStore.open(path);
    try {
      assert.ok(existsSync(path));
      assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(store.db.pragma('synchronous', { simple: true }), 2); // FULL
      assert.equal(store.db.pragma('secure_delete', { simple: true }), 1);
    } finally {
      store.close();
    }
  });

  it('keeps blobs by SHA-256: put is idempotent, get by hash', () => {
    const store = VaultStore.open(freshPath());
    try {
      const data = randomBytes(300);
      const hash = store.putBlob(data);
      assert.equal(hash, sha256Hex(data));
      assert.equal(store.putBlob(data.slice()), hash);
      assert.deepEqual(store.getBlob(hash), data);
      assert.equal(store.getBlob(sha256Hex(randomBytes(8))), undefined);
      const rows = store.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM blobs').get()!;
      assert.equal(rows.n, 1);
    } finally {
      store.close();
    }
  });

  it('inserts versions with their blob, once; reads them back by version, latest and in order', () => {
    const store = VaultStore.open(freshPath());
    try {
      const blob1 = randomBytes(64);
      const blob2 = randomBytes(64);
      const first = store.insertVersion(version('rec-1', 1), blob1);
      assert.deepEqual(first, { status: 'inserted', contentHash: sha256Hex(blob1) });
      assert.deepEqual(store.insertVersion(version('rec-1', 2, { class: 'sensitive', epoch: 4 }), blob2), {
        status: 'inserted',
        contentHash: sha256Hex(blob2),
      });
      assert.deepEqual(store.insertVersion(version('rec-1', 1), randomBytes(64)), { status: 'exists' });
      assert.deepEqual(store.getVersion('rec-1', 1), {
        ...version('rec-1', 1),
        contentHash: sha256Hex(blob1),
      });
      const latest = store.getLatestVersion('rec-1')!;
      assert.equal(latest.version, 2);
      assert.equal(latest.class, 'sensitive');
      assert.equal(latest.epoch, 4);
      assert.deepEqual(
        store.listVersions('rec-1').map((row) => row.version),
        [1, 2],
      );
      assert.deepEqual(store.getBlob(latest.contentHash), blob2);
      assert.equal(store.getVersion('rec-1', 3), undefined);
      assert.equal(store.getLatestVersion('rec-none'), undefined);
      assert.deepEqual(store.listVersions('rec-none'), []);
    } finally {
      store.close();
    }
  });

  it('erases every version, wrapped DEK and blob of a record in one go, and keeps a tombstone', () => {
    const store = VaultStore.open(freshPath());
    try {
      const blobs = [randomBytes(80), randomBytes(80), randomBytes(80)];
      const hashes = blobs.map((blob, i) => {
        const result = store.insertVersion(version('rec-e', i + 1), blob);
        assert.equal(result.status, 'inserted');
        return result.status === 'inserted' ? result.contentHash : '';
      });
      const keep = randomBytes(80);
      store.insertVersion(version('rec-keep', 1), keep);
      assert.equal(store.erase('rec-e', 1_800_000_000_000), 3);
      for (const hash of hashes) assert.equal(store.getBlob(hash), undefined);
      assert.deepEqual(store.listVersions('rec-e'), []);
      assert.equal(store.getLatestVersion('rec-e'), undefined);
      const left = store.db
        .prepare<[string], { n: number }>('SELECT count(*) AS n FROM record_versions WHERE record_id = ?')
        .get('rec-e')!;
      assert.equal(left.n, 0);
      assert.deepEqual(store.getErasure('rec-e'), {
        recordId: 'rec-e',
        versions: 3,
        erasedAt: 1_800_000_000_000,
      });
      // Other records are untouched; erasing again deletes nothing and keeps the first tombstone.
      assert.deepEqual(store.getBlob(sha256Hex(keep)), keep);
      assert.equal(store.listVersions('rec-keep').length, 1);
      assert.equal(store.erase('rec-e', 1_900_000_000_000), 0);
      assert.equal(store.getErasure('rec-e')!.erasedAt, 1_800_000_000_000);
      // Nothing can be written to an erased record.
      assert.deepEqual(store.insertVersion(version('rec-e', 4), randomBytes(80)), { status: 'erased' });
      assert.equal(store.getErasure('rec-keep'), undefined);
    } finally {
      store.close();
    }
  });

  it('keeps a blob that another record still names', () => {
    const store = VaultStore.open(freshPath());
    try {
      const shared = randomBytes(50);
      store.insertVersion(version('rec-a', 1), shared);
      store.insertVersion(version('rec-b', 1), shared);
      assert.equal(store.erase('rec-a', 1), 1);
      assert.deepEqual(store.getBlob(sha256Hex(shared)), shared);
      assert.equal(store.erase('rec-b', 2), 1);
      assert.equal(store.getBlob(sha256Hex(shared)), undefined);
    } finally {
      store.close();
    }
  });

  it('tracks the current epoch per patient and class: set never lowers it, next advances it', () => {
    const store = VaultStore.open(freshPath());
    try {
      assert.equal(store.getEpoch('did:p', 'general'), undefined);
      assert.equal(store.nextEpoch('did:p', 'general'), 1);
      assert.equal(store.nextEpoch('did:p', 'general'), 2);
      assert.equal(store.getEpoch('did:p', 'general'), 2);
      assert.equal(store.getEpoch('did:p', 'sensitive'), undefined);
      assert.equal(store.setEpoch('did:p', 'sensitive', 5), 5);
      assert.equal(store.setEpoch('did:p', 'sensitive', 3), 5);
      assert.equal(store.getEpoch('did:p', 'sensitive'), 5);
      assert.equal(store.getEpoch('did:q', 'general'), undefined);
    } finally {
      store.close();
    }
  });

  it('persists across reopening, and refuses a file of another schema version', () => {
    const path = freshPath();
    const blob = randomBytes(40);
    const store = VaultStore.open(path);
    store.insertVersion(version('rec-p', 1), blob);
    store.nextEpoch('did:p', 'sensitive');
    store.close();
    const reopened = VaultStore.open(path);
    assert.equal(reopened.getVersion('rec-p', 1)!.contentHash, sha256Hex(blob));
    assert.equal(reopened.getEpoch('did:p', 'sensitive'), 1);
    reopened.close();
    const raw = new Database(path);
    raw.prepare("UPDATE meta SET value = '2' WHERE key = 'schema'").run();
    raw.close();
    assert.throws(() => VaultStore.open(path), { code: StoreErrorCode.SCHEMA_MISMATCH });
  });

  it('reports a file it cannot open', () => {
    assert.throws(() => VaultStore.open(join(dir, 'missing-dir', 'vault.sqlite')), {
      code: StoreErrorCode.OPEN_FAILED,
    });
  });
});

// The vault's `pending_versions`: what start-up recovery reads instead of every version (issue 14
// §4: a start time that does not grow with the vault), and the one full scan of a vault written
// before the table existed. The vault and the index share one file, as in a node.
const ORG = 'did:key:z6MkOrg';

/** A vault and an index on one fresh file. */
function openBoth(path = freshPath()) {
  const vault = VaultStore.open(path);
  const index = FhirIndexStore.open(path);
  return {
    path,
    vault,
    index,
    close() {
      index.close();
      vault.close();
    },
  };
}

function indexRow(recordId: string, v: number) {
  return { recordId, type: 'Observation', version: v, patient: 'did:key:z6MkPatient', lastUpdated: v, class: 'general', epoch: 0 };
}

const pendingRows = (vault: VaultStore) =>
  vault.db
    .prepare<[], { record_id: string; version: number }>('SELECT record_id, version FROM pending_versions ORDER BY record_id, version')
    .all()
    .map((r) => `${r.record_id}@${r.version}`);

const metaOf = (vault: VaultStore) =>
  vault.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(PENDING_VERSIONS_META)?.value;

describe('pending versions (start-up recovery reads what was in flight)', () => {
  it('a version is pending from its vault commit until its index commit, which settles older ones too', () => {
    const t = openBoth();
    try {
      assert.equal(metaOf(t.vault), 'complete', 'a new vault keeps the table from the start');
      t.vault.insertVersion(version('rec-a', 1), Buffer.from('a1'));
      t.vault.insertVersion(version('rec-a', 2), Buffer.from('a2'));
      t.vault.insertVersion(version('rec-b', 1), Buffer.from('b1'));
      assert.deepEqual(
        t.index.unindexedVersions(ORG).map((v) => `${v.recordId}@${v.version}`),
        ['rec-a@1', 'rec-a@2', 'rec-b@1'],
      );
      t.index.durably(() => t.index.putResource(indexRow('rec-a', 2), []));
      assert.deepEqual(pendingRows(t.vault), ['rec-b@1']);
      assert.deepEqual(
        t.index.unindexedVersions(ORG).map((v) => `${v.recordId}@${v.version}`),
        ['rec-b@1'],
      );
    } finally {
      t.close();
    }
  });

  it('reads only pending rows: an unindexed version without one is not scanned for', () => {
    const t = openBoth();
    try {
      t.vault.insertVersion(version('rec-old', 1), Buffer.from('old'));
      t.index.putResource(indexRow('rec-old', 1), []);
      // Were recovery still a scan of every version, this one (index row gone) would come back.
      t.index.deleteResource('rec-old');
      assert.deepEqual(t.index.unindexedVersions(ORG), []);
    } finally {
      t.close();
    }
  });

  it('a rolled-back, discarded or erased version leaves no pending row', () => {
    const t = openBoth();
    try {
      t.vault.insertVersion(version('rec-rollback', 1), Buffer.from('r'));
      t.vault.insertVersion(version('rec-erase', 1), Buffer.from('e'));
      t.vault.insertVersion(version('rec-erase', 2), Buffer.from('e2'));
      t.index.deleteVersion('rec-rollback', 1);
      t.vault.erase('rec-erase', 1);
      assert.deepEqual(pendingRows(t.vault), []);
    } finally {
      t.close();
    }
  });

  it('settles what recovery left (other custodians) and keeps the table complete', () => {
    const t = openBoth();
    try {
      t.vault.insertVersion(version('rec-replica', 1, { custodian: 'did:key:z6MkOtherOrg' }), Buffer.from('x'));
      assert.deepEqual(t.index.unindexedVersions(ORG), [], "another custodian's version is not this node's to recover");
      t.index.settlePendingVersions();
      assert.deepEqual(pendingRows(t.vault), []);
      assert.equal(metaOf(t.vault), 'complete');
    } finally {
      t.close();
    }
  });

  it('a vault written before the table: one full scan at the first start, then only pending rows', () => {
    const first = openBoth();
    first.vault.insertVersion(version('rec-indexed', 1), Buffer.from('i'));
    first.index.putResource(indexRow('rec-indexed', 1), []);
    first.vault.insertVersion(version('rec-in-flight', 1), Buffer.from('f'));
    // What an earlier build left: no table, no meta key.
    first.vault.db.exec(`DROP TABLE pending_versions; DELETE FROM meta WHERE key = '${PENDING_VERSIONS_META}'`);
    first.close();

    const t = openBoth(first.path);
    try {
      assert.equal(metaOf(t.vault), 'unseeded');
      assert.deepEqual(
        t.index.unindexedVersions(ORG).map((v) => `${v.recordId}@${v.version}`),
        ['rec-in-flight@1'],
        'the full scan finds the version in flight, which has no pending row',
      );
      t.index.putResource(indexRow('rec-in-flight', 1), []);
      t.index.settlePendingVersions();
      assert.equal(metaOf(t.vault), 'complete');
      t.index.deleteResource('rec-indexed');
      assert.deepEqual(t.index.unindexedVersions(ORG), [], 'from now on only pending rows are read');
    } finally {
      t.close();
    }
  });
});

describe('the vault remembers a clean ciphertext check until a restore', () => {
  it('is set by a clean check, cleared by a check with gaps and by a restore of the file', () => {
    const t = openBoth();
    assert.equal(t.vault.ciphertextsChecked, false, 'a new vault has never been checked');
    t.vault.setCiphertextsChecked(true);
    assert.equal(t.vault.ciphertextsChecked, true);
    t.vault.setCiphertextsChecked(false);
    assert.equal(t.vault.ciphertextsChecked, false);
    t.vault.setCiphertextsChecked(true);
    t.close();
    VaultStore.forgetCiphertextsChecked(t.path);
    const reopened = VaultStore.open(t.path);
    try {
      assert.equal(reopened.ciphertextsChecked, false);
    } finally {
      reopened.close();
    }
  });
});
