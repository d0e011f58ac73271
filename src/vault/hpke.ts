/**
 * The vault's only contact with `@hpke/core` (internal; not exported by the layer): RFC 9180
 * base-mode single-shot seal and open for DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM,
 * on raw 32-byte X25519 keys (the RFC 7748 §5 encoding, which RFC 9180 §7.1.1 uses for
 * SerializePublicKey / SerializePrivateKey).
 *
 * `@hpke/core` types its keys with its own declaration of WebCrypto's `CryptoKey` (whose key
 * usages differ from @types/node's), so the key type is taken from the library itself. Its X25519
 * KEM runs on Node's WebCrypto (no extension module).
 */
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';

/** An imported X25519 key, as @hpke/core holds it. */
export type HpkeKey = Awaited<ReturnType<CipherSuite['kem']['deserializePublicKey']>>;

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
  return suite().kem.deserializePublicKey(raw);
}

/** DeserializePrivateKey (RFC 9180 §7.1.1). Throws on a malformed key. */
export async function importSecretKey(raw: Uint8Array): Promise<HpkeKey> {
  return suite().kem.deserializePrivateKey(raw);
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
