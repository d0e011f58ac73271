// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
/**
 * Issue #9, part 7: a wallet file whose passphrase is cheap to guess offline. New files use
 * scrypt N = 2^17; files (or requests) below N = 2^15 are refused with WEAK_KDF.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createWallet, decodeWalletFile, encodeWalletFile, WalletErrorCode } from '../../src/wallet/index.js';

const PASSPHRASE = 'correct horse battery staple';

function weakKdf(error: unknown): boolean {
  const { code, field } = error as { code?: string; field?: string };
  assert.equal(code, WalletErrorCode.WEAK_KDF);
  assert.match(field ?? '', /\.N$/);
  return true;
}

describe('wallet file scrypt cost', () => {
  test('a new wallet file is protected with N = 2^17 by default', async () => {
    const { wallet } = createWallet('patient');
    const file = JSON.parse(await encodeWalletFile(wallet, PASSPHRASE)) as { kdf: { N: number } };
    assert.equal(file.kdf.N, 2 ** 17);
  });

  test('no new wallet file with N = 1024 (or anything under 2^15)', async () => {
    const { wallet } = createWallet('patient');
    for (const N of [1024, 2 ** 14]) {
      await assert.rejects(encodeWalletFile(wallet, PASSPHRASE, { N, r: 8, p: 1 }), weakKdf);
    }
  });

  test('a wallet file that says N = 1024 is not opened, whatever its passphrase', async () => {
    const { wallet } = createWallet('patient');
    const file = JSON.parse(await encodeWalletFile(wallet, PASSPHRASE, { N: 2 ** 15, r: 8, p: 1 })) as {
      kdf: { N: number };
    };
    file.kdf.N = 1024;
    await assert.rejects(decodeWalletFile(JSON.stringify(file), PASSPHRASE), weakKdf);
  });
});
