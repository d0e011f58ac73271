/**
 * How the CLI speaks: one JSON object on stdout with `--json`, readable lines otherwise, and every
 * failure as one line `roam: <CODE>: <message>` on stderr (exit 2 for usage errors, 1 otherwise).
 */

/** Codes of failures the CLI itself detects (other layers bring their own codes). */
export const CliErrorCode = {
  /** Bad or missing arguments: exit status 2. */
  USAGE: 'USAGE',
  /** A transaction was committed with a result code other than OK. */
  TX_REJECTED: 'TX_REJECTED',
  /** A block, transaction, grant or file that was asked for does not exist. */
  NOT_FOUND: 'NOT_FOUND',
  /** The node at --node cannot be reached. */
  NODE_UNREACHABLE: 'NODE_UNREACHABLE',
  /** An inclusion proof does not check out. */
  PROOF_INVALID: 'PROOF_INVALID',
  /** A wallet file cannot be read for its public header. */
  BAD_WALLET_FILE: 'BAD_WALLET_FILE',
  /** A bug: an error nobody expected. */
  INTERNAL: 'INTERNAL',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure the CLI reports as `roam: <code>: <message>`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  /** A CliErrorCode, or another layer's code (e.g. a ledger result code) passed on as is. */
  constructor(
    readonly code: CliErrorCode | (string & {}),
    message: string,
  ) {
    super(message);
  }

  get exitCode(): number {
    return this.code === CliErrorCode.USAGE ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/** Options every command has. */
export interface OutputOptions {
  readonly json?: boolean;
}

/**
 * Prints a command's result: `data` as one JSON object with `--json`, else the human `lines`.
 * `lines` is a function so that human formatting runs only when needed.
 */
export function emit(options: OutputOptions, data: object, lines: () => readonly string[]): void {
  if (options.json) {
    process.stdout.write(JSON.stringify(data) + '\n');
  } else {
    const text = lines();
    if (text.length > 0) process.stdout.write(text.join('\n') + '\n');
  }
}

/** A left-aligned text table with a header row and a rule under it. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** `key: value` lines with the keys aligned. */
export function fields(entries: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${(k + ':').padEnd(width + 1)} ${v}`);
}

/** The code and message of any error, for the one-line report. */
export function describeError(error: unknown): { code: string; message: string; expected: boolean } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code)) {
      return { code, message: oneLine(error.message), expected: true };
    }
    return { code: CliErrorCode.INTERNAL, message: oneLine(error.message), expected: false };
  }
  return { code: CliErrorCode.INTERNAL, message: oneLine(String(error)), expected: false };
}

/**
 * Reports a failure: `roam: <CODE>: <message>` on stderr (and, with --json, `{ "error": … }` on
 * stdout), and returns the exit status. Stack traces only for unexpected errors with ROAM_DEBUG=1.
 */
export function reportError(error: unknown, json: boolean, debug: boolean): number {
  const { code, message, expected } = describeError(error);
  if (json) process.stdout.write(JSON.stringify({ error: { code, message } }) + '\n');
  process.stderr.write(`roam: ${code}: ${message}\n`);
  if (!expected && debug && error instanceof Error && error.stack) process.stderr.write(error.stack + '\n');
  return error instanceof CliError ? error.exitCode : EXIT_FAILURE;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** An ISO 8601 date-time (UTC, no milliseconds) for a time in ms, or `never` for null. */
export function isoTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return 'never';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
