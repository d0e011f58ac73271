/**
 * The one registry of HTTP error codes of the node's API outside `/fhir` (which answers with
 * FHIR OperationOutcomes instead), after Fastify's `lib/errors.js`. Every error body is
 * `{ "error": { "code": "<code>", "message": "<what went wrong, naming the bad input>" } }`.
 * Codes are stable API: never renamed, never reused for another meaning.
 * `test/http/errors.test.ts` checks the registry.
 */
import { ResultCode } from '../../ledger/codes.js';
import { LedgerError, LedgerErrorCode } from '../../ledger/errors.js';
import { NodeError, NodeErrorCode } from '../errors.js';

/** Every HTTP error code with its status. */
export const HTTP_ERRORS = {
  /** The body is not JSON, is empty, or carries a `__proto__`/`constructor` key. */
  MALFORMED_JSON: 400,
  /** A path parameter, query parameter or the body's outer shape is invalid (the message names it). */
  VALIDATION_FAILED: 400,
  /** A request Fastify refused before it reached a route (e.g. a Content-Length that does not match). */
  BAD_REQUEST: 400,
  /** No such route, block or transaction. */
  NOT_FOUND: 404,
  /** No party or organization has this DID on the ledger. */
  UNKNOWN_DID: 404,
  /** The DID is not a registered patient (same meaning as the ledger's result code of that name). */
  UNKNOWN_PATIENT: 404,
  /** A route that serves only a patient's own data (e.g. `GET /vault/records`) was called with another kind of token. */
  PATIENT_ONLY: 403,
  /**
   * A signed-in caller asked for ledger data outside its reach (another patient's consents, a
   * transaction that is not its own, sync without being a member): the same answer whether the
   * data exists or not. The read policy is in `src/node/http/ledger-access.ts`.
   */
  LEDGER_ACCESS_DENIED: 403,
  // Sign-in and access tokens (src/node/auth). Every 401 carries `WWW-Authenticate: Bearer`.
  /** POST /auth/token: the nonce was never issued for this DID, was already used, or expired. */
  CHALLENGE_UNKNOWN: 401,
  /**
   * POST /auth/token: the signature does not verify with the party's current signing key over the
   * challenge's message (same meaning as the ledger's result code of that name: 401 here because
   * it is the credential of a sign-in, not a part of a submitted transaction).
   */
  BAD_SIGNATURE: 401,
  /** No `Authorization: Bearer <token>` header on a route that requires one. */
  TOKEN_MISSING: 401,
  /** The access token is malformed, forged, or not issued by this node for the `roam` audience. */
  TOKEN_INVALID: 401,
  /** The access token's `exp` has passed (sign in again). */
  TOKEN_EXPIRED: 401,
  /** The token's party is no longer registered and active on the ledger with the same kind. */
  IDENTITY_REVOKED: 401,
  /** The token's party rotated its signing key since the token was issued (sign in again with the new key). */
  TOKEN_KEY_ROTATED: 401,
  // Node-to-node requests (src/node/roaming). Every 401 carries `WWW-Authenticate: RoamNode`.
  /** A node request lacks `x-roam-node`, `x-roam-time`, `x-roam-nonce` or `x-roam-signature`, or one is malformed. */
  NODE_AUTH_MISSING: 401,
  /** `x-roam-audience` is not this node's DID: the request was signed for another node. */
  NODE_WRONG_AUDIENCE: 401,
  /** `x-roam-node` is not a registered, active node of a member organization on this node's ledger. */
  NODE_UNKNOWN: 401,
  /** `x-roam-time` is more than the allowed skew (60 s) away from this node's clock. */
  NODE_REQUEST_STALE: 401,
  /**
   * `x-roam-nonce` was already used by that node within the time window (or, when more requests
   * came within the window than the node remembers nonces of, could not be checked: retry).
   */
  NODE_REQUEST_REPLAYED: 401,
  /** `x-roam-signature` does not verify with the node's current key over the request. */
  NODE_SIGNATURE_INVALID: 401,
  /** The requesting node sent more requests within the time window than one node may (retry later). */
  NODE_REQUEST_QUOTA: 429,
  /**
   * A custodian refused a node request on its own ledger state (same meaning as the ledger's
   * result codes of these names): the practitioner is not an active practitioner of the
   * requesting node's organization, or that organization holds no usable grant of the patient.
   */
  NOT_PRACTITIONER: 403,
  NO_GRANT: 403,
  GRANT_REVOKED: 403,
  GRANT_EXPIRED: 403,
  SCOPE_NOT_COVERED: 403,
  // Patient proofs (the patient's whole record from any node: src/node/roaming/patient-proof.ts),
  // checked by the node the patient asks and again by every custodian, on each one's own ledger.
  /**
   * The patient proof is malformed, not of the `roam-patient-records-v1` domain, names a party
   * that is not an active registered patient, or its signature does not verify under the
   * patient's current signing key (a rotated-out key, a forgery).
   */
  PATIENT_PROOF_INVALID: 403,
  /** The proof names another patient than the one signed in (or than the node request names). */
  PATIENT_PROOF_WRONG_PATIENT: 403,
  /** The proof was made for another node than the one that presents it. */
  PATIENT_PROOF_WRONG_NODE: 403,
  /** The proof's time is more than 60 s away from the checking node's clock. */
  PATIENT_PROOF_STALE: 403,
  /** The proof's nonce was already used at this node (each proof serves one request). */
  PATIENT_PROOF_REPLAYED: 403,
  /**
   * A node request names a break-glass access that, on the custodian's ledger and by its clock,
   * is unknown, not active (not yet, or ended), of another organization, practitioner or patient.
   */
  EMERGENCY_NOT_ACTIVE: 403,
  /** The record a node request names is not kept by this node (or not of that patient and type). */
  RECORD_NOT_FOUND: 404,
  /** The record a node request names is erased here (crypto-shredded). */
  RECORD_ERASED: 410,
  // Replica custodian (src/node/replica).
  /** A replica shipment names a record that the sending node's organization and this node's do not hold together. */
  REPLICA_NOT_HOLDER: 403,
  /** A replica query reached an organization that is not, on its own ledger, the patient's replica in effect. */
  REPLICA_NOT_IN_EFFECT: 403,
  // SMART Health Links (src/node/shl).
  /**
   * No active link here: unknown, deactivated, expired, passcode attempts used up, a `GET` of a
   * link without `U`, a used or expired `location`, or (to its patient) a link that is not theirs.
   * One answer for all, so that a caller learns nothing about links it cannot open.
   */
  SHL_LINK_NOT_FOUND: 404,
  /** A manifest request of a `P` link without the right passcode; the body also holds the spec's `remainingAttempts`. */
  SHL_PASSCODE_INVALID: 401,
  /** The flags of a new link are not allowed together (`P` with `U`), or a passcode is given without `P` (or missing with it). */
  SHL_FLAGS_INVALID: 400,
  /** The uploaded file is not a compact JWE with `alg: dir`, `enc: A256GCM` and the link's `cty`, or reuses the current file's IV. */
  SHL_FILE_INVALID: 400,
  /** A sealed link key that is not `v1.<iv>.<ciphertext>` (base64url) or is too long. */
  SHL_SEALED_KEY_INVALID: 400,
  /** Only a long-term (`L`) link has its file replaced. */
  SHL_NOT_LONG_TERM: 409,
  /** The link is deactivated (its file is not replaced). */
  SHL_LINK_INACTIVE: 409,
  /** The patient holds as many active links as one may (MAX_ACTIVE_LINKS_PER_PATIENT). */
  SHL_TOO_MANY_LINKS: 409,
  /** The body is larger than the route's limit. */
  PAYLOAD_TOO_LARGE: 413,
  /** More transactions in one batch than MAX_BATCH_TXS. */
  BATCH_TOO_LARGE: 413,
  /** The body is not `application/json`. */
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** Too many requests from this principal (or IP, without a valid token) to this group of routes; see `Retry-After`. */
  RATE_LIMITED: 429,
  /** An unexpected failure; details are in the node's log, never in the answer. */
  INTERNAL: 500,
  /** Ordering did not take the accepted transactions (nothing was ordered; resubmit later). */
  ORDERING_FAILED: 503,
  /** The node is shutting down. */
  UNAVAILABLE: 503,
  /** The transaction was accepted but not committed within the requested wait. */
  COMMIT_TIMEOUT: 504,
} as const satisfies Record<string, number>;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

export const HTTP_ERROR_CODES = Object.keys(HTTP_ERRORS) as HttpErrorCode[];

/**
 * HTTP status of a submission refused at admission, by the ledger result code it would have had.
 * Every code not listed here answers 400: the transaction itself is wrong (MALFORMED_TX,
 * UNKNOWN_TX_TYPE, TX_EXPIRED, TX_FROM_FUTURE, and BAD_SIGNATURE, which is 400 rather than 401
 * because the signature is part of the body, not an HTTP credential with a challenge).
 * - REPLAY → 409: the (signer, nonce) pair is already spent or pending; the same tx conflicts with itself.
 * - UNKNOWN_SIGNER, SIGNER_DEACTIVATED → 403: the signer may not submit this (register first).
 */
export const REJECTION_STATUS: Readonly<Partial<Record<ResultCode, number>>> = {
  [ResultCode.REPLAY]: 409,
  [ResultCode.UNKNOWN_SIGNER]: 403,
  [ResultCode.SIGNER_DEACTIVATED]: 403,
};

export const DEFAULT_REJECTION_STATUS = 400;

export function rejectionStatus(code: ResultCode): number {
  return REJECTION_STATUS[code] ?? DEFAULT_REJECTION_STATUS;
}

/** The JSON body of every error answer outside `/fhir`. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** An error a route throws to answer with its registry status and code. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly statusCode: number;
  constructor(
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message);
    this.statusCode = HTTP_ERRORS[code];
  }
}

/** Fastify's own error codes (content-type parser, body limit) and the registry codes they become. */
const FASTIFY_ERRORS: Readonly<Record<string, { code: HttpErrorCode; message: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'MALFORMED_JSON', message: 'request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'MALFORMED_JSON', message: 'request body is empty' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'request body must be application/json',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'PAYLOAD_TOO_LARGE',
    message: 'request body is larger than this route accepts',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'BAD_REQUEST',
    message: 'request body size does not match Content-Length',
  },
};

/**
 * The status and body of any error that reaches the error handler. Messages of unexpected
 * errors are not sent (they may hold internals); `internal` is true for those, to be logged.
 */
export function errorResponse(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (error instanceof HttpError) return answer(error.statusCode, error.code, error.message);
  if (error instanceof LedgerError) {
    if (error.code === LedgerErrorCode.COMMIT_TIMEOUT)
      return answer(HTTP_ERRORS.COMMIT_TIMEOUT, 'COMMIT_TIMEOUT', error.message);
    if (error.code === LedgerErrorCode.LEDGER_CLOSED)
      return answer(HTTP_ERRORS.UNAVAILABLE, 'UNAVAILABLE', 'the ledger is closed');
  }
  if (error instanceof NodeError && error.code === NodeErrorCode.ORDERING_FAILED) {
    return answer(HTTP_ERRORS.ORDERING_FAILED, 'ORDERING_FAILED', error.message);
  }
  const fastifyCode = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  if (typeof fastifyCode === 'string') {
    const known = FASTIFY_ERRORS[fastifyCode];
    if (known) return answer(HTTP_ERRORS[known.code], known.code, known.message);
  }
  // Other client errors Fastify raises before routing (statusCode 4xx, e.g. a malformed URL).
  const status =
    typeof error === 'object' && error !== null && 'statusCode' in error ? error.statusCode : undefined;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return answer(
      HTTP_ERRORS.BAD_REQUEST,
      'BAD_REQUEST',
      'the request was refused before it reached a route',
    );
  }
  return { ...answer(HTTP_ERRORS.INTERNAL, 'INTERNAL', 'internal error; see the node log'), internal: true };
}

function answer(
  status: number,
  code: string,
  message: string,
): { status: number; body: ErrorBody; internal: boolean } {
  return { status, body: { error: { code, message } }, internal: false };
}
