/**
 * The web app's crypto gives byte-identical results to the node's: the WebCrypto twins in
 * src/crypto/subtle.ts (keys, signatures, AES-GCM), the async wallet and envelope functions, the
 * async transaction builder, and the browser's platform file (web/src/platform.browser.ts:
 * SHA-256, HKDF, scrypt on @noble/hashes). Runs in Node 20, whose crypto.subtle has Ed25519/X25519.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { signedTx, signedTxAsync } from '../../src/client/tx-builder.js';
import {
  aesGcmEncryptAsync,
  didFromSigningKey,
  encryptionKeyPairFromSeed,
  encryptionKeyPairFromSeedAsync,
  open,
  openAsync,
  seal,
  sealAsync,
  sign,
  signAsync,
  signingKeyPairFromSeed,
  signingKeyPairFromSeedAsync,
  utf8ToBytes,
} from '../../src/crypto/index.js';
import * as nodePlatform from '../../src/crypto/platform.js';
import { TxType } from '../../src/ledger/types.js';
import {
  decryptRecord,
  decryptRecordAsync,
  deriveRecordKey,
  encryptRecord,
  openGrantKeys,
  sealGrantKeys,
} from '../../src/vault/index.js';
import {
  createWalletAsync,
  decodeWalletFile,
  deriveRecordKeySeed,
  encodeWalletFile,
  restoreWallet,
  restoreWalletAsync,
} from '../../src/wallet/index.js';
import * as browserPlatform from '../../web/src/platform.browser.js';

const PHRASE =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon ' +
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art';
const FAST_KDF = { N: 32768, r: 8, p: 1 };
const seed32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('browser crypto parity', () => {
  it('derives the same Ed25519 and X25519 keys and did:key from a seed', async () => {
    await fc.assert(
      fc.asyncProperty(seed32, async (seed) => {
        const signing = await signingKeyPairFromSeedAsync(seed);
        assert.deepEqual(signing.publicKey, signingKeyPairFromSeed(seed).publicKey);
        assert.equal(
          didFromSigningKey(signing.publicKey),
          didFromSigningKey(signingKeyPairFromSeed(seed).publicKey),
        );
        assert.deepEqual(
          (await encryptionKeyPairFromSeedAsync(seed)).publicKey,
          encryptionKeyPairFromSeed(seed).publicKey,
        );
      }),
      { numRuns: 25 },
    );
  });

  it('makes the same Ed25519 signatures (RFC 8032 is deterministic)', async () => {
    await fc.assert(
      fc.asyncProperty(seed32, fc.uint8Array({ maxLength: 300 }), async (seed, message) => {
        assert.deepEqual(await signAsync(seed, message), sign(seed, message));
      }),
      { numRuns: 25 },
    );
  });

  it('seals and opens AES-256-GCM interchangeably, and refuses a wrong AAD', async () => {
    const key = new Uint8Array(32).fill(7);
    const iv = new Uint8Array(12).fill(1);
    const aad = utf8ToBytes('aad');
    const plaintext = utf8ToBytes('{"resourceType":"Observation"}');
    assert.deepEqual(
      await aesGcmEncryptAsync(key, iv, plaintext, aad),
      nodePlatform.aes256GcmEncrypt(key, iv, plaintext, aad),
    );
    const a = seal(key, plaintext, aad);
    assert.deepEqual(await openAsync(key, a.iv, a.ciphertext, aad), plaintext);
    const b = await sealAsync(key, plaintext, aad);
    assert.deepEqual(open(key, b.iv, b.ciphertext, aad), plaintext);
    await assert.rejects(openAsync(key, b.iv, b.ciphertext, utf8ToBytes('other')), {
      code: 'DECRYPT_FAILED',
    });
  });

  it('restores the same patient wallet from a phrase (DID, keys, master seed, record keys)', async () => {
    const sync = restoreWallet(PHRASE);
    const async = await restoreWalletAsync(PHRASE);
    assert.equal(async.did, sync.did);
    assert.deepEqual(async.signing, sync.signing);
    assert.deepEqual(async.encryption, sync.encryption);
    assert.deepEqual(async.masterSeed, sync.masterSeed);
    assert.deepEqual(
      deriveRecordKey(deriveRecordKeySeed(async), async.did, 'general', 2),
      deriveRecordKey(deriveRecordKeySeed(sync), sync.did, 'general', 2),
    );
    await assert.rejects(restoreWalletAsync('not a phrase'), { code: 'BAD_MNEMONIC' });
  });

  it('creates wallets whose files open with the keystore (same format as the CLI)', async () => {
    for (const role of ['patient', 'practitioner'] as const) {
      const { wallet, mnemonic } = await createWalletAsync(role);
      assert.equal(mnemonic === undefined, role !== 'patient');
      assert.deepEqual(signingKeyPairFromSeed(wallet.signing.secretKey).publicKey, wallet.signing.publicKey);
      const file = await encodeWalletFile(wallet, 'a passphrase', FAST_KDF);
      const opened = await decodeWalletFile(file, 'a passphrase');
      assert.equal(opened.did, wallet.did);
      assert.deepEqual(opened.encryption, wallet.encryption);
      await assert.rejects(decodeWalletFile(file, 'wrong passphrase'), { code: 'BAD_PASSPHRASE' });
    }
  });

  it('decrypts a record the node encrypted, with the same checks', async () => {
    const wallet = restoreWallet(PHRASE);
    const kek = deriveRecordKey(deriveRecordKeySeed(wallet), wallet.did, 'general', 0);
    const context = {
      recordId: 'obs-1',
      version: 1,
      patient: wallet.did,
      class: 'general' as const,
      epoch: 0,
    };
    const resource = {
      resourceType: 'Observation',
      status: 'final',
      valueQuantity: { value: 7.1, unit: '%' },
    };
    const encrypted = encryptRecord({ ...context, resource, kek });
    const input = {
      ...context,
      blob: encrypted.blob,
      wrappedDek: encrypted.wrappedDek,
      kek,
      expectedContentHash: encrypted.contentHash,
    };
    assert.deepEqual(await decryptRecordAsync(input), decryptRecord(input));
    await assert.rejects(decryptRecordAsync({ ...input, version: 2 }), { code: 'VAULT_DECRYPT_FAILED' });
    await assert.rejects(decryptRecordAsync({ ...input, expectedContentHash: '0'.repeat(64) }), {
      code: 'VAULT_CONTENT_HASH_MISMATCH',
    });
  });

  it('seals grant keys in a browser-made wallet that the organization opens', async () => {
    const patient = await restoreWalletAsync(PHRASE);
    const org = encryptionKeyPairFromSeed(new Uint8Array(32).fill(9));
    const sealed = await sealGrantKeys({
      recordKeySeed: deriveRecordKeySeed(patient),
      patient: patient.did,
      grantee: 'did:key:org',
      granteePublicKey: org.publicKey,
      keys: [{ class: 'general', epoch: 0 }],
    });
    const [opened] = await openGrantKeys(org.secretKey, sealed, {
      patient: patient.did,
      grantee: 'did:key:org',
    });
    assert.deepEqual(opened!.kek, deriveRecordKey(deriveRecordKeySeed(patient), patient.did, 'general', 0));
  });

  it('builds the same signed transaction', async () => {
    const wallet = restoreWallet(PHRASE);
    const options = { chainId: 'roam-parity', nonce: 'nonce-0001', issuedAt: 1_700_000_000_000 };
    const payload = { encryptionKey: 'a'.repeat(43) };
    assert.deepEqual(
      await signedTxAsync(wallet, TxType.PatientRegister, payload, options),
      signedTx(wallet, TxType.PatientRegister, payload, options),
    );
  });

  it("the browser platform's SHA-256, HKDF and scrypt equal node:crypto's", async () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 40 }), (data, salt) => {
        assert.deepEqual(browserPlatform.sha256(data), nodePlatform.sha256(data));
        const incremental = browserPlatform.createSha256();
        incremental.update(data);
        incremental.update(salt);
        assert.deepEqual(incremental.digest(), nodePlatform.sha256(new Uint8Array([...data, ...salt])));
        assert.deepEqual(
          browserPlatform.hkdfSha256(data, salt, utf8ToBytes('info'), 32),
          nodePlatform.hkdfSha256(data, salt, utf8ToBytes('info'), 32),
        );
      }),
      { numRuns: 50 },
    );
    const params = { N: 1024, r: 8, p: 1 };
    assert.deepEqual(
      await browserPlatform.scrypt(utf8ToBytes('pass'), utf8ToBytes('salt'), params, 32),
      await nodePlatform.scrypt(utf8ToBytes('pass'), utf8ToBytes('salt'), params, 32),
    );
    assert.throws(() => browserPlatform.ed25519Sign(new Uint8Array(32), new Uint8Array(1)), /signAsync/);
  });
});
