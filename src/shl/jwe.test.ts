import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CompactEncrypt, decodeProtectedHeader } from 'jose';
import { ShlErrorCode } from './errors.js';
import { decryptShlFile, encryptShlFile, generateShlKey } from './jwe.js';

interface SpecExamples {
  readonly encryptedFile: { readonly key: string; readonly contentType: string; readonly jwe: string };
}
const spec = JSON.parse(readFileSync(new URL('../../testdata/shl/spec-examples.json', import.meta.url), 'utf8')) as SpecExamples;

describe('SHL file encryption (compact JWE, dir + A256GCM)', () => {
  it("decrypts the spec's example file with the spec's key", async () => {
    const { key, jwe, contentType } = spec.encryptedFile;
    const file = await decryptShlFile({ key, jwe });
    assert.equal(file.contentType, contentType);
    const card = JSON.parse(new TextDecoder().decode(file.plaintext)) as { verifiableCredential: string[] };
    assert.ok(Array.isArray(card.verifiableCredential) && card.verifiableCredential.length > 0);
  });

  it('encrypts with the spec header and a fresh IV every time, and decrypts back', async () => {
    const key = generateShlKey();
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    const plaintext = JSON.stringify({ resourceType: 'Bundle', type: 'document' });
    const first = await encryptShlFile({ key, plaintext });
    const second = await encryptShlFile({ key, plaintext });
    assert.deepEqual(decodeProtectedHeader(first), { alg: 'dir', enc: 'A256GCM', cty: 'application/fhir+json' });
    assert.notEqual(first.split('.')[2], second.split('.')[2], 'each encryption has its own IV');
    const file = await decryptShlFile({ key, jwe: first });
    assert.equal(new TextDecoder().decode(file.plaintext), plaintext);
  });

  it('refuses another key, a tampered file and other algorithms', async () => {
    const key = generateShlKey();
    const jwe = await encryptShlFile({ key, plaintext: 'x' });
    await assert.rejects(decryptShlFile({ key: generateShlKey(), jwe }), { code: ShlErrorCode.DECRYPT_FAILED });
    const parts = jwe.split('.');
    parts[3] = `${parts[3]?.startsWith('A') ? 'B' : 'A'}${parts[3]?.slice(1) ?? ''}`;
    await assert.rejects(decryptShlFile({ key, jwe: parts.join('.') }), { code: ShlErrorCode.DECRYPT_FAILED });
    const other = await new CompactEncrypt(new TextEncoder().encode('x'))
      .setProtectedHeader({ alg: 'dir', enc: 'A128GCM' })
      .encrypt(new Uint8Array(16));
    await assert.rejects(decryptShlFile({ key, jwe: other }), { code: ShlErrorCode.UNSUPPORTED_ENCRYPTION });
    await assert.rejects(decryptShlFile({ key, jwe: 'not a jwe' }), { code: ShlErrorCode.UNSUPPORTED_ENCRYPTION });
    await assert.rejects(decryptShlFile({ key: 'short', jwe }), { code: ShlErrorCode.MALFORMED });
  });

  it('inflates a zip:DEF file of another server', async () => {
    const key = generateShlKey();
    const jwe = await new CompactEncrypt(new TextEncoder().encode('{"resourceType":"Patient"}'))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: 'application/fhir+json', zip: 'DEF' })
      .encrypt(Buffer.from(key, 'base64url'));
    const file = await decryptShlFile({ key, jwe });
    assert.equal(new TextDecoder().decode(file.plaintext), '{"resourceType":"Patient"}');
  });
});
