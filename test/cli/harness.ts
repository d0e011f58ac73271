/**
 * Runs the real `roam` CLI as a child process (`node --import tsx src/cli/main.ts`, no build),
 * with ROAM_PASSPHRASE set and the test-only fast wallet KDF.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  didFromSigningKey,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  toBase64Url,
} from '../../src/crypto/index.js';
import { createTx, signTx, TxType, type SignedTx } from '../../src/ledger/index.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(REPO, 'src/cli/main.ts');
export const PASSPHRASE = 'cli test passphrase';

export interface CliResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Environment overrides; a value of undefined removes the variable. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Written to the child's stdin, which is then closed. */
  readonly input?: string;
  readonly timeoutMs?: number;
}

function childEnv(overrides: Readonly<Record<string, string | undefined>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ROAM_PASSPHRASE: PASSPHRASE, ROAM_TEST_FAST_KDF: '1' };
  // A parent test runner's own variables must not leak into the CLI's behaviour.
  delete env['NODE_TEST_CONTEXT'];
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export function spawnCli(args: readonly string[], options: RunOptions = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: REPO,
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs `roam <args>` to completion. */
export function roam(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin!.end(options.input ?? '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `roam ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolvePromise({ status, signal, stdout, stderr });
    });
  });
}

/** Runs `roam <args> --json` and parses its one JSON object. */
export async function roamJson<T = Record<string, unknown>>(
  args: readonly string[],
  options: RunOptions = {},
): Promise<T> {
  const result = await roam([...args, '--json'], options);
  if (result.status !== 0)
    throw new Error(`roam ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A `roam start` child process serving at `url`. */
export interface RunningCli {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything printed so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves with the exit status and signal once the process is gone. */
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns a long-running command (`start`, `demo`) and waits for the URL it prints. */
export function startCli(args: readonly string[], options: RunOptions = {}): Promise<RunningCli> {
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin!.end();
  const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.on('exit', (status, signal) => resolveExit({ status, signal })),
  );
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `roam ${args.join(' ')} printed no URL within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    const onData = () => {
      // Human output says "listening on <url>"; with --json the object carries "url".
      const match = /listening on (https?:\/\/\S+)/.exec(stdout) ?? /"url":"(https?:\/\/[^"]+)"/.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolvePromise({
        child,
        url: match[1]!,
        output: () => ({ stdout, stderr }),
        exited,
        stop(signal: NodeJS.Signals = 'SIGTERM') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    void exited.then(({ status, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(
          `roam ${args.join(' ')} exited (${status ?? signal}) before printing a URL\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    });
  });
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'roam-cli-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The chain id a running node reports (`GET /ledger/status`): what its transactions must name. */
export async function chainIdOf(url: string): Promise<string> {
  const response = await fetch(`${url}/ledger/status`);
  return ((await response.json()) as { chainId: string }).chainId;
}

/** A `identity.patient.register` envelope for chain `chainId` from a fresh key, built and signed in the test. */
export function patientRegistration(chainId: string): { did: string; envelope: SignedTx } {
  const signing = generateSigningKeyPair();
  const did = didFromSigningKey(signing.publicKey);
  const tx = createTx({
    chainId,
    type: TxType.PatientRegister,
    signer: did,
    payload: { encryptionKey: toBase64Url(generateEncryptionKeyPair().publicKey) },
  });
  return { did, envelope: signTx(tx, signing.secretKey) };
}

/** `roam consent grant` arguments: the patient grants organization `orgDid` write access to all general records. */
export function writeGrantArgs(orgDid: string): string[] {
  return ['consent', 'grant', '--to', orgDid, '--scope', 'all', '--classes', 'general', '--write'];
}

/** POST /ledger/tx?wait=commit with one envelope or a batch `{ txs }`; returns status and body. */
export async function postCommit(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${url}/ledger/tx?wait=commit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** `fn` over `items`, at most `limit` at a time (each CLI run is a process; the machine has few cores). */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
