/**
 * A small typed client of a node's FHIR R4 API (`/fhir/R4`) with a bearer token from `signIn`.
 * Uses only `fetch`, like the rest of the client. An error answer (an OperationOutcome) becomes a
 * FhirApiError whose code is the first issue's code in upper case (INVALID, FORBIDDEN, …) and
 * whose message is its text followed by the element it names.
 *
 * @example
 * const { access_token } = await signIn({ baseUrl }, wallet);
 * const fhir = new FhirClient(baseUrl, access_token);
 * const bundle = await fhir.search('Observation', { patient: 'Patient/p1' });
 */
import { ClientErrorCode, RoamApiError } from './errors.js';
import { DEFAULT_CLIENT_TIMEOUT_MS } from './http-client.js';

/** The prefix of the FHIR API on a node. */
export const FHIR_API_PREFIX = '/fhir/R4';

/** The system of a Patient identifier holding the patient's DID. */
export const DID_IDENTIFIER_SYSTEM = 'urn:ietf:rfc:3986';

/** A FHIR resource, loosely typed: what the CLI reads and writes. */
export interface FhirResource {
  readonly resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface OperationOutcomeIssue {
  readonly severity?: string;
  readonly code?: string;
  readonly diagnostics?: string;
  readonly details?: { readonly text?: string };
  readonly expression?: readonly string[];
}

export interface OperationOutcome {
  readonly resourceType: 'OperationOutcome';
  readonly issue?: readonly OperationOutcomeIssue[];
}

export interface BundleEntry {
  fullUrl?: string;
  resource?: FhirResource;
  request?: { method?: string; url?: string; [key: string]: unknown };
  response?: { status?: string; location?: string; etag?: string; outcome?: OperationOutcome };
  [key: string]: unknown;
}

export interface Bundle extends FhirResource {
  readonly resourceType: 'Bundle';
  type?: string;
  total?: number;
  link?: Array<{ relation: string; url: string }>;
  entry?: BundleEntry[];
}

/** A created resource and where the node says it is. */
export interface Created<T extends FhirResource = FhirResource> {
  readonly resource: T;
  /**
   * The Location header (`<base>/<Type>/<id>/_history/<vid>`), if any, on this client's base URL
   * (a node may name its configured URL, e.g. with the port 0 it was initialized with).
   */
  readonly location: string | undefined;
  /** Any response header naming the ledger anchor of the version (`x-roam-anchor…`), if any. */
  readonly anchor: string | undefined;
}

/** The resources of a search or `$everything` (every page), and the node's warnings about it. */
export interface SearchResults {
  readonly resources: FhirResource[];
  /** OperationOutcome entries (`search.mode` `outcome`): e.g. a custodian that was not reached. */
  readonly outcomes: OperationOutcome[];
}

/** A failed FHIR call: `outcome` is the node's OperationOutcome when it sent one. */
export class FhirApiError extends RoamApiError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly outcome?: OperationOutcome,
  ) {
    super(status, code, message);
  }
}

export interface FhirClientOptions {
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

/** The code and text of an OperationOutcome: `INVALID`, `Observation.subject: …`. */
export function describeOutcome(outcome: OperationOutcome): { code: string; message: string } {
  const issue =
    outcome.issue?.find((i) => i.severity === 'error' || i.severity === 'fatal') ?? outcome.issue?.[0];
  const code = (issue?.code ?? 'error').toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  const text = issue?.diagnostics ?? issue?.details?.text ?? code;
  const where = (issue?.expression ?? []).filter((e) => !text.includes(e));
  const more = (outcome.issue?.length ?? 0) > 1 ? ` (+${(outcome.issue?.length ?? 1) - 1} more issues)` : '';
  return { code, message: `${text}${where.length > 0 ? ` (element ${where.join(', ')})` : ''}${more}` };
}

export class FhirClient {
  readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  /** `nodeUrl` is the node's base URL (e.g. http://127.0.0.1:8080); `/fhir/R4` is appended. */
  constructor(
    nodeUrl: string,
    private readonly token: string,
    options: FhirClientOptions = {},
  ) {
    this.base = `${nodeUrl.replace(/\/+$/, '')}${FHIR_API_PREFIX}`;
    this.fetchFn = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
  }

  /** GET `<Type>?<params>`: one searchset page. */
  search(type: string, params: Readonly<Record<string, string>> = {}): Promise<Bundle> {
    return this.get<Bundle>(this.searchUrl(type, params));
  }

  /** Every resource of a search, following `link next` (at most `maxPages` pages). */
  async searchAll(
    type: string,
    params: Readonly<Record<string, string>> = {},
    maxPages = 1000,
  ): Promise<FhirResource[]> {
    const entries = await this.allEntries(this.searchUrl(type, params), maxPages);
    return entries.flatMap((e) => (e.resource ? [e.resource] : []));
  }

  /**
   * GET `Patient/<id>/$everything`, every page: the patient's records (those other custodians keep
   * included, when the node roams) apart from the OperationOutcomes the node adds (`search.mode`
   * `outcome`, e.g. for a custodian it did not reach).
   */
  async everything(patientId: string, maxPages = 1000): Promise<SearchResults> {
    const entries = await this.allEntries(
      `${this.base}/Patient/${encodeURIComponent(patientId)}/$everything`,
      maxPages,
    );
    const resources: FhirResource[] = [];
    const outcomes: OperationOutcome[] = [];
    for (const entry of entries) {
      const mode = (entry['search'] as { mode?: unknown } | undefined)?.mode;
      if (mode === 'outcome' && isOutcome(entry.resource)) outcomes.push(entry.resource);
      else if (entry.resource) resources.push(entry.resource);
    }
    return { resources, outcomes };
  }

  /**
   * GET `Patient/<id>/$summary`: the patient's International Patient Summary, a FHIR `document`
   * Bundle, with section titles in `language` (an `Accept-Language` value, e.g. "de") when given.
   */
  async summary(patientId: string, options: { readonly language?: string } = {}): Promise<Bundle> {
    const headers = options.language === undefined ? {} : { 'accept-language': options.language };
    return (await this.call<Bundle>('GET', `${this.base}/Patient/${encodeURIComponent(patientId)}/$summary`, undefined, headers)).body;
  }

  /** The entries of a searchset and of the pages after it (`link next`, at most `maxPages` pages). */
  private async allEntries(url: string, maxPages: number): Promise<BundleEntry[]> {
    const out: BundleEntry[] = [];
    let page = await this.get<Bundle>(url);
    for (let n = 1; ; n++) {
      out.push(...(page.entry ?? []));
      const next = page.link?.find((l) => l.relation === 'next')?.url;
      if (next === undefined || n >= maxPages) return out;
      page = await this.get<Bundle>(this.sameOrigin(next));
    }
  }

  private searchUrl(type: string, params: Readonly<Record<string, string>>): string {
    const query = new URLSearchParams(params).toString();
    return `${this.base}/${type}${query === '' ? '' : `?${query}`}`;
  }

  /** GET `<Type>/<id>`. */
  read(type: string, id: string): Promise<FhirResource> {
    return this.get(`${this.base}/${type}/${encodeURIComponent(id)}`);
  }

  /** POST `<Type>`: creates a resource. */
  async create<T extends FhirResource>(resource: T): Promise<Created<T>> {
    const { body, headers } = await this.call<T>('POST', `${this.base}/${resource.resourceType}`, resource);
    const anchorHeader = [...headers.keys()].find((k) => k.startsWith('x-roam-anchor'));
    const location = headers.get('location');
    return {
      resource: body,
      location: location === null ? undefined : this.sameOrigin(location),
      anchor: anchorHeader === undefined ? undefined : (headers.get(anchorHeader) ?? undefined),
    };
  }

  /** POST a transaction or batch Bundle to the base (`?_import=true` with `importMode`). */
  async transaction(bundle: Bundle, options: { readonly import?: boolean } = {}): Promise<Bundle> {
    const url = `${this.base}${options.import ? '?_import=true' : ''}`;
    return (await this.call<Bundle>('POST', url, bundle)).body;
  }

  /** GET any URL under the base; null when the node has no such route (404 not-found outcome). */
  async getOptional<T>(path: string): Promise<T | null> {
    try {
      return await this.get<T>(`${this.base}/${path}`);
    } catch (error) {
      if (error instanceof FhirApiError && error.status === 404) return null;
      throw error;
    }
  }

  private async get<T>(url: string): Promise<T> {
    return (await this.call<T>('GET', url)).body;
  }

  /** A next link's path and query on this client's base (the node may name another host). */
  private sameOrigin(url: string): string {
    try {
      const link = new URL(url);
      const at = link.pathname.indexOf(FHIR_API_PREFIX);
      return at < 0 ? url : `${this.base}${link.pathname.slice(at + FHIR_API_PREFIX.length)}${link.search}`;
    } catch {
      return url;
    }
  }

  private async call<T>(
    method: 'GET' | 'POST',
    url: string,
    body?: unknown,
    extraHeaders: Readonly<Record<string, string>> = {},
  ): Promise<{ body: T; headers: Headers }> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    let response: Response;
    let text: string;
    try {
      const headers: Record<string, string> = {
        ...extraHeaders,
        accept: 'application/fhir+json',
        authorization: `Bearer ${this.token}`,
      };
      if (body !== undefined) headers['content-type'] = 'application/fhir+json';
      response = await this.fetchFn(url, {
        method,
        headers,
        signal: controller.signal,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      text = await response.text();
    } catch (error) {
      const code = timedOut ? ClientErrorCode.TIMEOUT : ClientErrorCode.NETWORK_ERROR;
      const cause = (error as { cause?: { code?: unknown } }).cause?.code;
      const why = timedOut
        ? `no answer within ${this.timeoutMs} ms`
        : `cannot connect (${typeof cause === 'string' ? cause : (error as Error).message})`;
      throw new FhirApiError(0, code, `${method} ${url}: ${why}`);
    } finally {
      clearTimeout(timer);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new FhirApiError(
        response.status,
        ClientErrorCode.BAD_RESPONSE,
        `${method} ${url} answered ${response.status} with a body that is not JSON`,
      );
    }
    if (response.ok) return { body: parsed as T, headers: response.headers };
    if (isOutcome(parsed)) {
      const { code, message } = describeOutcome(parsed);
      throw new FhirApiError(response.status, code, message, parsed);
    }
    throw new FhirApiError(
      response.status,
      ClientErrorCode.BAD_RESPONSE,
      `${method} ${url} answered ${response.status} without an OperationOutcome`,
    );
  }
}

export function isOutcome(value: unknown): value is OperationOutcome {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { resourceType?: unknown }).resourceType === 'OperationOutcome'
  );
}

/** The `<Type>/<id>` of a location such as `<base>/Observation/o1/_history/1` or `Observation/o1/_history/1`. */
export function referenceOfLocation(location: string): string | undefined {
  const match = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?\/?$/.exec(location);
  return match === null ? undefined : `${match[1]}/${match[2]}`;
}
