/**
 * Validation of path and query parameters: every failure is a VALIDATION_FAILED HttpError whose
 * message names the parameter and what it must be.
 */
import { z } from 'zod';
import { HttpError } from './errors.js';

/** Longest DID accepted in a path (an Ed25519 did:key is 56 characters). */
export const MAX_DID_LENGTH = 128;
const DID_PATTERN = /^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$/;

/** A decimal integer in [min, max], given as a query or path string. */
export function intString(min: number, max: number) {
  const message = `must be an integer from ${min} to ${max}`;
  return z
    .string({ error: message })
    .refine((s) => /^\d{1,16}$/.test(s) && Number(s) >= min && Number(s) <= max, { error: message })
    .transform(Number);
}

export const txIdSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, { error: 'must be 64 lowercase hex characters' });

export const didSchema = z
  .string()
  .max(MAX_DID_LENGTH, { error: `must be a DID of at most ${MAX_DID_LENGTH} characters` })
  .regex(DID_PATTERN, { error: 'must be a DID (did:<method>:<id>)' });

/**
 * Parses `value` (Fastify's `request.params` or `request.query`) with `schema`, or throws
 * VALIDATION_FAILED naming the first bad parameter, e.g. `query "limit" must be an integer from 1 to 100`.
 */
export function parseInput<S extends z.ZodType>(
  where: 'path' | 'query',
  schema: S,
  value: unknown,
): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new HttpError('VALIDATION_FAILED', `${where} is invalid`);
  if (issue.code === 'unrecognized_keys') {
    const name = issue.keys[0] ?? '';
    throw new HttpError('VALIDATION_FAILED', `${where} parameter "${shorten(name)}" is not known`);
  }
  const name = issue.path.map(String).join('.');
  const message = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
  throw new HttpError('VALIDATION_FAILED', `${where} parameter "${shorten(name)}" ${message}`);
}

function shorten(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
