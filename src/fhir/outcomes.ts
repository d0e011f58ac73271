/**
 * OperationOutcomes of the FHIR API, after Medplum's `packages/core/src/outcomes.ts`: constant
 * outcomes and factories, each marked by a stable `id`, and ONE mapping from outcome to HTTP
 * status (`statusOf`). Every error of this layer is a `FhirError` carrying its outcome; the HTTP
 * layer answers `statusOf(error.outcome)` with the outcome as the body.
 *
 * Outcomes never carry internals (stack traces, SQL, key ids): `serverError` is a fixed text and
 * the details of the failure belong in the node's log.
 *
 * @example
 * throw new FhirError(badRequest('Unknown search parameter "foo" for Observation', 'foo'));
 * // HTTP layer: reply.code(statusOf(err.outcome)).send(err.outcome)
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/** The `id` that marks each kind of outcome; `statusOf` maps it to the HTTP status. Never reused. */
export const OutcomeId = {
  OK: 'ok',
  CREATED: 'created',
  BAD_REQUEST: 'bad-request',
  UNAUTHORIZED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not-found',
  CONFLICT: 'conflict',
  GONE: 'gone',
  PRECONDITION_FAILED: 'precondition-failed',
  TOO_LARGE: 'too-large',
  NOT_SUPPORTED: 'not-supported',
  SERVER_ERROR: 'server-error',
  UNAVAILABLE: 'unavailable',
} as const;
export type OutcomeId = (typeof OutcomeId)[keyof typeof OutcomeId];

/** HTTP status of each kind of outcome: the one mapping. */
export const OUTCOME_STATUS = {
  [OutcomeId.OK]: 200,
  [OutcomeId.CREATED]: 201,
  [OutcomeId.BAD_REQUEST]: 400,
  [OutcomeId.UNAUTHORIZED]: 401,
  [OutcomeId.FORBIDDEN]: 403,
  [OutcomeId.NOT_FOUND]: 404,
  [OutcomeId.CONFLICT]: 409,
  [OutcomeId.GONE]: 410,
  [OutcomeId.PRECONDITION_FAILED]: 412,
  [OutcomeId.TOO_LARGE]: 413,
  // Understood but not processed: an unsupported resource type in a Bundle entry, a conditional
  // create, PATCH, DELETE. (An unsupported type in the URL is a 404: see `unknownType`.)
  [OutcomeId.NOT_SUPPORTED]: 422,
  [OutcomeId.SERVER_ERROR]: 500,
  // A node this one depends on (a custodian of the record) did not answer.
  [OutcomeId.UNAVAILABLE]: 503,
} as const satisfies Record<OutcomeId, number>;

function outcome(
  id: OutcomeId,
  severity: OperationOutcomeIssue['severity'],
  code: OperationOutcomeIssue['code'],
  text: string,
  expression?: string | readonly string[],
): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity, code, details: { text } };
  if (expression !== undefined)
    issue.expression = typeof expression === 'string' ? [expression] : [...expression];
  return { resourceType: 'OperationOutcome', id, issue: [issue] };
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

/** 200: all OK (informational). */
export const allOk: OperationOutcome = deepFreeze(
  outcome(OutcomeId.OK, 'information', 'informational', 'All OK'),
);

/** 401: no or invalid bearer token. */
export const unauthorized: OperationOutcome = deepFreeze(
  outcome(OutcomeId.UNAUTHORIZED, 'error', 'login', 'Unauthorized'),
);

/** 500: an unexpected failure. Fixed text: the cause goes to the node's log, never to the client. */
export const serverError: OperationOutcome = deepFreeze(
  outcome(OutcomeId.SERVER_ERROR, 'error', 'exception', 'Internal server error'),
);

/**
 * 400: the request is invalid. `expression` names the bad input (a search parameter, a FHIRPath
 * such as `Bundle.entry[3].request.url`).
 */
export function badRequest(details: string, expression?: string | readonly string[]): OperationOutcome {
  return outcome(OutcomeId.BAD_REQUEST, 'error', 'invalid', details, expression);
}

/** 404: no resource `type/id` (or no version `vid` of it). */
export function notFound(type: string, id: string, vid?: string): OperationOutcome {
  const what = vid === undefined ? `${type}/${id}` : `${type}/${id}/_history/${vid}`;
  return outcome(OutcomeId.NOT_FOUND, 'error', 'not-found', `${what} not found`);
}

/** 404: the resource type in the URL is not one this server stores (FHIR http: "resource type not supported"). */
export function unknownType(type: string): OperationOutcome {
  return outcome(
    OutcomeId.NOT_FOUND,
    'error',
    'not-supported',
    `Resource type "${type}" is not supported by this server`,
  );
}

/** 410: `type/id` existed and was erased. */
export function gone(type: string, id: string): OperationOutcome {
  return outcome(OutcomeId.GONE, 'error', 'deleted', `${type}/${id} was erased`);
}

/** 403: authenticated, but the principal may not do this (no covering consent grant, wrong role…). */
export function forbidden(details: string): OperationOutcome {
  return outcome(OutcomeId.FORBIDDEN, 'error', 'forbidden', details);
}

/** 409: the request conflicts with the current state (e.g. an id already taken). */
export function conflict(details: string): OperationOutcome {
  return outcome(OutcomeId.CONFLICT, 'error', 'conflict', details);
}

/** 412: If-Match names another version than the current one. */
export function preconditionFailed(details: string): OperationOutcome {
  return outcome(OutcomeId.PRECONDITION_FAILED, 'error', 'conflict', details, 'If-Match');
}

/** 422: understood, but this server does not do it (an unsupported resource type in a Bundle, PATCH…). */
export function notSupported(details: string, expression?: string | readonly string[]): OperationOutcome {
  return outcome(OutcomeId.NOT_SUPPORTED, 'error', 'not-supported', details, expression);
}

/** 413: the request is larger than a limit (Bundle entries, page size…). */
export function tooLarge(details: string): OperationOutcome {
  return outcome(OutcomeId.TOO_LARGE, 'error', 'too-costly', details);
}

/** 503: a node this answer depends on (the custodian of a record) was not reached. */
export function unavailable(details: string): OperationOutcome {
  return outcome(OutcomeId.UNAVAILABLE, 'error', 'transient', details);
}

/**
 * A page is incomplete (e.g. a custodian was not reached): a warning carried as a Bundle entry
 * with `search.mode` "outcome" (no `id`: it is not an answer's status).
 */
export function incompletePage(details: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'warning', code: 'incomplete', details: { text: details } }],
  };
}

/**
 * The HTTP status of an outcome: by its `id` (see OUTCOME_STATUS); an outcome without a known id
 * is 500 when its first issue is an `exception`, else 400 (as Medplum's `getStatus`).
 */
export function statusOf(outcome: OperationOutcome): number {
  const id = outcome.id;
  if (id !== undefined && Object.hasOwn(OUTCOME_STATUS, id)) return OUTCOME_STATUS[id as OutcomeId];
  return outcome.issue?.[0]?.code === 'exception' ? 500 : 400;
}

/** The text of an outcome's issues, for logs and `Error.message`. */
export function outcomeText(outcome: OperationOutcome): string {
  const texts = (outcome.issue ?? []).map((issue) => issue.details?.text ?? issue.diagnostics ?? issue.code);
  return texts.length > 0 ? texts.join('; ') : 'Unknown error';
}

/** True when `value` looks like an OperationOutcome. */
export function isOperationOutcome(value: unknown): value is OperationOutcome {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { resourceType?: unknown }).resourceType === 'OperationOutcome'
  );
}

/** The error every function of `src/fhir` throws: it carries the outcome to answer with. */
export class FhirError extends Error {
  override readonly name = 'FhirError';
  constructor(
    readonly outcome: OperationOutcome,
    options?: { cause?: unknown },
  ) {
    super(outcomeText(outcome), options);
  }

  /** The HTTP status of the outcome (`statusOf`). */
  get status(): number {
    return statusOf(this.outcome);
  }
}

/**
 * The outcome to answer for any thrown value: a FhirError's own outcome, else `serverError`
 * (the thrown value is for the log only).
 */
export function toOutcome(error: unknown): OperationOutcome {
  return error instanceof FhirError ? error.outcome : serverError;
}
