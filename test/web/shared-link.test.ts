/**
 * The web viewer's glue (web/src/lib/shared-link.ts): the spec's own example links parse from
 * every form a reader has them in (the viewer URL, its fragment, the bare link, a pasted text with
 * spaces); the spec's example file decrypts with its key and is refused as a summary (it is a SMART
 * Health Card, not a FHIR document); a FHIR file from a link is shown only when it is a `document`
 * Bundle beginning with a Composition.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { buildOwnSummary } from '../../src/fhir/ips/index.js';
import { decryptShlFile, ShlError, ShlErrorCode, type ShlResolvedFile } from '../../src/shl/index.js';
import {
  readShlink,
  SharedDocumentError,
  SharedDocumentErrorCode,
  sharedSummaryOf,
} from '../../web/src/lib/shared-link.js';

interface SpecExamples {
  readonly payload: { readonly url: string; readonly flag: string; readonly key: string; readonly label: string };
  readonly shlinkBare: string;
  readonly shlinkViewer: string;
  readonly encryptedFile: { readonly key: string; readonly contentType: string; readonly jwe: string };
}

const spec = JSON.parse(
  readFileSync(new URL('../../testdata/shl/spec-examples.json', import.meta.url), 'utf8'),
) as SpecExamples;

function fhirFile(value: unknown): ShlResolvedFile {
  const text = JSON.stringify(value);
  return { contentType: 'application/fhir+json', text, plaintext: new TextEncoder().encode(text) };
}

function codeOf(error: unknown): string | undefined {
  return error instanceof SharedDocumentError || error instanceof ShlError ? error.code : undefined;
}

describe('viewer: reading a link', () => {
  test("the spec's example link parses as a viewer URL, a fragment, a bare link and in pasted text", () => {
    const fragment = spec.shlinkViewer.slice(spec.shlinkViewer.indexOf('#'));
    const pasted = [`  ${spec.shlinkBare}\n`, `My summary: ${spec.shlinkBare} (passcode by phone)`, `See ${spec.shlinkViewer}\nThanks`];
    for (const text of [spec.shlinkViewer, fragment, spec.shlinkBare, ...pasted]) {
      const payload = readShlink(text);
      assert.equal(payload?.url, spec.payload.url, text);
      assert.equal(payload?.key, spec.payload.key);
      assert.equal(payload?.flag, spec.payload.flag);
      assert.equal(payload?.label, spec.payload.label);
    }
  });

  test('text without a link is no link; a broken link is a coded error', () => {
    assert.equal(readShlink(''), undefined);
    assert.equal(readShlink('#did=did:key:z6Mk'), undefined);
    assert.throws(() => readShlink('shlink:/not*base64'), (e) => codeOf(e) === ShlErrorCode.MALFORMED);
    const conflicting = Buffer.from(JSON.stringify({ ...spec.payload, flag: 'PU' })).toString('base64url');
    assert.throws(() => readShlink(`#shlink:/${conflicting}`), (e) => codeOf(e) === ShlErrorCode.FLAGS_CONFLICT);
  });
});

describe("viewer: what a link's files may hold", () => {
  test("the spec's example file decrypts, and is refused as a summary: it is a SMART Health Card", async () => {
    const file = await decryptShlFile({ key: spec.encryptedFile.key, jwe: spec.encryptedFile.jwe });
    assert.equal(file.contentType, spec.encryptedFile.contentType);
    const resolved: ShlResolvedFile = {
      contentType: spec.encryptedFile.contentType,
      plaintext: file.plaintext,
      text: new TextDecoder().decode(file.plaintext),
    };
    assert.throws(() => sharedSummaryOf([resolved]), (e) => codeOf(e) === SharedDocumentErrorCode.NO_FHIR_FILE);
  });

  test('a patient summary document is accepted as it is', () => {
    const summary = buildOwnSummary({
      resources: [],
      patientDid: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
      language: 'en',
      now: new Date('2026-12-05T00:00:00Z'),
      newUuid: () => globalThis.crypto.randomUUID(),
      incomplete: false,
    });
    const shown = sharedSummaryOf([fhirFile(summary)]);
    assert.deepEqual(shown, summary);
  });

  test('anything else in a FHIR file is refused with a code', () => {
    const composition = { resourceType: 'Composition' };
    const refused: Array<[unknown, string]> = [
      [{ resourceType: 'Bundle', type: 'collection', entry: [{ resource: composition }] }, SharedDocumentErrorCode.NOT_A_DOCUMENT],
      [{ resourceType: 'Bundle', type: 'document', entry: [] }, SharedDocumentErrorCode.NOT_A_DOCUMENT],
      [{ resourceType: 'Bundle', type: 'document', entry: [{ resource: { resourceType: 'Patient' } }] }, SharedDocumentErrorCode.NOT_A_DOCUMENT],
      [{ resourceType: 'Bundle', type: 'document', entry: [{ resource: 'Composition' }] }, SharedDocumentErrorCode.NOT_A_DOCUMENT],
      [{ resourceType: 'Patient' }, SharedDocumentErrorCode.NOT_A_DOCUMENT],
      [[composition], SharedDocumentErrorCode.NOT_A_DOCUMENT],
    ];
    for (const [value, code] of refused) {
      assert.throws(() => sharedSummaryOf([fhirFile(value)]), (e) => codeOf(e) === code, JSON.stringify(value));
    }
    const notJson: ShlResolvedFile = { contentType: 'application/fhir+json', text: '<html>', plaintext: new Uint8Array() };
    assert.throws(() => sharedSummaryOf([notJson]), (e) => codeOf(e) === SharedDocumentErrorCode.NOT_JSON);
    assert.throws(() => sharedSummaryOf([]), (e) => codeOf(e) === SharedDocumentErrorCode.NO_FHIR_FILE);
  });
});
