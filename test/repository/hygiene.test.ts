/**
 * Repository hygiene that CI would otherwise only find on another machine:
 * - tests and benchmarks read nothing outside the repository (no absolute paths of one machine,
 *   no samples kept beside the checkout): a clone anywhere passes `npm install && npm test`;
 * - a test file that starts child processes, `nats-server` or a browser (directly or through a
 *   helper of `test/`) is named `*.int.test.ts`, and only such a file is, so `npm run test:unit`
 *   and `npm run test:int` split the suite as the README says.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Modules whose import means "starts a process or a browser". */
const PROCESS_MODULES = new Set(['node:child_process', 'child_process', 'playwright-core']);

function sourceFilesUnder(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => join(dir, path))
    .sort();
}

/** The specifiers of a file's static imports and re-exports. */
function importsOf(path: string): string[] {
  const text = readFileSync(join(REPO, path), 'utf8');
  return [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)].map((match) => match[1]!);
}

/** A relative specifier as a repository path (`.js` names the `.ts` source). */
function resolveImport(from: string, specifier: string): string {
  return relative(REPO, resolve(REPO, dirname(from), specifier)).replace(/\.js$/, '.ts');
}

const SOURCES = [...sourceFilesUnder('src'), ...sourceFilesUnder('test'), ...sourceFilesUnder('bench')];
const TEST_FILES = SOURCES.filter((path) => path.endsWith('.test.ts'));

/**
 * Test files and `test/` helpers that start a process: they import a process module, or a `test/`
 * helper that does. Library code under `src/` is not followed: a test that calls `networkUp`
 * itself imports it from `src/network`, and its own name is what this checks.
 */
function processStarters(): Set<string> {
  const candidates = SOURCES.filter((path) => path.startsWith('test/') || path.endsWith('.test.ts'));
  const starters = new Set(
    candidates.filter((path) => importsOf(path).some((specifier) => PROCESS_MODULES.has(specifier))),
  );
  for (let grew = true; grew;) {
    grew = false;
    for (const path of candidates) {
      if (starters.has(path)) continue;
      const relativeImports = importsOf(path).filter((specifier) => specifier.startsWith('.'));
      if (relativeImports.some((specifier) => starters.has(resolveImport(path, specifier)))) {
        starters.add(path);
        grew = true;
      }
    }
  }
  return starters;
}

test('tests and benchmarks read no path outside the repository', () => {
  // Built from parts so that this file does not match itself.
  const outside = new RegExp(['[\'"`]/(?:work|home|root|Users)/', '\\.\\./shared/'].join('|'));
  const offenders = SOURCES.filter((path) => !path.startsWith('src/') || path.endsWith('.test.ts')).filter(
    (path) => outside.test(readFileSync(join(REPO, path), 'utf8')),
  );
  assert.deepEqual(offenders, []);
});

test('every FHIR sample the tests import is in testdata/ with its license note', () => {
  for (const dir of ['testdata/synthea', 'testdata/ips']) {
    const names = readdirSync(join(REPO, dir));
    assert.ok(names.filter((name) => name.endsWith('.json')).length > 0, `${dir} holds no samples`);
    assert.match(readFileSync(join(REPO, dir, 'README.md'), 'utf8'), /License/, `${dir}/README.md`);
  }
});

test('a test file is *.int.test.ts exactly when it starts processes, nats-server or a browser', () => {
  const starters = processStarters();
  const misnamed = TEST_FILES.filter((path) => starters.has(path) !== path.endsWith('.int.test.ts'));
  assert.deepEqual(misnamed, []);
  // The check looks at something: the CLI harness and the browser test start processes.
  assert.ok(starters.has('test/cli/harness.ts') && starters.has('test/e2e/web.int.test.ts'));
});
