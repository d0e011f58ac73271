/**
 * Token keys: the exact strings that token search compares, in index entries and in queries.
 * The encrypted repository keys these strings (e.g. HMAC(key, "system|code")), so the same
 * function must build both sides.
 *
 * FHIR R4 search §3.1.1.4.7 (token) gives four forms of a query value, and a coding with
 * system S and code C is indexed under each form that can select it:
 *
 * | query          | selects codings           | indexed as            |
 * |----------------|---------------------------|-----------------------|
 * | `S\|C`         | system S, code C          | `S\|C`                |
 * | `\|C`          | no system, code C         | `\|C` (coding w/o system) |
 * | `S\|`          | system S, any code        | `S\|`                 |
 * | `C`            | code C, any system        | `C`                   |
 *
 * A `|` or `\` inside a system or code is escaped with `\` (FHIR search escaping), so the forms
 * never collide: a code-only key has no unescaped `|`, the others exactly one.
 */

/** Escapes `\` and `|` so that one unescaped `|` separates system and code. */
export function escapeTokenPart(part: string): string {
  return part.replaceAll('\\', '\\\\').replaceAll('|', '\\|');
}

/**
 * Index keys of a coding (or identifier: `system`, `value`). No key without a code: a bare
 * system selects nothing in FHIR.
 */
export function codingKeys(system: string | undefined, code: string | undefined): string[] {
  if (code === undefined || code === '') return [];
  const c = escapeTokenPart(code);
  if (system === undefined || system === '') return [`|${c}`, c];
  const s = escapeTokenPart(system);
  return [`${s}|${c}`, `${s}|`, c];
}

/** The key of a query token: `system` undefined = any system; '' = no system; `code` undefined = any code. */
export function queryKey(system: string | undefined, code: string | undefined): string {
  if (system === undefined) return escapeTokenPart(code ?? '');
  return `${escapeTokenPart(system)}|${code === undefined ? '' : escapeTokenPart(code)}`;
}
