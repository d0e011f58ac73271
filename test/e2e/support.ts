/**
 * What the browser tests share: the web app's build (made when missing or older than a file of
 * web/) and a demo node started as a child process, with the JSON it prints.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO, startCli, type RunningCli } from '../cli/harness.js';

/** Generous: a 2-core machine shared with other work, scrypt in the browser, commit waits. */
export const STEP_MS = 60_000;

/** The flags every headless Chromium of these tests runs with (no sandbox in CI containers, no updates). */
export const HEADLESS_CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
];

/** Where the screenshots go. */
export const SHOTS = join(REPO, 'test-results');

/** The newest modification time of the web app's own files (web/, without its build output). */
function newestWebSource(): number {
  const web = join(REPO, 'web');
  return Math.max(
    ...readdirSync(web, { recursive: true, encoding: 'utf8' })
      .filter((file) => !file.startsWith('dist'))
      .map((file) => statSync(join(web, file)).mtimeMs),
  );
}

export function ensureWebBuild(): void {
  const index = join(REPO, 'dist/web/index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestWebSource()) return;
  execFileSync(
    process.execPath,
    [join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts'],
    {
      cwd: REPO,
      stdio: 'inherit',
    },
  );
}

/**
 * Builds the web app when needed, then starts `roam demo` in `dataDir` and waits for its JSON: the
 * first run seeds Synthea charts, which takes a while on a loaded machine.
 */
export async function startDemo<T>(dataDir: string): Promise<{ node: RunningCli; demo: T }> {
  ensureWebBuild();
  mkdirSync(SHOTS, { recursive: true });
  const node = await startCli(['demo', '--data', dataDir, '--port', '0', '--json'], { timeoutMs: 180_000 });
  const deadline = Date.now() + 180_000;
  while (!node.output().stdout.trimEnd().endsWith('}')) {
    if (Date.now() > deadline) throw new Error(`no demo JSON: ${node.output().stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { node, demo: JSON.parse(node.output().stdout) as T };
}

/** Clicks `refresh` until `locator text` shows up (for state that reaches the ledger a moment later). */
export async function refreshUntil(
  page: Page,
  refresh: () => Promise<void>,
  selector: string,
  text: RegExp,
): Promise<void> {
  const deadline = Date.now() + STEP_MS;
  // Each attempt waits longer (3 s, 6 s, 12 s, then 15 s): on a loaded machine a refresh can take
  // more than 3 s to fetch and check what it shows, and a refresh clicked meanwhile starts it over.
  for (let attempt = 0; ; attempt++) {
    try {
      await page
        .locator(selector)
        .filter({ hasText: text })
        .first()
        .waitFor({ state: 'visible', timeout: Math.min(3_000 * 2 ** attempt, 15_000) });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await refresh();
    }
  }
}
