// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { STATUS_CODES } from 'node:http';
import { test } from 'node:test';
import { RESULT_CODES, ResultCode } from '../../src/ledger/index.js';
import {
  DEFAULT_REJECTION_STATUS,
  HTTP_ERROR_CODES,
  HTTP_ERRORS,
  HttpError,
  REJECTION_STATUS,
  rejectionStatus,
} from '../../src/node/http/index.js';
import { errorResponse } from '../../src/node/http/errors.js';

/** Codes that are both an HTTP error code and a ledger result code, with the same meaning. */
// Codes that mean the same on the ledger and over HTTP (e.g. a signature that does not verify).
const SHARED_WITH_RESULT_CODES = [
  'UNKNOWN_PATIENT',
  'BAD_SIGNATURE',
  // A custodian's refusals of node requests (src/node/roaming): the ledger's access decisions.
  'NOT_PRACTITIONER',
  'NO_GRANT',
  'GRANT_REVOKED',
  'GRANT_EXPIRED',
  'SCOPE_NOT_COVERED',
  'RECORD_NOT_FOUND',
  'RECORD_ERASED',
];

/** Every code the ledger's admission (Ledger.admit) can refuse a submission with. */
const ADMISSION_CODES = [
  ResultCode.MALFORMED_TX,
  ResultCode.UNKNOWN_TX_TYPE,
  ResultCode.TX_EXPIRED,
  ResultCode.TX_FROM_FUTURE,
  ResultCode.REPLAY,
  ResultCode.SIGNER_DEACTIVATED,
  ResultCode.UNKNOWN_SIGNER,
  ResultCode.BAD_SIGNATURE,
];

test('the HTTP error registry: stable-looking, unique codes with valid error statuses', () => {
  assert.ok(HTTP_ERROR_CODES.length > 0);
  assert.equal(new Set(HTTP_ERROR_CODES).size, HTTP_ERROR_CODES.length);
  for (const code of HTTP_ERROR_CODES) {
    assert.match(code, /^[A-Z][A-Z0-9_]*$/, code);
    const status = HTTP_ERRORS[code];
    assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: ${status}`);
    assert.ok(STATUS_CODES[status], `${code}: ${status} is a known HTTP status`);
  }
  for (const [code, status] of Object.entries({
    MALFORMED_JSON: 400,
    UNSUPPORTED_MEDIA_TYPE: 415,
    PAYLOAD_TOO_LARGE: 413,
    VALIDATION_FAILED: 400,
    NOT_FOUND: 404,
    COMMIT_TIMEOUT: 504,
    ORDERING_FAILED: 503,
    INTERNAL: 500,
    BATCH_TOO_LARGE: 413,
  })) {
    assert.equal(HTTP_ERRORS[code as keyof typeof HTTP_ERRORS], status, code);
  }
});

test('HTTP codes do not reuse ledger result codes, except the documented shared ones', () => {
  const resultCodes = new Set<string>(RESULT_CODES);
  const shared = HTTP_ERROR_CODES.filter((code) => resultCodes.has(code));
  assert.deepEqual(shared.sort(), [...SHARED_WITH_RESULT_CODES].sort());
});

test('rejected submissions: every admission code maps to a 4xx status; overrides are result codes', () => {
  for (const code of ADMISSION_CODES) {
    const status = rejectionStatus(code);
    assert.ok(status >= 400 && status < 500, `${code}: ${status}`);
  }
  assert.equal(rejectionStatus(ResultCode.REPLAY), 409);
  assert.equal(rejectionStatus(ResultCode.UNKNOWN_SIGNER), 403);
  assert.equal(rejectionStatus(ResultCode.BAD_SIGNATURE), 400);
  assert.equal(DEFAULT_REJECTION_STATUS, 400);
  for (const [code, status] of Object.entries(REJECTION_STATUS)) {
    assert.ok((RESULT_CODES as readonly string[]).includes(code), code);
    assert.ok(
      status !== undefined && STATUS_CODES[status] && status >= 400 && status < 500,
      `${code}: ${status}`,
    );
  }
  assert.equal(rejectionStatus(ResultCode.OK), 400, 'never used for OK, but still an error status');
});

test('errorResponse: registry errors keep their code; unknown failures hide their message', () => {
  const known = errorResponse(new HttpError('UNKNOWN_DID', 'no party did:key:z'));
  assert.deepEqual(known, {
    status: 404,
    body: { error: { code: 'UNKNOWN_DID', message: 'no party did:key:z' } },
    internal: false,
  });
  const internal = errorResponse(new Error('SQLITE_BUSY: database is locked at /secret/path'));
  assert.equal(internal.status, 500);
  assert.equal(internal.body.error.code, 'INTERNAL');
  assert.doesNotMatch(internal.body.error.message, /secret/);
  assert.equal(internal.internal, true);
  const fastify = errorResponse(
    Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }),
  );
  assert.equal(fastify.body.error.code, 'PAYLOAD_TOO_LARGE');
  for (const result of [known, internal, fastify]) {
    assert.equal(result.status, HTTP_ERRORS[result.body.error.code as keyof typeof HTTP_ERRORS]);
  }
});
