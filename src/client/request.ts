import { ClientErrorCode, RoamApiError } from './errors.js';

export interface JsonRequest {
  readonly fetchFn: typeof fetch;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly body?: unknown;
  /** Access token sent as `Authorization: Bearer …`. */
  readonly bearer?: string;
  /** More request headers (e.g. a patient proof). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/**
 * One JSON request to a Roam node: a 2xx JSON object is the answer; an error body
 * `{ error: { code, message } }` becomes a RoamApiError with the node's code; a timeout, a
 * transport failure or a body that is not JSON becomes TIMEOUT, NETWORK_ERROR or BAD_RESPONSE,
 * naming the URL.
 */
export async function requestJson<T>({
  fetchFn,
  method,
  url,
  body,
  bearer,
  headers: extra,
  timeoutMs,
}: JsonRequest): Promise<T> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  let status: number;
  let text: string;
  try {
    const headers: Record<string, string> = { ...extra, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (bearer !== undefined) headers['authorization'] = `Bearer ${bearer}`;
    const init: RequestInit = { method, headers, signal: controller.signal };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetchFn(url, init);
    status = response.status;
    text = await response.text();
  } catch (error) {
    if (timedOut) {
      throw new RoamApiError(
        0,
        ClientErrorCode.TIMEOUT,
        `${method} ${url}: no answer within ${timeoutMs} ms`,
        { cause: error },
      );
    }
    throw new RoamApiError(
      0,
      ClientErrorCode.NETWORK_ERROR,
      `${method} ${url}: ${describeNetworkError(error)}`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RoamApiError(
      status,
      ClientErrorCode.BAD_RESPONSE,
      `${method} ${url} answered ${status} with a body that is not JSON`,
    );
  }
  if (status >= 200 && status < 300) {
    if (typeof parsed !== 'object' || parsed === null) {
      throw new RoamApiError(
        status,
        ClientErrorCode.BAD_RESPONSE,
        `${method} ${url} answered ${status} with a body that is not a JSON object`,
      );
    }
    return parsed as T;
  }
  const detail = errorDetail(parsed);
  if (detail) throw new RoamApiError(status, detail.code, detail.message);
  throw new RoamApiError(
    status,
    ClientErrorCode.BAD_RESPONSE,
    `${method} ${url} answered ${status} without an error body`,
  );
}

function errorDetail(value: unknown): { code: string; message: string } | undefined {
  if (typeof value !== 'object' || value === null || !('error' in value)) return undefined;
  const error = value.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== 'string') return undefined;
  return { code, message: typeof message === 'string' ? message : code };
}

/** fetch's TypeError says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause. */
function describeNetworkError(error: unknown): string {
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return `cannot connect (${cause.code})`;
  if (cause && typeof cause.message === 'string') return `cannot connect (${cause.message})`;
  return `cannot connect (${error instanceof Error ? error.message : String(error)})`;
}

