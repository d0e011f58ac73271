import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FhirIndexStore } from './fhir-index-store.js';
import { VaultStore } from './vault-store.js';
import { WalCheckpointer } from './wal-checkpointer.js';

const dir = mkdtempSync(join(tmpdir(), 'roam-wal-checkpointer-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** Bytes of the WAL file of `path` (0 when there is none). */
function walBytes(path: string): number {
  return existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0;
}

/** A 4 KiB audit entry: about one WAL page per commit. */
function entry(): string {
  return randomBytes(3000).toString('base64');
}

/**
 * `commits` durable commits of about one page each to the index at `path`, as the node makes
 * them (one at a time, each awaited); returns the largest WAL file seen meanwhile.
 */
async function commitSteadily(index: FhirIndexStore, path: string, commits: number): Promise<number> {
  let largest = 0;
  for (let i = 0; i < commits; i++) {
    await index.durablyOffThread(() => index.appendAudit([entry()]));
    largest = Math.max(largest, walBytes(path));
  }
  return largest;
}

const PAGE = 4096;
/** The WAL stays under this many pages with checkpoints (restartFrames 200, polls every 20 ms). */
const BOUND_PAGES = 1000;
/** Enough commits (about 4 pages each) to pass that bound several times over without checkpoints. */
const COMMITS = 1500;

describe('WalCheckpointer: checkpoints on a worker thread, none in the main thread commits', () => {
  it('keeps the WAL bounded under steady writes while the main connection never checkpoints', async () => {
    const path = join(dir, `db-${++files}.sqlite`);
    const vault = VaultStore.open(path, { autoCheckpoint: false });
    const index = FhirIndexStore.open(path, { autoCheckpoint: false });
    assert.equal(
      vault.db.pragma('wal_autocheckpoint', { simple: true }),
      0,
      'the main connection never checkpoints',
    );
    const checkpoints = WalCheckpointer.start({ path, pollMs: 20, restartFrames: 200 });
    const largest = await commitSteadily(index, path, COMMITS);
    assert.ok(checkpoints.error === undefined, checkpoints.error);
    const done = checkpoints.completed;
    assert.ok(done.PASSIVE > 0, 'passive checkpoints ran on the worker');
    assert.ok(done.RESTART > 0, 'restarts let the WAL start over while commits went on');
    assert.ok(
      largest < BOUND_PAGES * PAGE,
      `the WAL stayed under ${BOUND_PAGES} pages (largest: ${Math.round(largest / PAGE)})`,
    );
    await checkpoints.close();
    assert.equal(walBytes(path), 0, 'the final checkpoint truncates the WAL');
    assert.equal(index.auditBacklog(), COMMITS, 'every commit is in the database');
    index.close();
    vault.close();
  });

  it('without it (no checkpoints anywhere) the same writes grow the WAL past that bound', async () => {
    const path = join(dir, `db-${++files}.sqlite`);
    const index = FhirIndexStore.open(path, { autoCheckpoint: false });
    const largest = await commitSteadily(index, path, COMMITS);
    assert.ok(largest >= BOUND_PAGES * PAGE, `the WAL grew to ${Math.round(largest / PAGE)} pages`);
    index.close();
  });

  it('truncates the WAL once it has been quiet for idleMs', async () => {
    const path = join(dir, `db-${++files}.sqlite`);
    const index = FhirIndexStore.open(path, { autoCheckpoint: false });
    const checkpoints = WalCheckpointer.start({ path, pollMs: 20, idleMs: 100 });
    await commitSteadily(index, path, 50);
    assert.ok(walBytes(path) > 0);
    const deadline = Date.now() + 5000;
    while (checkpoints.completed.TRUNCATE === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(walBytes(path), 0, 'an idle WAL is truncated');
    await checkpoints.close();
    index.close();
  });

  it('says it is failing when its worker cannot open the file, and is not failing while it checkpoints', async () => {
    const path = join(dir, `db-${++files}.sqlite`);
    const index = FhirIndexStore.open(path, { autoCheckpoint: false });
    const checkpoints = WalCheckpointer.start({ path, pollMs: 20 });
    // Writes go on until the worker (started in the background) has checkpointed once.
    const working = Date.now() + 10_000;
    while (checkpoints.completed.PASSIVE === 0 && Date.now() < working) {
      await commitSteadily(index, path, 5);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(checkpoints.completed.PASSIVE > 0);
    assert.equal(checkpoints.failing, false);
    await checkpoints.close();
    index.close();

    // No such file: the worker's connection fails at once (fileMustExist) and the worker stops.
    const broken = WalCheckpointer.start({ path: join(dir, 'missing.sqlite'), pollMs: 20 });
    const deadline = Date.now() + 5000;
    while (!broken.failing && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(broken.failing, true);
    assert.ok(broken.error !== undefined);
    await broken.close();
  });
});
