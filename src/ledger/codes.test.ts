import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { CONTRACT_RESULT_CODES } from '../contracts/index.js';
import { RESULT_CODES, ResultCode, consumesNonce } from './codes.js';

/** Codes the runner (src/ledger/executor.ts) commits before or around any contract. */
const RUNNER_CODES: readonly ResultCode[] = [
  ResultCode.MALFORMED_TX,
  ResultCode.WRONG_CHAIN,
  ResultCode.TX_TOO_LARGE,
  ResultCode.UNKNOWN_TX_TYPE,
  ResultCode.BAD_SIGNATURE,
  ResultCode.UNKNOWN_SIGNER,
  ResultCode.SIGNER_DEACTIVATED,
  ResultCode.REPLAY,
  ResultCode.TX_EXPIRED,
  ResultCode.TX_FROM_FUTURE,
  ResultCode.CONTRACT_ERROR,
];

it('every result code is unique, names itself, and belongs to the runner or a contract', () => {
  assert.equal(new Set(RESULT_CODES).size, RESULT_CODES.length);
  for (const [name, code] of Object.entries(ResultCode)) assert.equal(name, code);
  const owned = new Set<ResultCode>([ResultCode.OK, ...RUNNER_CODES, ...CONTRACT_RESULT_CODES]);
  assert.deepEqual(RESULT_CODES.filter((c) => !owned.has(c)), []);
});

it('every runner code is asserted by the ledger tests', () => {
  const dir = import.meta.dirname;
  const tests = readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts') && f !== 'codes.test.ts')
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
  const missing = RUNNER_CODES.filter((code) => !tests.includes(`ResultCode.${code}`));
  assert.deepEqual(missing, []);
});

it('only transactions whose signature was checked spend their nonce', () => {
  assert.equal(consumesNonce(ResultCode.OK), true);
  assert.equal(consumesNonce(ResultCode.NOT_PATIENT), true);
  assert.equal(consumesNonce(ResultCode.BAD_SIGNATURE), false);
  assert.equal(consumesNonce(ResultCode.REPLAY), false);
  assert.equal(consumesNonce(ResultCode.WRONG_CHAIN), false);
  assert.equal(consumesNonce(ResultCode.TX_TOO_LARGE), false);
});
