/**
 * The vault's only contact with `@hpke/core` (internal; not exported by the layer): RFC 9180
 * base-mode single-shot seal and open for DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM,
 * on raw 32-byte X25519 keys (the RFC 7748 §5 encoding, which RFC 9180 §7.1.1 uses for
 * SerializePublicKey / SerializePrivateKey).
 *
 * `@hpke/core` types its keys as the DOM's `CryptoKey`, which this project's `lib` (ES2023 +
 * @types/node) does not declare; this adapter gives them Node's WebCrypto type, so the rest of
 * the layer stays fully typed. Its X25519 KEM runs on Node 20's WebCrypto (no extension module).
 */
import type { webcrypto } from 'node:crypto';
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';

/** An imported X25519 key, as @hpke/core holds it. */
export type HpkeKey = webcrypto.CryptoKey;

let suiteInstance: CipherSuite | undefined;
function suite(): CipherSuite {
  suiteInstance ??= new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Aes256Gcm(),
  });
  return suiteInstance;
}

/** DeserializePublicKey (RFC 9180 §7.1.1). Throws on a malformed key. */
export async function importPublicKey(raw: Uint8Array): Promise<HpkeKey> {
  return (await suite().kem.deserializePublicKey(raw)) as HpkeKey;
}

/** DeserializePrivateKey (RFC 9180 §7.1.1). Throws on a malformed key. */
export async function importSecretKey(raw: Uint8Array): Promise<HpkeKey> {
  return (await suite().kem.deserializePrivateKey(raw)) as HpkeKey;
}

/**
 * Single-shot Seal in base mode (RFC 9180 §6.1 with §5.1.1 SetupBaseS): a fresh ephemeral key
 * each call. Throws when encapsulation fails (e.g. a low-order public key, §7.1.4).
 */
export async function hpkeSeal(
  recipientPublicKey: HpkeKey,
  info: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Promise<{ enc: Uint8Array; ct: Uint8Array }> {
  const sealed = await suite().seal({ recipientPublicKey, info }, plaintext, aad);
  return { enc: new Uint8Array(sealed.enc), ct: new Uint8Array(sealed.ct) };
}

/** Single-shot Open in base mode (RFC 9180 §6.1 with §5.1.1 SetupBaseR). Throws when it does not open. */
export async function hpkeOpen(
  recipientSecretKey: HpkeKey,
  enc: Uint8Array,
  info: Uint8Array,
  ct: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  return new Uint8Array(await suite().open({ recipientKey: recipientSecretKey, enc, info }, ct, aad));
}
