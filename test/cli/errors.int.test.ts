// node:test's describe/it/before/after return promises the runner itself awaits.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it", "before", "after"], "package": "node:test" }] }] */
/** Help, usage errors and passphrase errors of the real CLI (no node needed). */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mapLimit, roam, tempDir } from './harness.js';

const GROUPS = [
  [],
  ['init'],
  ['start'],
  ['demo'],
  ['wallet'],
  ['wallet', 'create'],
  ['wallet', 'restore'],
  ['wallet', 'show'],
  ['patient'],
  ['patient', 'register'],
  ['org'],
  ['org', 'add-practitioner'],
  ['org', 'propose-suspend'],
  ['org', 'propose-rotate-key'],
  ['org', 'proposals'],
  ['consent'],
  ['consent', 'grant'],
  ['consent', 'revoke'],
  ['consent', 'list'],
  ['ledger'],
  ['ledger', 'verify'],
  ['ledger', 'block'],
  ['ledger', 'tx'],
  ['ledger', 'status'],
];

describe('roam --help', () => {
  it('exits 0 for the program and every command', async () => {
    const results = await mapLimit(GROUPS, 3, (args) => roam([...args, '--help']));
    for (const [i, result] of results.entries()) {
      const name = ['roam', ...GROUPS[i]!].join(' ');
      assert.equal(result.status, 0, `${name} --help: ${result.stderr}`);
      assert.match(result.stdout, /^Usage: roam/, name);
      // Leaf commands all offer --json.
      if (!/Commands:/.test(result.stdout)) assert.match(result.stdout, /--json/, name);
    }
    const top = results[0]!.stdout;
    for (const group of ['init', 'start', 'demo', 'wallet', 'patient', 'org', 'consent', 'ledger'])
      assert.match(top, new RegExp(`\\n  ${group}\\b`));
  });
});

describe('usage errors', () => {
  it('exit 2 with one line on stderr', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /^roam: USAGE: unknown command 'frobnicate'/],
      [['init', '--data', '/tmp/x'], /^roam: USAGE: required option '--org <name>' not specified\n$/],
      [
        ['wallet', 'create', '--out', 'x.json', '--role', 'wizard'],
        /^roam: USAGE: option '--role <role>' argument 'wizard' is invalid/,
      ],
      [['ledger', 'block', '-1', '--data', '/tmp/x'], /^roam: USAGE: /],
      [['ledger', 'block', '3'], /^roam: USAGE: give exactly one of --node <url> or --data <dir>\n$/],
      [['start', '--data', '/tmp/x', '--port', '70000'], /^roam: USAGE: .*port number/],
      [['ledger', 'status', '--node', 'ftp://x'], /^roam: USAGE: .*http\(s\) URL/],
    ];
    const results = await mapLimit(cases, 3, ([args]) => roam(args));
    for (const [i, result] of results.entries()) {
      const [args, pattern] = cases[i]!;
      assert.equal(result.status, 2, `roam ${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
  });

  it('with --json also print the error as one JSON object on stdout', async () => {
    const result = await roam(['ledger', 'verify', '--data', '/nonexistent/roam', '--json']);
    assert.equal(result.status, 1);
    assert.deepEqual(Object.keys(JSON.parse(result.stdout) as object), ['error']);
    assert.match(result.stderr, /^roam: NOT_FOUND: no ledger store at /);
  });
});

describe('passphrases', () => {
  const { dir, cleanup } = tempDir();
  const wallet = join(dir, 'p.wallet.json');
  before(async () => {
    const created = await roam(['wallet', 'create', '--out', wallet, '--role', 'practitioner']);
    assert.equal(created.status, 0, created.stderr);
  });
  after(cleanup);

  it('missing: the error names --passphrase-file and ROAM_PASSPHRASE', async () => {
    const result = await roam(['wallet', 'create', '--out', join(dir, 'q.json'), '--role', 'patient'], {
      env: { ROAM_PASSPHRASE: undefined },
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^roam: PASSPHRASE_REQUIRED: .*--passphrase-file.*ROAM_PASSPHRASE/);
    assert.equal(result.stdout, '');
  });

  it('is never taken from an argument', async () => {
    const result = await roam(['wallet', 'show', '--wallet', wallet, '--passphrase', 'secret'], {
      env: { ROAM_PASSPHRASE: undefined },
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^roam: USAGE: unknown option '--passphrase'/);
  });

  it('wrong: BAD_PASSPHRASE', async () => {
    const result = await roam(['wallet', 'show', '--wallet', wallet], {
      env: { ROAM_PASSPHRASE: 'not the passphrase' },
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^roam: BAD_PASSPHRASE: /);
    assert.doesNotMatch(result.stderr, /not the passphrase/);
  });

  it('from --passphrase-file, which wins over ROAM_PASSPHRASE', async () => {
    const file = join(dir, 'pass.txt');
    writeFileSync(file, 'cli test passphrase\n', { mode: 0o600 });
    const result = await roam(['wallet', 'show', '--wallet', wallet, '--passphrase-file', file, '--json'], {
      env: { ROAM_PASSPHRASE: 'wrong one' },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { role: string }).role, 'practitioner');

    const unreadable = await roam([
      'wallet',
      'show',
      '--wallet',
      wallet,
      '--passphrase-file',
      join(dir, 'none.txt'),
    ]);
    assert.equal(unreadable.status, 1);
    assert.match(unreadable.stderr, /^roam: PASSPHRASE_FILE_UNREADABLE: /);
  });
});
