/**
 * An independent receiver of SMART Health Links, written from the spec's text alone (HL7 SMART
 * Health Cards and Links IG): base64url JSON after `shlink:/` → `POST {url}` with `{ recipient,
 * passcode, embeddedLengthMax }` → `GET` each `location` → `jose.compactDecrypt` with the
 * payload's key. None of Roam's SHL code is used; tests open Roam's links with it.
 */
import assert from 'node:assert/strict';
import { base64url, compactDecrypt } from 'jose';

export interface SpecPayload {
  url: string;
  key: string;
  exp?: number;
  flag?: string;
  label?: string;
  v?: number;
}

/** "Decode the SMART Health Link JSON payload": after `shlink:/` (behind an optional `…#`). */
export function specDecodePayload(link: string): SpecPayload {
  const encoded = link.slice(link.indexOf('shlink:/') + 'shlink:/'.length);
  return JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as SpecPayload;
}

/** "Issue a SMART Health Link Manifest Request", then "Decrypt and process files". */
export async function specOpen(link: string, recipient: string, passcode?: string): Promise<Array<{ contentType: string; body: string }>> {
  const payload = specDecodePayload(link);
  const response = await fetch(payload.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ recipient, ...(passcode === undefined ? {} : { passcode }), embeddedLengthMax: 0 }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const manifest = (await response.json()) as { files: Array<{ contentType: string; location?: string; embedded?: string }> };
  const files: Array<{ contentType: string; body: string }> = [];
  for (const file of manifest.files) {
    let jwe = file.embedded;
    if (jwe === undefined) {
      const fetched = await fetch(file.location ?? '');
      assert.equal(fetched.status, 200);
      assert.match(fetched.headers.get('content-type') ?? '', /^application\/jose/);
      jwe = await fetched.text();
    }
    const { plaintext, protectedHeader } = await compactDecrypt(jwe, base64url.decode(payload.key));
    assert.equal(protectedHeader.alg, 'dir');
    assert.equal(protectedHeader.enc, 'A256GCM');
    assert.equal(protectedHeader.cty, file.contentType);
    files.push({ contentType: file.contentType, body: new TextDecoder().decode(plaintext) });
  }
  return files;
}

