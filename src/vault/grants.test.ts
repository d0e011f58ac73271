import assert from 'node:assert/strict';
import { createCipheriv, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { MAX_GRANT_KEY_BYTES } from '../contracts/consent.js';
import {
  canonicalJson,
  concatBytes,
  fromBase64Url,
  fromHex,
  generateEncryptionKeyPair,
  randomBytes,
  toBase64Url,
  toHex,
  utf8ToBytes,
} from '../crypto/index.js';
import { createWallet, deriveRecordKeySeed } from '../wallet/index.js';
import { VaultErrorCode } from './errors.js';
import {
  GRANT_HPKE_SUITE,
  openGrantKeys,
  openRecordKey,
  parseSealedRecordKey,
  sealGrantKeys,
  sealRecordKey,
  type GrantKeyContext,
  type SealedRecordKey,
} from './grants.js';
import { deriveRecordKey } from './keys.js';

// ---------------------------------------------------------------------------------------------
// RFC 9180 Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode.
// Same KEM and KDF as roam's grants; RFC 9180 has no X25519 + AES-256-GCM vector.
// ---------------------------------------------------------------------------------------------

interface Rfc9180Vector {
  info: string;
  ikmE: string;
  pkEm: string;
  skEm: string;
  ikmR: string;
  pkRm: string;
  skRm: string;
  enc: string;
  shared_secret: string;
  key_schedule_context: string;
  secret: string;
  key: string;
  base_nonce: string;
  exporter_secret: string;
  encryptions: Array<{ sequence_number: number; pt: string; aad: string; nonce: string; ct: string }>;
  exports: Array<{ exporter_context: string; L: number; exported_value: string }>;
}

const vector = JSON.parse(
  readFileSync(
    new URL('../../testdata/hpke/rfc9180-a1-x25519-sha256-aes128gcm.json', import.meta.url),
    'utf8',
  ),
) as Rfc9180Vector;
const hex = (bytes: ArrayBuffer | Uint8Array): string => toHex(new Uint8Array(bytes));

// RFC 9180 §4 and §5.1, written out with node:crypto HMAC to check the published intermediate
// values independently of @hpke/core: suite_id = "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2).
const SUITE_ID = concatBytes(utf8ToBytes('HPKE'), Uint8Array.of(0x00, 0x20, 0x00, 0x01, 0x00, 0x01));
const hmac = (key: Uint8Array, data: Uint8Array): Uint8Array =>
  new Uint8Array(createHmac('sha256', key).update(data).digest());
const labeledExtract = (salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array =>
  hmac(
    salt.length === 0 ? new Uint8Array(32) : salt,
    concatBytes(utf8ToBytes('HPKE-v1'), SUITE_ID, utf8ToBytes(label), ikm),
  );
function labeledExpand(prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
  const labeledInfo = concatBytes(
    Uint8Array.of(length >> 8, length & 0xff),
    utf8ToBytes('HPKE-v1'),
    SUITE_ID,
    utf8ToBytes(label),
    info,
  );
  // RFC 5869 §2.3 for L <= HashLen: T(1) = HMAC(PRK, info || 0x01).
  return hmac(prk, concatBytes(labeledInfo, Uint8Array.of(1))).subarray(0, length);
}

function vectorSuite(): CipherSuite {
  return new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
}

describe('HPKE: RFC 9180 A.1.1 test vector (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base)', () => {
  const info = fromHex(vector.info);

  it('DeriveKeyPair(ikmR) and DeriveKeyPair(ikmE) give the published key pairs', async () => {
    const suite = vectorSuite();
    const r = await suite.kem.deriveKeyPair(fromHex(vector.ikmR));
    assert.equal(hex(await suite.kem.serializePrivateKey(r.privateKey)), vector.skRm);
    assert.equal(hex(await suite.kem.serializePublicKey(r.publicKey)), vector.pkRm);
    const e = await suite.kem.deriveKeyPair(fromHex(vector.ikmE));
    assert.equal(hex(await suite.kem.serializePrivateKey(e.privateKey)), vector.skEm);
    assert.equal(hex(await suite.kem.serializePublicKey(e.publicKey)), vector.pkEm);
  });

  it('Encap with the fixed ephemeral key gives the published enc and shared_secret; Decap with skRm agrees', async () => {
    const suite = vectorSuite();
    const pkR = await suite.kem.deserializePublicKey(fromHex(vector.pkRm));
    const encap = await suite.kem.encap({ recipientPublicKey: pkR, ekm: fromHex(vector.ikmE) });
    assert.equal(hex(encap.enc), vector.enc);
    assert.equal(hex(encap.sharedSecret), vector.shared_secret);
    const skR = await suite.kem.deserializePrivateKey(fromHex(vector.skRm));
    assert.equal(
      hex(await suite.kem.decap({ recipientKey: skR, enc: fromHex(vector.enc) })),
      vector.shared_secret,
    );
  });

  it('the key schedule (§5.1) from shared_secret and info gives the published key, base_nonce and exporter_secret', () => {
    const pskIdHash = labeledExtract(new Uint8Array(0), 'psk_id_hash', new Uint8Array(0));
    const infoHash = labeledExtract(new Uint8Array(0), 'info_hash', info);
    const context = concatBytes(Uint8Array.of(0x00), pskIdHash, infoHash);
    assert.equal(toHex(context), vector.key_schedule_context);
    const secret = labeledExtract(fromHex(vector.shared_secret), 'secret', new Uint8Array(0));
    assert.equal(toHex(secret), vector.secret);
    assert.equal(toHex(labeledExpand(secret, 'key', context, 16)), vector.key);
    assert.equal(toHex(labeledExpand(secret, 'base_nonce', context, 12)), vector.base_nonce);
    assert.equal(toHex(labeledExpand(secret, 'exp', context, 32)), vector.exporter_secret);
  });

  it('the published key and nonces (base_nonce XOR seq, §5.2) give the published ciphertexts', () => {
    for (const e of vector.encryptions) {
      const nonce = fromHex(vector.base_nonce);
      for (let i = 0, seq = e.sequence_number; seq > 0; i++, seq = Math.floor(seq / 256))
        nonce[11 - i]! ^= seq & 0xff;
      assert.equal(toHex(nonce), e.nonce);
      const cipher = createCipheriv('aes-128-gcm', fromHex(vector.key), nonce).setAAD(fromHex(e.aad));
      const ct = Buffer.concat([cipher.update(fromHex(e.pt)), cipher.final(), cipher.getAuthTag()]);
      assert.equal(ct.toString('hex'), e.ct, `sequence ${e.sequence_number}`);
    }
  });

  it('@hpke/core as sender, fed ikmE, produces the published enc and every published ciphertext', async () => {
    const suite = vectorSuite();
    const sender = await suite.createSenderContext({
      recipientPublicKey: await suite.kem.deserializePublicKey(fromHex(vector.pkRm)),
      info,
      ekm: fromHex(vector.ikmE),
    });
    assert.equal(hex(sender.enc), vector.enc);
    const bySeq = new Map(vector.encryptions.map((e) => [e.sequence_number, e]));
    const last = Math.max(...bySeq.keys());
    for (let seq = 0; seq <= last; seq++) {
      const e = bySeq.get(seq);
      const ct = await sender.seal(fromHex(e?.pt ?? '00'), fromHex(e?.aad ?? '00'));
      if (e) assert.equal(hex(ct), e.ct, `sequence ${seq}`);
    }
    for (const x of vector.exports) {
      assert.equal(hex(await sender.export(fromHex(x.exporter_context), x.L)), x.exported_value);
    }
  });

  it('@hpke/core as recipient with skRm opens every published ciphertext to the published plaintext', async () => {
    const suite = vectorSuite();
    const skR = await suite.kem.deserializePrivateKey(fromHex(vector.skRm));
    const enc = fromHex(vector.enc);
    // Single-shot open of the first encryption (sequence 0).
    const first = vector.encryptions[0]!;
    const pt = await suite.open({ recipientKey: skR, enc, info }, fromHex(first.ct), fromHex(first.aad));
    assert.equal(hex(pt), first.pt);
    assert.equal(Buffer.from(pt).toString('utf8'), 'Beauty is truth, truth beauty');
    // A context stepped through the sequence: the gaps are filled by a sender of the same vector.
    const recipient = await suite.createRecipientContext({ recipientKey: skR, enc, info });
    const sender = await suite.createSenderContext({
      recipientPublicKey: await suite.kem.deserializePublicKey(fromHex(vector.pkRm)),
      info,
      ekm: fromHex(vector.ikmE),
    });
    const bySeq = new Map(vector.encryptions.map((e) => [e.sequence_number, e]));
    const last = Math.max(...bySeq.keys());
    for (let seq = 0; seq <= last; seq++) {
      const e = bySeq.get(seq);
      const filler = await sender.seal(utf8ToBytes(`gap ${seq}`), new Uint8Array(0));
      if (e) assert.equal(hex(await recipient.open(fromHex(e.ct), fromHex(e.aad))), e.pt, `sequence ${seq}`);
      else await recipient.open(filler, new Uint8Array(0));
    }
    for (const x of vector.exports) {
      assert.equal(hex(await recipient.export(fromHex(x.exporter_context), x.L)), x.exported_value);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Roam's key grants
// ---------------------------------------------------------------------------------------------

const openFailed = { code: VaultErrorCode.GRANT_KEY_OPEN_FAILED };
const ORG_A = 'did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH';
const ORG_B = 'did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG';
const PATIENT = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';

describe('sealRecordKey / openRecordKey', () => {
  const orgA = generateEncryptionKeyPair();
  const orgB = generateEncryptionKeyPair();
  const kek = randomBytes(32);
  const context: GrantKeyContext = { patient: PATIENT, class: 'sensitive', epoch: 2, grantee: ORG_A };

  it('the grantee opens the key sealed to its X25519 key (crypto-layer keys interoperate with @hpke/core)', async () => {
    const sealed = await sealRecordKey(orgA.publicKey, kek, context);
    assert.deepEqual(await openRecordKey(orgA.secretKey, sealed, context), kek);
  });

  it('writes { v, suite, class, epoch, enc, ct } small enough for a consent.grant payload', async () => {
    const sealed = await sealRecordKey(orgA.publicKey, kek, context);
    assert.deepEqual(Object.keys(sealed).sort(), ['class', 'ct', 'enc', 'epoch', 'suite', 'v']);
    assert.equal(sealed.v, 1);
    assert.equal(sealed.suite, GRANT_HPKE_SUITE);
    assert.equal(sealed.suite, 'DHKEM-X25519-HKDF-SHA256/HKDF-SHA256/AES-256-GCM');
    assert.equal(sealed.class, 'sensitive');
    assert.equal(sealed.epoch, 2);
    assert.equal(fromBase64Url(sealed.enc).length, 32);
    assert.equal(fromBase64Url(sealed.ct).length, 48);
    assert.ok(canonicalJson(sealed).length <= MAX_GRANT_KEY_BYTES);
    // A fresh ephemeral key each time.
    assert.notEqual((await sealRecordKey(orgA.publicKey, kek, context)).enc, sealed.enc);
  });

  it("is refused with another organization's secret key", async () => {
    const sealed = await sealRecordKey(orgA.publicKey, kek, context);
    await assert.rejects(openRecordKey(orgB.secretKey, sealed, context), openFailed);
    await assert.rejects(openRecordKey(orgB.secretKey, sealed, { ...context, grantee: ORG_B }), openFailed);
  });

  it('is refused when moved to another patient, grantee, class or epoch', async () => {
    const sealed = await sealRecordKey(orgA.publicKey, kek, context);
    await assert.rejects(openRecordKey(orgA.secretKey, sealed, { ...context, patient: ORG_B }), openFailed);
    await assert.rejects(openRecordKey(orgA.secretKey, sealed, { ...context, grantee: ORG_B }), openFailed);
    await assert.rejects(openRecordKey(orgA.secretKey, sealed, { ...context, class: 'general' }), {
      ...openFailed,
      message: /class sensitive epoch 2, expected class general epoch 2/,
    });
    await assert.rejects(openRecordKey(orgA.secretKey, sealed, { ...context, epoch: 3 }), openFailed);
    // Relabelled to match the other context: the HPKE aad still binds the original one.
    const relabelled: SealedRecordKey = { ...sealed, class: 'general', epoch: 3 };
    await assert.rejects(
      openRecordKey(orgA.secretKey, relabelled, { ...context, class: 'general', epoch: 3 }),
      openFailed,
    );
  });

  it('is refused when tampered with or malformed', async () => {
    const sealed = await sealRecordKey(orgA.publicKey, kek, context);
    const ct = fromBase64Url(sealed.ct);
    ct[5]! ^= 1;
    const enc = fromBase64Url(sealed.enc);
    enc[0]! ^= 1;
    const bad: unknown[] = [
      { ...sealed, ct: toBase64Url(ct) },
      { ...sealed, enc: toBase64Url(enc) },
      { ...sealed, ct: sealed.ct.slice(0, 20) },
      { ...sealed, enc: '*' },
      { ...sealed, v: 2 },
      { ...sealed, suite: 'DHKEM-X25519-HKDF-SHA256/HKDF-SHA256/AES-128-GCM' },
      { ...sealed, epoch: -1 },
      { ...sealed, ct: undefined },
      null,
      'sealed',
    ];
    for (const item of bad) await assert.rejects(openRecordKey(orgA.secretKey, item, context), openFailed);
  });

  it('never reveals the key in its errors', async () => {
    const sealed = await sealRecordKey(orgA.publicKey, kek, context);
    try {
      await openRecordKey(orgB.secretKey, sealed, context);
      assert.fail('expected an error');
    } catch (error) {
      const text = String((error as Error).stack);
      for (const secret of [
        toHex(kek),
        toBase64Url(kek),
        toHex(orgB.secretKey),
        toBase64Url(orgB.secretKey),
      ]) {
        assert.ok(!text.includes(secret));
      }
    }
  });

  it('checks its arguments', async () => {
    const invalid = { code: VaultErrorCode.INVALID_ARGUMENT };
    await assert.rejects(sealRecordKey(orgA.publicKey.subarray(0, 31), kek, context), {
      ...invalid,
      message: /"recipientPublicKey"/,
    });
    await assert.rejects(sealRecordKey(orgA.publicKey, kek.subarray(0, 16), context), {
      ...invalid,
      message: /"kek"/,
    });
    await assert.rejects(sealRecordKey(orgA.publicKey, kek, { ...context, grantee: '' }), {
      ...invalid,
      message: /"context.grantee"/,
    });
    // RFC 7748 §6.1 / RFC 9180 §7.1.4: the all-zero point gives an all-zero shared secret.
    await assert.rejects(sealRecordKey(new Uint8Array(32), kek, context), invalid);
    const sealed = await sealRecordKey(orgA.publicKey, kek, context);
    await assert.rejects(openRecordKey(orgA.secretKey.subarray(1), sealed, context), {
      ...invalid,
      message: /"recipientSecretKey"/,
    });
  });
});

describe('sealGrantKeys / openGrantKeys', () => {
  const { wallet } = createWallet('patient');
  const seed = deriveRecordKeySeed(wallet);
  const org = generateEncryptionKeyPair();

  it("seals the patient's record keys in scope to the grantee, who opens exactly them", async () => {
    const keys = await sealGrantKeys({
      recordKeySeed: seed,
      patient: wallet.did,
      grantee: ORG_A,
      granteePublicKey: org.publicKey,
      keys: [
        { class: 'general', epoch: 0 },
        { class: 'sensitive', epoch: 3 },
        { class: 'sensitive', epoch: 2 },
      ],
    });
    assert.deepEqual(
      keys.map((k) => [k.class, k.epoch]),
      [
        ['general', 0],
        ['sensitive', 3],
        ['sensitive', 2],
      ],
    );
    for (const k of keys) assert.deepEqual(parseSealedRecordKey(JSON.parse(JSON.stringify(k))), k);
    // As read back from a ledger grant: plain JSON.
    const opened = await openGrantKeys(org.secretKey, JSON.parse(JSON.stringify(keys)) as unknown[], {
      patient: wallet.did,
      grantee: ORG_A,
    });
    for (const o of opened) assert.deepEqual(o.kek, deriveRecordKey(seed, wallet.did, o.class, o.epoch));
    await assert.rejects(
      openGrantKeys(org.secretKey, keys, { patient: wallet.did, grantee: ORG_B }),
      openFailed,
    );
  });

  it('refuses an empty or repeated key list', async () => {
    const input = {
      recordKeySeed: seed,
      patient: wallet.did,
      grantee: ORG_A,
      granteePublicKey: org.publicKey,
    };
    await assert.rejects(sealGrantKeys({ ...input, keys: [] }), { code: VaultErrorCode.INVALID_ARGUMENT });
    await assert.rejects(
      sealGrantKeys({
        ...input,
        keys: [
          { class: 'general', epoch: 1 },
          { class: 'general', epoch: 1 },
        ],
      }),
      { code: VaultErrorCode.INVALID_ARGUMENT, message: /"keys\[1\]" repeats class general epoch 1/ },
    );
  });
});
