/**
 * References inside a summary: a document must stand on its own, so every reference either
 * points to an entry of the Bundle (rewritten to that entry's `urn:uuid:` fullUrl) or does not
 * point anywhere (kept as a display-only reference when it has a display, removed otherwise).
 * Nothing of the node's own URLs or record ids is left for a reader to follow.
 */

/** `Type/id` of a literal reference (relative, absolute or versioned), or undefined. */
export function referenceKey(reference: string): { type: string; id: string } | undefined {
  const match = /(?:^|\/)([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(
    reference,
  );
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return { type: match[1], id: match[2] };
}

export interface RewriteOptions {
  /** The fullUrl of the entry `reference` points to, or undefined when it leaves the Bundle. */
  readonly resolve: (reference: string) => string | undefined;
  /**
   * Displays for references the resource cannot do without (FHIR cardinality 1..1, e.g.
   * `medicationReference`) when they leave the Bundle without a display of their own.
   */
  readonly requiredDisplays?: Readonly<Record<string, string>>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A Reference is an object whose `reference` is a string (other members: display, type, …). */
function rewriteReference(
  value: Record<string, unknown>,
  property: string,
  options: RewriteOptions,
): Record<string, unknown> | undefined {
  const reference = value['reference'] as string;
  if (reference.startsWith('#')) return value; // a contained resource: stays inside the resource
  const target = options.resolve(reference);
  if (target !== undefined) return { ...value, reference: target };
  const display =
    typeof value['display'] === 'string' ? value['display'] : options.requiredDisplays?.[property];
  return display === undefined ? undefined : { display };
}

function rewriteValue(value: unknown, property: string, options: RewriteOptions): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => rewriteValue(item, property, options)).filter((item) => item !== undefined);
  }
  if (!isObject(value)) return value;
  if (typeof value['reference'] === 'string') return rewriteReference(value, property, options);
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    const rewritten = rewriteValue(member, key, options);
    // An element whose every reference left the Bundle goes (an empty array is not valid FHIR).
    if (rewritten === undefined || (Array.isArray(rewritten) && rewritten.length === 0)) continue;
    out[key] = rewritten;
  }
  return out;
}

/**
 * A copy of `resource` with its references rewritten (see the module comment) and its `meta`
 * dropped (version ids and source URLs are this node's bookkeeping, not the patient's summary).
 */
export function rewriteReferences<T extends object>(resource: T, options: RewriteOptions): T {
  const copy: Record<string, unknown> = { ...(resource as Record<string, unknown>) };
  delete copy['meta'];
  return rewriteValue(copy, '', options) as T;
}
