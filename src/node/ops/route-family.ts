/**
 * The route family of a request: the only thing about its URL that metrics and logs name. A
 * family is one of a fixed set of constants, so no DID, record id or query ever becomes a label
 * value (Prometheus would keep each as a series of its own, and a scrape would list them).
 */

/** Route families, by the first segment of the path (`/fhir/R4/Patient/123` → `fhir`). */
export const ROUTE_FAMILIES = ['fhir', 'ledger', 'auth', 'vault', 'node', 'shl', 'ops', 'web'] as const;
export type RouteFamily = (typeof ROUTE_FAMILIES)[number];

/** Paths of the operator endpoints (metrics, liveness, readiness): family `ops`. */
export const OPS_PATHS = ['/metrics', '/healthz', '/readyz'] as const;

const API_FAMILIES: ReadonlySet<string> = new Set(['fhir', 'ledger', 'auth', 'vault', 'node', 'shl']);

/**
 * The family of `url` (a request URL, query included or not). Anything that is not an API or
 * operator path is the web app (its pages, assets and every unknown path).
 */
export function routeFamilyOf(url: string): RouteFamily {
  const path = url.split('?', 1)[0] ?? '';
  if ((OPS_PATHS as readonly string[]).includes(path)) return 'ops';
  const first = path.split('/', 2)[1] ?? '';
  return API_FAMILIES.has(first) ? (first as RouteFamily) : 'web';
}

/** The class of an HTTP status (`2xx` … `5xx`). */
export function statusClassOf(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}
