// node:test's describe/it return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "it"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { hkdfSync, pbkdf2Sync } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CryptoErrorCode,
  didFromSigningKey,
  fromBase64Url,
  generateSigningKeyPair,
  signingKeyPairFromSeed,
  toBase64Url,
} from '../crypto/index.js';
import {
  DEFAULT_KDF_PARAMS,
  MIN_KDF_N,
  PARTY_ROLES,
  WalletErrorCode,
  createWallet,
  decodeWalletFile,
  deriveRecordKeySeed,
  encodeWalletFile,
  loadWallet,
  resolvePassphrase,
  restoreWallet,
  saveWallet,
  withRotatedSigningKey,
  type KdfParams,
  type Wallet,
} from './index.js';

// The cheapest cost the keystore accepts: keeps each open/save at a few milliseconds.
const FAST_KDF: KdfParams = { N: MIN_KDF_N, r: 8, p: 1 };
const PASSPHRASE = 'correct horse battery staple';

function codeIs(code: string) {
  return (error: unknown): boolean => {
    assert.equal((error as { code?: string }).code, code, (error as Error).message);
    return true;
  };
}

function assertSameWallet(actual: Wallet, expected: Wallet): void {
  assert.equal(actual.role, expected.role);
  assert.equal(actual.did, expected.did);
  assert.deepEqual(actual.signing, expected.signing);
  assert.deepEqual(actual.encryption, expected.encryption);
  assert.deepEqual(actual.masterSeed, expected.masterSeed);
  assert.equal(actual.createdAt, expected.createdAt);
}

type WalletFileJson = Record<string, unknown> & {
  kdf: Record<string, unknown>;
  cipher: Record<string, unknown>;
};

async function editedFile(wallet: Wallet, edit: (file: WalletFileJson) => void): Promise<string> {
  const file = JSON.parse(await encodeWalletFile(wallet, PASSPHRASE, FAST_KDF)) as WalletFileJson;
  edit(file);
  return JSON.stringify(file);
}

describe('createWallet / restoreWallet', () => {
  it('gives a patient a 24-word phrase, a 64-byte master seed and a did:key of its signing key', () => {
    const { wallet, mnemonic } = createWallet('patient');
    assert.equal(mnemonic?.split(' ').length, 24);
    assert.equal(wallet.masterSeed?.length, 64);
    assert.equal(wallet.did, didFromSigningKey(wallet.signing.publicKey));
    assert.ok(!Number.isNaN(Date.parse(wallet.createdAt)));
  });

  for (const role of PARTY_ROLES.filter((r) => r !== 'patient')) {
    it(`gives a ${role} random keys, no phrase and no master seed`, () => {
      const { wallet, mnemonic } = createWallet(role);
      assert.equal(mnemonic, undefined);
      assert.equal(wallet.masterSeed, undefined);
      assert.equal(wallet.role, role);
      assert.equal(wallet.did, didFromSigningKey(wallet.signing.publicKey));
      assert.notDeepEqual(createWallet(role).wallet.signing.publicKey, wallet.signing.publicKey);
    });
  }

  it('rejects an unknown role', () => {
    assert.throws(() => createWallet('doctor' as 'admin'), codeIs(CryptoErrorCode.INVALID_ARGUMENT));
  });

  it('derives keys exactly as specified (BIP-39 seed, then HKDF-SHA256 with salt roam-wallet-v1)', () => {
    const { wallet, mnemonic } = createWallet('patient');
    // Independent derivation with node:crypto: BIP-39 seed = PBKDF2-HMAC-SHA512(phrase, "mnemonic", 2048).
    const masterSeed = new Uint8Array(
      pbkdf2Sync(mnemonic!.normalize('NFKD'), 'mnemonic', 2048, 64, 'sha512'),
    );
    const derive = (info: string) =>
      new Uint8Array(hkdfSync('sha256', masterSeed, 'roam-wallet-v1', info, 32));
    assert.deepEqual(wallet.masterSeed, masterSeed);
    assert.deepEqual(wallet.signing.secretKey, derive('signing'));
    assert.deepEqual(wallet.encryption.secretKey, derive('encryption'));
    assert.deepEqual(deriveRecordKeySeed(wallet), derive('records'));
  });

  it('restores the same DID, keys and master seed from the phrase', () => {
    const { wallet, mnemonic } = createWallet('patient');
    const restored = restoreWallet(mnemonic!);
    assert.equal(restored.did, wallet.did);
    assert.deepEqual(restored.signing, wallet.signing);
    assert.deepEqual(restored.encryption, wallet.encryption);
    assert.deepEqual(restored.masterSeed, wallet.masterSeed);
    assert.deepEqual(deriveRecordKeySeed(restored), deriveRecordKeySeed(wallet));
  });

  it('accepts the phrase with extra whitespace and capitals, as a person may type it', () => {
    const { wallet, mnemonic } = createWallet('patient');
    const typed = `  ${mnemonic!.toUpperCase().split(' ').join('  \n')} `;
    assert.equal(restoreWallet(typed).did, wallet.did);
  });

  it('rejects bad phrases with BAD_MNEMONIC, without echoing any word', () => {
    const { mnemonic } = createWallet('patient');
    const words = mnemonic!.split(' ');
    const swapped = [...words];
    // Find a swap that breaks the checksum (two equal words would not).
    const j = swapped.findIndex((w) => w !== swapped[0]);
    [swapped[0], swapped[j]] = [swapped[j]!, swapped[0]!];
    for (const bad of [
      '',
      words.slice(0, 12).join(' '),
      words.slice(0, 23).join(' '),
      [...words.slice(0, 23), 'notaword'].join(' '),
      swapped.join(' '),
    ]) {
      assert.throws(
        () => restoreWallet(bad),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, WalletErrorCode.BAD_MNEMONIC);
          // The message is one of two fixed texts: it can never echo a word of the phrase. (A
          // substring check would flake: BIP-39 words such as "act" or "ten" occur in English.)
          assert.match(
            error.message,
            /^recovery phrase (must have 24 words, got \d+|is not valid: a word is not in the BIP-39 English list or the checksum does not match)$/,
          );
          return true;
        },
      );
    }
  });
});

describe('deriveRecordKeySeed / withRotatedSigningKey', () => {
  it('refuses a wallet without a master seed with NOT_A_PATIENT_WALLET', () => {
    assert.throws(
      () => deriveRecordKeySeed(createWallet('practitioner').wallet),
      codeIs(WalletErrorCode.NOT_A_PATIENT_WALLET),
    );
  });

  it('rotation changes the signing key and keeps the DID', () => {
    const { wallet } = createWallet('patient');
    const newKey = generateSigningKeyPair();
    const rotated = withRotatedSigningKey(wallet, newKey);
    assert.equal(rotated.did, wallet.did);
    assert.deepEqual(rotated.signing, newKey);
    assert.deepEqual(rotated.masterSeed, wallet.masterSeed);
    assert.notDeepEqual(wallet.signing, newKey, 'the original wallet is not modified');
  });

  it('rotation refuses a key pair whose halves do not match', () => {
    const { wallet } = createWallet('admin');
    const mismatched = { secretKey: generateSigningKeyPair().secretKey, publicKey: wallet.signing.publicKey };
    assert.throws(() => withRotatedSigningKey(wallet, mismatched), codeIs(CryptoErrorCode.INVALID_ARGUMENT));
  });
});

describe('wallet file: encode / decode', () => {
  for (const role of PARTY_ROLES) {
    it(`round-trips a ${role} wallet`, async () => {
      const { wallet } = createWallet(role);
      const text = await encodeWalletFile(wallet, PASSPHRASE, FAST_KDF);
      assertSameWallet(await decodeWalletFile(text, PASSPHRASE), wallet);
    });
  }

  it('round-trips a rotated wallet: the DID stays, the current key is kept', async () => {
    const { wallet } = createWallet('patient');
    const rotated = withRotatedSigningKey(wallet, generateSigningKeyPair());
    const loaded = await decodeWalletFile(await encodeWalletFile(rotated, PASSPHRASE, FAST_KDF), PASSPHRASE);
    assertSameWallet(loaded, rotated);
  });

  it('writes the documented format, with the public header in clear and no secret', async () => {
    const { wallet } = createWallet('patient');
    const text = await encodeWalletFile(wallet, PASSPHRASE, FAST_KDF);
    const file = JSON.parse(text) as WalletFileJson;
    assert.deepEqual(Object.keys(file), [
      'format',
      'version',
      'role',
      'did',
      'signingPublicKey',
      'encryptionPublicKey',
      'kdf',
      'cipher',
    ]);
    assert.equal(file.format, 'roam-wallet');
    assert.equal(file.version, 1);
    assert.equal(file.did, wallet.did);
    assert.equal(file.signingPublicKey, toBase64Url(wallet.signing.publicKey));
    assert.deepEqual({ ...file.kdf, salt: undefined }, { name: 'scrypt', ...FAST_KDF, salt: undefined });
    assert.equal(file.cipher.name, 'aes-256-gcm');
    for (const secret of [wallet.signing.secretKey, wallet.encryption.secretKey, wallet.masterSeed!]) {
      assert.ok(!text.includes(toBase64Url(secret)));
    }
  });

  it('uses N = 2^17, r = 8, p = 1 by default', async () => {
    const { wallet } = createWallet('node');
    const file = JSON.parse(await encodeWalletFile(wallet, PASSPHRASE)) as WalletFileJson;
    assert.deepEqual([file.kdf.N, file.kdf.r, file.kdf.p], [131072, 8, 1]);
    assert.equal(DEFAULT_KDF_PARAMS.N, 131072);
  });

  it('a wrong passphrase gives BAD_PASSPHRASE, and the message holds no passphrase', async () => {
    const { wallet } = createWallet('patient');
    const text = await encodeWalletFile(wallet, PASSPHRASE, FAST_KDF);
    await assert.rejects(
      decodeWalletFile(text, 'correct horse battery stapler'),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, WalletErrorCode.BAD_PASSPHRASE);
        assert.ok(!error.message.includes('horse'));
        return true;
      },
    );
  });

  it('one changed byte in the ciphertext gives BAD_PASSPHRASE', async () => {
    const { wallet } = createWallet('patient');
    const text = await editedFile(wallet, (file) => {
      const bytes = fromBase64Url(file.cipher.ciphertext as string);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
      file.cipher.ciphertext = toBase64Url(bytes);
    });
    await assert.rejects(decodeWalletFile(text, PASSPHRASE), codeIs(WalletErrorCode.BAD_PASSPHRASE));
  });

  for (const [name, edit] of [
    ['did', (file: WalletFileJson) => (file.did = createWallet('patient').wallet.did)],
    ['role', (file: WalletFileJson) => (file.role = 'practitioner')],
    [
      'signingPublicKey',
      (file: WalletFileJson) => (file.signingPublicKey = toBase64Url(generateSigningKeyPair().publicKey)),
    ],
    [
      'encryptionPublicKey',
      (file: WalletFileJson) => (file.encryptionPublicKey = toBase64Url(new Uint8Array(32).fill(9))),
    ],
    ['kdf.N', (file: WalletFileJson) => (file.kdf.N = 2 * MIN_KDF_N)],
    ['cipher.iv', (file: WalletFileJson) => (file.cipher.iv = toBase64Url(new Uint8Array(12)))],
  ] as const) {
    it(`an edited ${name} makes opening fail`, async () => {
      const { wallet } = createWallet('patient');
      const text = await editedFile(wallet, edit);
      await assert.rejects(decodeWalletFile(text, PASSPHRASE), codeIs(WalletErrorCode.BAD_PASSPHRASE));
    });
  }

  for (const [field, edit] of [
    ['format', (file: WalletFileJson) => (file.format = 'other-wallet')],
    ['version', (file: WalletFileJson) => (file.version = 2)],
    ['role', (file: WalletFileJson) => (file.role = 'doctor')],
    ['did', (file: WalletFileJson) => (file.did = 'did:web:example.org')],
    ['signingPublicKey', (file: WalletFileJson) => (file.signingPublicKey = 'AAAA')],
    ['kdf.name', (file: WalletFileJson) => (file.kdf.name = 'pbkdf2')],
    ['kdf.N', (file: WalletFileJson) => (file.kdf.N = 2 ** 30)],
    ['kdf.N', (file: WalletFileJson) => (file.kdf.N = 1000)],
    ['kdf.salt', (file: WalletFileJson) => (file.kdf.salt = 42)],
    ['cipher.iv', (file: WalletFileJson) => (file.cipher.iv = toBase64Url(new Uint8Array(16)))],
    ['cipher.ciphertext', (file: WalletFileJson) => (file.cipher.ciphertext = 'not base64url!')],
    ['extra', (file: WalletFileJson) => (file.extra = true)],
  ] as const) {
    it(`a malformed ${field} gives WALLET_CORRUPT naming the field`, async () => {
      const { wallet } = createWallet('patient');
      const text = await editedFile(wallet, edit);
      await assert.rejects(
        decodeWalletFile(text, PASSPHRASE),
        (error: Error & { code?: string; field?: string }) => {
          assert.equal(error.code, WalletErrorCode.WALLET_CORRUPT);
          assert.equal(error.field, field);
          assert.ok(error.message.includes(`"${field}"`), error.message);
          return true;
        },
      );
    });
  }

  it('text that is not JSON gives WALLET_CORRUPT', async () => {
    await assert.rejects(
      decodeWalletFile('{"format": "roam-wallet",', PASSPHRASE),
      codeIs(WalletErrorCode.WALLET_CORRUPT),
    );
    await assert.rejects(decodeWalletFile('[]', PASSPHRASE), codeIs(WalletErrorCode.WALLET_CORRUPT));
  });

  it('refuses passphrases under 8 characters for a new file, counting characters not bytes', async () => {
    const { wallet } = createWallet('admin');
    await assert.rejects(
      encodeWalletFile(wallet, 'seven77', FAST_KDF),
      codeIs(WalletErrorCode.WEAK_PASSPHRASE),
    );
    await assert.rejects(
      encodeWalletFile(wallet, '🔑🔑🔑🔑', FAST_KDF),
      codeIs(WalletErrorCode.WEAK_PASSPHRASE),
    );
    await assert.rejects(encodeWalletFile(wallet, '', FAST_KDF), codeIs(WalletErrorCode.PASSPHRASE_REQUIRED));
    const text = await encodeWalletFile(wallet, 'eight888', FAST_KDF);
    assert.equal((await decodeWalletFile(text, 'eight888')).did, wallet.did);
  });

  it('treats the passphrase in Unicode NFC, so composed and decomposed forms open the same file', async () => {
    const { wallet } = createWallet('admin');
    const text = await encodeWalletFile(wallet, 'mot de passe é', FAST_KDF);
    assert.equal((await decodeWalletFile(text, 'mot de passe e\u0301')).did, wallet.did);
  });

  it('refuses out-of-range scrypt parameters', async () => {
    const { wallet } = createWallet('admin');
    for (const params of [
      { N: 1000, r: 8, p: 1 },
      { N: 2 ** 21, r: 8, p: 1 },
      { N: MIN_KDF_N, r: 0, p: 1 },
      { N: MIN_KDF_N, r: 8, p: 0 },
    ]) {
      await assert.rejects(
        encodeWalletFile(wallet, PASSPHRASE, params),
        codeIs(CryptoErrorCode.INVALID_ARGUMENT),
      );
    }
  });

  it('a patient file whose DID is not that of its master seed is corrupt (written by a broken tool)', async () => {
    const { wallet } = createWallet('patient');
    const other = createWallet('patient').wallet;
    // Consistent keys and AAD, wrong identity: only the master-seed check can notice.
    const text = await encodeWalletFile({ ...wallet, did: other.did }, PASSPHRASE, FAST_KDF);
    await assert.rejects(decodeWalletFile(text, PASSPHRASE), (error: Error & { field?: string }) => {
      assert.equal(error.field, 'did');
      return true;
    });
  });

  it('a file whose header key is not the key inside is corrupt', async () => {
    const { wallet } = createWallet('node');
    const lying = {
      ...wallet,
      signing: { ...wallet.signing, publicKey: signingKeyPairFromSeed(new Uint8Array(32)).publicKey },
    };
    const text = await encodeWalletFile(lying, PASSPHRASE, FAST_KDF);
    await assert.rejects(decodeWalletFile(text, PASSPHRASE), (error: Error & { field?: string }) => {
      assert.equal(error.field, 'signingPublicKey');
      return true;
    });
  });
});

describe('wallet file on disk: saveWallet / loadWallet', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'roam-wallet-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const role of PARTY_ROLES) {
    it(`saves and loads a ${role} wallet`, async () => {
      const path = join(dir, `${role}.wallet.json`);
      const { wallet } = createWallet(role);
      await saveWallet(path, wallet, PASSPHRASE, { kdfParams: FAST_KDF });
      assertSameWallet(await loadWallet(path, PASSPHRASE), wallet);
    });
  }

  it('writes mode 0600 even under a permissive umask, and leaves no temporary file', async () => {
    const path = join(dir, 'mode.wallet.json');
    const previous = process.umask(0o000);
    try {
      await saveWallet(path, createWallet('patient').wallet, PASSPHRASE, { kdfParams: FAST_KDF });
    } finally {
      process.umask(previous);
    }
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.endsWith('.tmp')),
      [],
    );
  });

  it('refuses to overwrite an existing file unless asked, and then replaces it', async () => {
    const path = join(dir, 'overwrite.wallet.json');
    const first = createWallet('practitioner').wallet;
    const second = createWallet('practitioner').wallet;
    await saveWallet(path, first, PASSPHRASE, { kdfParams: FAST_KDF });
    const before = await readFile(path, 'utf8');
    await assert.rejects(
      saveWallet(path, second, PASSPHRASE, { kdfParams: FAST_KDF }),
      codeIs(WalletErrorCode.WALLET_EXISTS),
    );
    assert.equal(await readFile(path, 'utf8'), before, 'the existing file is untouched');
    await saveWallet(path, second, PASSPHRASE, { kdfParams: FAST_KDF, overwrite: true });
    assert.equal((await loadWallet(path, PASSPHRASE)).did, second.did);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.endsWith('.tmp')),
      [],
    );
  });

  it('gives WALLET_NOT_FOUND for a missing file', async () => {
    await assert.rejects(
      loadWallet(join(dir, 'missing.wallet.json'), PASSPHRASE),
      codeIs(WalletErrorCode.WALLET_NOT_FOUND),
    );
  });

  it('gives BAD_PASSPHRASE for a wrong passphrase and for one changed ciphertext byte on disk', async () => {
    const path = join(dir, 'tamper.wallet.json');
    await saveWallet(path, createWallet('patient').wallet, PASSPHRASE, { kdfParams: FAST_KDF });
    await assert.rejects(loadWallet(path, 'not the passphrase'), codeIs(WalletErrorCode.BAD_PASSPHRASE));
    const file = JSON.parse(await readFile(path, 'utf8')) as WalletFileJson;
    const bytes = fromBase64Url(file.cipher.ciphertext as string);
    bytes[0]! ^= 0x80;
    file.cipher.ciphertext = toBase64Url(bytes);
    await writeFile(path, JSON.stringify(file));
    await assert.rejects(loadWallet(path, PASSPHRASE), codeIs(WalletErrorCode.BAD_PASSPHRASE));
  });
});

describe('resolvePassphrase', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'roam-passphrase-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function fileWith(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text, { mode: 0o600 });
    return path;
  }

  it('reads the file, trimming exactly one trailing newline', async () => {
    assert.equal(
      await resolvePassphrase({ passphraseFile: await fileWith('a', 'secret pass\n'), env: {} }),
      'secret pass',
    );
    assert.equal(
      await resolvePassphrase({ passphraseFile: await fileWith('b', 'secret pass\r\n'), env: {} }),
      'secret pass',
    );
    assert.equal(
      await resolvePassphrase({ passphraseFile: await fileWith('c', 'secret pass\n\n'), env: {} }),
      'secret pass\n',
    );
    assert.equal(
      await resolvePassphrase({ passphraseFile: await fileWith('d', ' spaced '), env: {} }),
      ' spaced ',
    );
  });

  it('prefers the file to ROAM_PASSPHRASE, and uses ROAM_PASSPHRASE without a file', async () => {
    const env = { ROAM_PASSPHRASE: 'from env var' };
    assert.equal(
      await resolvePassphrase({ passphraseFile: await fileWith('e', 'from file\n'), env }),
      'from file',
    );
    assert.equal(await resolvePassphrase({ env }), 'from env var');
  });

  it('without either, throws PASSPHRASE_REQUIRED naming both ways', async () => {
    for (const env of [{}, { ROAM_PASSPHRASE: '' }]) {
      await assert.rejects(resolvePassphrase({ env }), (error: Error & { code?: string }) => {
        assert.equal(error.code, WalletErrorCode.PASSPHRASE_REQUIRED);
        assert.match(error.message, /passphrase file/);
        assert.match(error.message, /ROAM_PASSPHRASE/);
        return true;
      });
    }
  });

  it('an empty file is no passphrase; an unreadable file is named', async () => {
    await assert.rejects(
      resolvePassphrase({ passphraseFile: await fileWith('f', '\n'), env: { ROAM_PASSPHRASE: 'ignored' } }),
      codeIs(WalletErrorCode.PASSPHRASE_REQUIRED),
    );
    const missing = join(dir, 'missing');
    await assert.rejects(
      resolvePassphrase({ passphraseFile: missing, env: {} }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, WalletErrorCode.PASSPHRASE_FILE_UNREADABLE);
        assert.ok(error.message.includes(missing));
        return true;
      },
    );
  });
});
