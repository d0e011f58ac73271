/**
 * The viewer's library refuses a SMART Health Link whose server is plain http to another machine
 * (the spec requires https): before any request (no recipient, passcode or file crosses the
 * network in the clear), and for a manifest `location` as well. Loopback http (a node on this
 * machine) still opens.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildShlink, encryptShlFile, generateShlKey, parseShlink, resolveShlink, ShlError, ShlErrorCode } from '../../src/shl/index.js';

const SEGMENT = generateShlKey();

/** The URL a fetch was asked for (the library passes strings). */
function urlOf(input: Parameters<typeof fetch>[0]): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

function linkTo(url: string, key = generateShlKey()): ReturnType<typeof parseShlink> {
  return parseShlink(buildShlink({ url, key }));
}

describe('SMART Health Links over plain http', () => {
  it('a link to another machine over http is refused before anything is sent', async () => {
    const requests: string[] = [];
    const spy: typeof fetch = (input) => {
      requests.push(urlOf(input));
      return Promise.resolve(new Response('{}'));
    };
    for (const host of ['health.example.org', '10.0.0.7', '192.168.1.20:8080']) {
      await assert.rejects(
        resolveShlink({ payload: linkTo(`http://${host}/shl/m/${SEGMENT}`), recipient: 'Dr. X', fetch: spy }),
        (error: unknown) => error instanceof ShlError && error.code === ShlErrorCode.INSECURE_URL && error.message.includes(host),
      );
    }
    assert.deepEqual(requests, []);
  });

  it("a manifest's http location on another machine is refused; loopback http and https are fetched", async () => {
    const key = generateShlKey();
    const jwe = await encryptShlFile({ key, plaintext: '{"resourceType":"Bundle"}' });
    const fetched: string[] = [];
    const server = (location: string): typeof fetch => (input) => {
      fetched.push(urlOf(input));
      const body = urlOf(input).includes('/shl/m/') ? JSON.stringify({ files: [{ contentType: 'application/fhir+json', location }] }) : jwe;
      return Promise.resolve(new Response(body));
    };
    await assert.rejects(
      resolveShlink({ payload: linkTo(`https://shl.example.org/shl/m/${SEGMENT}`, key), recipient: 'Dr. X', fetch: server('http://files.example.org/f/1') }),
      { code: ShlErrorCode.INSECURE_URL },
    );
    assert.equal(fetched.some((url) => url.startsWith('http://files.example.org')), false);
    for (const base of ['http://127.0.0.1:8080', 'http://localhost:8080', 'https://shl.example.org']) {
      const [file] = await resolveShlink({ payload: linkTo(`${base}/shl/m/${SEGMENT}`, key), recipient: 'Dr. X', fetch: server(`${base}/shl/file/1`) });
      assert.equal(file?.text, '{"resourceType":"Bundle"}', base);
    }
  });
});
