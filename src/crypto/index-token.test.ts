import assert from 'node:assert/strict';
import { createHmac, hkdfSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { fromHex } from './bytes.js';
import { INDEX_TOKEN_KEY_LENGTH, indexToken, indexTokenKey } from './index-token.js';

describe('index tokens', () => {
  const secret = fromHex('11'.repeat(32));
  const org = 'did:key:z6MkOrganization';

  it('derive the key with HKDF-SHA-256 and the token with HMAC-SHA-256 (checked against node:crypto)', () => {
    const key = indexTokenKey(secret, org);
    assert.equal(key.length, INDEX_TOKEN_KEY_LENGTH);
    const expectedKey = Buffer.from(hkdfSync('sha256', secret, 'roam-fhir-index-v1', org, 32));
    assert.deepEqual(Buffer.from(key), expectedKey);
    const token = indexToken(key, {
      resourceType: 'Condition',
      param: 'code',
      value: 'http://snomed.info/sct|1',
    });
    const expected = createHmac('sha256', expectedKey)
      .update('Condition|code|http://snomed.info/sct|1')
      .digest('base64url');
    assert.equal(token, expected);
  });

  it('differ by organization, type, parameter and value', () => {
    const key = indexTokenKey(secret, org);
    const base = { resourceType: 'Condition', param: 'code', value: 'a' };
    const tokens = new Set([
      indexToken(key, base),
      indexToken(indexTokenKey(secret, `${org}2`), base),
      indexToken(key, { ...base, resourceType: 'Observation' }),
      indexToken(key, { ...base, param: 'category' }),
      indexToken(key, { ...base, value: 'b' }),
    ]);
    assert.equal(tokens.size, 5);
  });

  it('refuse a key of the wrong length', () => {
    assert.throws(() => indexToken(new Uint8Array(16), { resourceType: 'A', param: 'b', value: 'c' }), {
      code: 'CRYPTO_INVALID_ARGUMENT',
    });
  });
});
