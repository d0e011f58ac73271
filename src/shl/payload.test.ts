import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ShlError, ShlErrorCode } from './errors.js';
import { generateShlKey } from './jwe.js';
import { buildShlink, parseShlink, shlFlagsOf, viewerLink, type ShlPayload } from './payload.js';

interface SpecExamples {
  readonly payload: ShlPayload;
  readonly shlinkBare: string;
  readonly shlinkViewer: string;
}
const spec = JSON.parse(readFileSync(new URL('../../testdata/shl/spec-examples.json', import.meta.url), 'utf8')) as SpecExamples;

const URL_43 = `https://node.example.org/shl/m/${'A'.repeat(42)}Q`;

function encode(json: unknown): string {
  return `shlink:/${Buffer.from(JSON.stringify(json)).toString('base64url')}`;
}

function assertMalformed(text: string, detail: RegExp): void {
  assert.throws(
    () => parseShlink(text),
    (error: unknown) => error instanceof ShlError && error.code === ShlErrorCode.MALFORMED && detail.test(error.message),
  );
}

describe('shlink:/ payload', () => {
  it("parses the spec's example link, bare and behind its viewer URL", () => {
    assert.deepEqual(parseShlink(spec.shlinkBare), spec.payload);
    assert.deepEqual(parseShlink(spec.shlinkViewer), spec.payload);
    assert.deepEqual(shlFlagsOf(parseShlink(spec.shlinkBare).flag), { longTerm: true, passcode: true, direct: false });
    // The scheme is case-insensitive; the payload is not.
    assert.deepEqual(parseShlink(spec.shlinkBare.replace('shlink:/', 'SHLINK:/')), spec.payload);
  });

  it('builds a link that parses back to the same fields, and puts it behind a viewer URL', () => {
    const key = generateShlKey();
    const link = buildShlink({ url: URL_43, key, exp: 1_900_000_000, flags: { longTerm: true, passcode: true }, label: 'Summary' });
    assert.deepEqual(parseShlink(link), { url: URL_43, flag: 'LP', key, exp: 1_900_000_000, label: 'Summary', v: 1 });
    const behind = viewerLink('https://node.example.org/shl', link);
    assert.equal(behind, `https://node.example.org/shl#${link}`);
    assert.deepEqual(parseShlink(behind), parseShlink(link));
  });

  it('round-trips every link Roam may build (property)', () => {
    const segment = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: 43, maxLength: 43 });
    fc.assert(
      fc.property(
        segment,
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.option(fc.integer({ min: 1, max: 2 ** 40 }), { nil: undefined }),
        fc.record({ longTerm: fc.boolean(), passcode: fc.boolean(), direct: fc.boolean() }),
        fc.option(fc.string({ maxLength: 80 }), { nil: undefined }),
        (id, keyBytes, exp, flags, label) => {
          fc.pre(!(flags.passcode && flags.direct));
          const url = `https://node.example.org/shl/m/${id}`;
          const key = Buffer.from(keyBytes).toString('base64url');
          const parsed = parseShlink(buildShlink({ url, key, flags, ...(exp === undefined ? {} : { exp }), ...(label === undefined ? {} : { label }) }));
          assert.equal(parsed.url, url);
          assert.equal(parsed.key, key);
          assert.equal(parsed.exp, exp);
          assert.equal(parsed.label, label);
          assert.deepEqual(shlFlagsOf(parsed.flag), { ...flags });
        },
      ),
    );
  });

  it('ignores unknown properties and unknown flag letters, as the spec tells receivers', () => {
    const parsed = parseShlink(encode({ ...spec.payload, flag: 'LPX', _roam: 1, extension: {} }));
    assert.equal(parsed.flag, 'LPX');
    assert.equal('_roam' in parsed, false);
    assert.deepEqual(shlFlagsOf(parsed.flag), { longTerm: true, passcode: true, direct: false });
  });

  it('refuses malformed links with SHL_MALFORMED, naming what is wrong', () => {
    assertMalformed('https://example.org/not-a-link', /not a SMART Health Link/);
    assertMalformed('shlink:/', /base64url/);
    assertMalformed('shlink:/eyJ!!', /base64url/);
    assertMalformed(`shlink:/${Buffer.from('not json').toString('base64url')}`, /not base64url-encoded JSON/);
    assertMalformed(encode([1, 2]), /not a JSON object/);
    assertMalformed(encode({ ...spec.payload, key: undefined }), /key/);
    assertMalformed(encode({ ...spec.payload, key: spec.payload.key.slice(0, 42) }), /key/);
    // 43 characters whose last one sets bits past the 32 bytes: not a canonical encoding.
    assertMalformed(encode({ ...spec.payload, key: `${spec.payload.key.slice(0, 42)}R` }), /key/);
    assertMalformed(encode({ ...spec.payload, url: `https://e.org/${'a'.repeat(120)}` }), /url.*128/);
    assertMalformed(encode({ ...spec.payload, url: 'javascript:alert(1)' }), /url.*http/);
    assertMalformed(encode({ ...spec.payload, label: 'x'.repeat(81) }), /label.*80/);
    assertMalformed(encode({ ...spec.payload, flag: 'lp' }), /flag/);
    assertMalformed(encode({ ...spec.payload, exp: 'tomorrow' }), /exp/);
    assertMalformed(encode({ ...spec.payload, v: 1.5 }), /v/);
    assertMalformed('x'.repeat(5000), /at most/);
  });

  it('refuses P with U, reading and building', () => {
    assert.throws(() => parseShlink(encode({ ...spec.payload, flag: 'PU' })), { code: ShlErrorCode.FLAGS_CONFLICT });
    assert.throws(
      () => buildShlink({ url: URL_43, key: generateShlKey(), flags: { passcode: true, direct: true } }),
      { code: ShlErrorCode.FLAGS_CONFLICT },
    );
  });

  it('builds only links whose URL carries 256 bits in its path, within 128 characters', () => {
    const key = generateShlKey();
    assert.throws(() => buildShlink({ url: 'https://node.example.org/shl/m/short', key }), /256 bits/);
    assert.throws(() => buildShlink({ url: `https://node.example.org/${'x'.repeat(60)}/${'A'.repeat(43)}`, key }), /128/);
    assert.throws(() => buildShlink({ url: URL_43, key, label: 'x'.repeat(81) }), /label/);
    assert.throws(() => buildShlink({ url: URL_43, key, exp: 1.5 }), /exp/);
    assert.throws(() => buildShlink({ url: URL_43, key: 'short' }), /key/);
  });
});
