/**
 * What the node's logs may say. Every line is JSON (pino, through Fastify) and is scrubbed of
 * what must never reach a log: DIDs (a patient's is a pseudonym that links every entry about
 * them), bearer tokens, keys and other long encoded secrets. Requests are logged by method, route
 * pattern, status and duration only — never the URL (ids, query), headers or bodies.
 */
import type { FastifyRequest, FastifyServerOptions } from 'fastify';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

/** Where and how much a node logs. */
export interface NodeLogOptions {
  readonly level?: LogLevel;
  /** Where the JSON lines go (default: stdout; `roam start` sends them to stderr). */
  readonly stream?: { write(line: string): unknown };
}

const SCRUBBERS: ReadonlyArray<readonly [RegExp, string]> = [
  // did:key:z6Mk…, did:web:…: any DID, whoever's it is.
  [/did:[a-z0-9]+:[A-Za-z0-9._:%-]+/g, 'did:…'],
  // A JWT (our access tokens) or any three-part base64url token.
  [/[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, '<token>'],
  // RFC 6750 b64token characters after "Bearer", whatever the token's shape.
  [/\b(bearer)\s+[A-Za-z0-9._~+/-]+=*/gi, '$1 <token>'],
  // Keys, hashes, seeds and ciphertexts in base64(url) or hex: any long unbroken run.
  [/[A-Za-z0-9+/_=-]{32,}/g, '<redacted>'],
];

/** `text` without DIDs, tokens or long encoded values. */
export function scrubLogText(text: string): string {
  let scrubbed = text;
  for (const [pattern, replacement] of SCRUBBERS) scrubbed = scrubbed.replace(pattern, replacement);
  return scrubbed;
}

/** Scrubs every string in a logged object (a shallow copy; nested objects and arrays too). */
function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubLogText(value);
  // Errors keep their type: the `err` serializer scrubs them (their fields are not enumerable).
  if (depth > 4 || value === null || typeof value !== 'object' || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scrubValue(item, depth + 1)]));
}

/** An error as a log field: its type, code, scrubbed message and stack frames (no message in them). */
function errorField(error: unknown): {
  type: string;
  message: string;
  stack: string;
  [key: string]: unknown;
} {
  if (!(error instanceof Error)) return { type: typeof error, message: '', stack: '' };
  const code = (error as { code?: unknown }).code;
  const frames = (error.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at '));
  return {
    type: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: scrubLogText(error.message),
    stack: frames.join('\n'),
  };
}

/**
 * The `logger` option of Fastify for a node: false for none, else pino at `options.level`, with
 * serializers that keep only what is named above and a hook that scrubs every message and field.
 */
export function fastifyLoggerOptions(
  options: boolean | NodeLogOptions,
): NonNullable<FastifyServerOptions['logger']> {
  if (options === false) return false;
  if (options === true) return fastifyLoggerOptions({});
  return {
    level: options.level ?? DEFAULT_LOG_LEVEL,
    ...(options.stream === undefined ? {} : { stream: options.stream }),
    serializers: {
      // Only in case some code logs `req`/`res`: Fastify's own request lines are off (see request-log.ts).
      req: (request: FastifyRequest) => ({ method: request.method, route: request.routeOptions.url ?? null }),
      res: (reply: { statusCode?: number }) => ({ status: reply.statusCode }),
      err: errorField,
    },
    hooks: {
      logMethod(args: unknown[], method: (...args: unknown[]) => void) {
        method.apply(
          this,
          args.map((arg) => scrubValue(arg)),
        );
      },
    },
  };
}
