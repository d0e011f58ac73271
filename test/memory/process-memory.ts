/**
 * Runs a measurement in a fresh node process and reads its anonymous resident memory (RssAnon:
 * heaps, SQLite caches, worker threads; not the mapped code and files), so one test's allocations
 * do not blur another's.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const REPO = join(import.meta.dirname, '..', '..');

/** RssAnon of this process, in MiB (Linux). */
export function anonymousRssMib(): number {
  const match = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (match === null) throw new Error('no RssAnon in /proc/self/status (Linux only)');
  return Number(match[1]) / 1024;
}

/** Runs `script` (a file under test/memory) under the TypeScript loader; returns the JSON it prints. */
export async function runMeasurement<T>(script: string): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO, 'test', 'memory', script)], { cwd: REPO });
  return JSON.parse(stdout) as T;
}
