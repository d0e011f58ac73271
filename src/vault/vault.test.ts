import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  didFromSigningKey,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  randomBytes,
  sha256Hex,
} from '../crypto/index.js';
import type { SensitivityClass } from '../ledger/types.js';
import { createWallet, deriveRecordKeySeed } from '../wallet/index.js';
import { decryptRecord } from './envelope.js';
import { VaultErrorCode } from './errors.js';
import { openGrantKeys, sealGrantKeys, type OpenedRecordKey } from './grants.js';
import { deriveRecordKey, type KeyRef } from './keys.js';
import { Vault, type KekResolver, type WriteRecordVersionInput } from './vault.js';

const dir = mkdtempSync(join(tmpdir(), 'roam-vault-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function openVault(): { vault: Vault; path: string } {
  const path = join(dir, `vault-${++files}.sqlite`);
  return { vault: Vault.open(path, { now: () => 1_750_000_000_000 }), path };
}

const newDid = (): string => didFromSigningKey(generateSigningKeyPair().publicKey);
const { wallet: patient } = createWallet('patient');
const seed = deriveRecordKeySeed(patient);
const kekOf = (cls: SensitivityClass, epoch: number): Uint8Array =>
  deriveRecordKey(seed, patient.did, cls, epoch);
/** The patient's own resolver: every key derives from the wallet. */
const patientResolver: KekResolver = (ref) => kekOf(ref.class, ref.epoch);
const CUSTODIAN = newDid();
const AUTHOR = newDid();

function observation(value: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    valueQuantity: { value, unit: 'beats/minute' },
    ...extra,
  };
}

function write(vault: Vault, overrides: Partial<WriteRecordVersionInput> & { recordId: string }): string {
  const cls = overrides.class ?? 'general';
  const epoch = overrides.epoch ?? 0;
  return vault.writeRecordVersion({
    version: 1,
    patient: patient.did,
    resourceType: 'Observation',
    class: cls,
    epoch,
    resource: observation(60),
    kek: overrides.kek ?? kekOf(cls, epoch),
    custodian: CUSTODIAN,
    author: AUTHOR,
    ...overrides,
  }).contentHash;
}

function resolverFrom(keys: readonly OpenedRecordKey[]): KekResolver {
  return (ref: KeyRef) => keys.find((k) => k.class === ref.class && k.epoch === ref.epoch)?.kek;
}

function fileBytes(path: string): Buffer {
  const parts = [path, `${path}-wal`].filter((p) => existsSync(p)).map((p) => readFileSync(p));
  return Buffer.concat(parts);
}

describe('Vault', () => {
  it('writes a version and reads it back (latest or by number), with its metadata', () => {
    const { vault } = openVault();
    try {
      const h1 = write(vault, { recordId: 'rec-rt', resource: observation(61) });
      const h2 = write(vault, { recordId: 'rec-rt', version: 2, resource: observation(62) });
      assert.deepEqual(vault.readRecordVersion('rec-rt', 1, patientResolver), observation(61));
      assert.deepEqual(vault.readRecordVersion('rec-rt', undefined, patientResolver), observation(62));
      assert.deepEqual(vault.getVersionInfo('rec-rt'), {
        recordId: 'rec-rt',
        version: 2,
        patient: patient.did,
        resourceType: 'Observation',
        class: 'general',
        epoch: 0,
        contentHash: h2,
        custodian: CUSTODIAN,
        author: AUTHOR,
        createdAt: 1_750_000_000_000,
      });
      const { blob, info } = vault.readCiphertext('rec-rt', 1);
      assert.equal(sha256Hex(blob), h1);
      assert.equal(info.contentHash, h1);
    } finally {
      vault.close();
    }
  });

  it('reads many versions at once as it reads each, leaving out erased and missing ones', () => {
    const { vault } = openVault();
    try {
      write(vault, { recordId: 'rec-many-a', resource: observation(71) });
      write(vault, { recordId: 'rec-many-a', version: 2, resource: observation(72) });
      write(vault, { recordId: 'rec-many-b', resource: observation(73) });
      write(vault, { recordId: 'rec-many-gone', resource: observation(74) });
      vault.erase('rec-many-gone');
      const read = vault.readCiphertexts([
        { recordId: 'rec-many-a', version: 1 },
        { recordId: 'rec-many-a', version: 2 },
        { recordId: 'rec-many-b', version: 1 },
        { recordId: 'rec-many-b', version: 2 }, // never written
        { recordId: 'rec-many-gone', version: 1 }, // erased
      ]);
      assert.deepEqual([...read.keys()].sort(), ['rec-many-a|1', 'rec-many-a|2', 'rec-many-b|1']);
      for (const [recordId, version, value] of [
        ['rec-many-a', 1, 71],
        ['rec-many-a', 2, 72],
        ['rec-many-b', 1, 73],
      ] as const) {
        const ciphertext = read.get(`${recordId}|${version}`)!;
        assert.deepEqual(ciphertext, vault.readCiphertext(recordId, version));
        assert.deepEqual(vault.decryptCiphertext(ciphertext, patientResolver), observation(value));
      }
      // Decrypting what was read at once keeps every check: a wrong key still fails.
      assert.throws(
        () => vault.decryptCiphertext(read.get('rec-many-b|1')!, () => kekOf('general', 1)),
        (e: { code?: string }) => e.code === VaultErrorCode.DECRYPT_FAILED,
      );
    } finally {
      vault.close();
    }
  });

  it('reports a missing record or version, a missing key and a wrong key', () => {
    const { vault } = openVault();
    try {
      write(vault, { recordId: 'rec-err' });
      assert.throws(() => vault.readRecordVersion('rec-none', undefined, patientResolver), {
        code: VaultErrorCode.NOT_FOUND,
      });
      assert.throws(() => vault.readRecordVersion('rec-err', 2, patientResolver), {
        code: VaultErrorCode.NOT_FOUND,
      });
      assert.throws(() => vault.readRecordVersion('rec-err', 1, () => undefined), {
        code: VaultErrorCode.KEY_UNAVAILABLE,
        message: /class general epoch 0/,
      });
      assert.throws(() => vault.readRecordVersion('rec-err', 1, () => randomBytes(32)), {
        code: VaultErrorCode.DECRYPT_FAILED,
      });
      assert.throws(() => vault.readRecordVersion('rec-err', 1, () => kekOf('sensitive', 0)), {
        code: VaultErrorCode.DECRYPT_FAILED,
      });
    } finally {
      vault.close();
    }
  });

  it('detects a blob changed at rest (content hash) and refuses conflicting writes', () => {
    const { vault } = openVault();
    try {
      const hash = write(vault, { recordId: 'rec-w' });
      vault.store.db
        .prepare('UPDATE blobs SET data = ? WHERE hash = ?')
        .run(Buffer.from(randomBytes(60)), hash);
      assert.throws(() => vault.readRecordVersion('rec-w', 1, patientResolver), {
        code: VaultErrorCode.CONTENT_HASH_MISMATCH,
      });
      assert.throws(() => write(vault, { recordId: 'rec-w' }), { code: VaultErrorCode.VERSION_EXISTS });
      assert.throws(() => write(vault, { recordId: 'rec-w', version: 2, patient: newDid() }), {
        code: VaultErrorCode.RECORD_MISMATCH,
      });
      assert.throws(
        () =>
          write(vault, {
            recordId: 'rec-w',
            version: 2,
            resourceType: 'Condition',
            resource: { resourceType: 'Condition' },
          }),
        { code: VaultErrorCode.RECORD_MISMATCH },
      );
      assert.throws(() => write(vault, { recordId: 'rec-x', resourceType: 'Condition' }), {
        code: VaultErrorCode.INVALID_ARGUMENT,
        message: /"resource.resourceType"/,
      });
    } finally {
      vault.close();
    }
  });

  it('refuses to write a resource labelled sensitive as general, and writes it as sensitive', () => {
    const { vault } = openVault();
    try {
      const hiv = observation(1, {
        meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' }] },
      });
      assert.throws(() => write(vault, { recordId: 'rec-s', resource: hiv }), {
        code: VaultErrorCode.CLASS_MISMATCH,
      });
      write(vault, { recordId: 'rec-s', resource: hiv, class: 'sensitive' });
      assert.equal(vault.getVersionInfo('rec-s').class, 'sensitive');
      // A grantee holding only the general key cannot read it.
      assert.throws(
        () =>
          vault.readRecordVersion('rec-s', 1, (ref) =>
            ref.class === 'general' ? kekOf('general', 0) : undefined,
          ),
        {
          code: VaultErrorCode.KEY_UNAVAILABLE,
        },
      );
    } finally {
      vault.close();
    }
  });

  it('(a) after revocation and rotation to epoch+1, the revoked org cannot decrypt new records even with blob and wrapped DEK', async () => {
    const { vault } = openVault();
    try {
      const orgA = { did: newDid(), keys: generateEncryptionKeyPair() };
      const revoked = { did: newDid(), keys: generateEncryptionKeyPair() };
      const grant = (org: typeof orgA, epoch: number): Promise<OpenedRecordKey[]> =>
        sealGrantKeys({
          recordKeySeed: seed,
          patient: patient.did,
          grantee: org.did,
          granteePublicKey: org.keys.publicKey,
          keys: [{ class: 'general', epoch }],
        }).then((sealed) =>
          openGrantKeys(org.keys.secretKey, sealed, { patient: patient.did, grantee: org.did }),
        );

      // Epoch 0: both organizations hold the general key through their grants.
      const revokedKeys = await grant(revoked, 0);
      write(vault, { recordId: 'rec-before', resource: observation(70) });
      assert.deepEqual(vault.readRecordVersion('rec-before', 1, resolverFrom(revokedKeys)), observation(70));

      // Revocation: the patient rotates the general key and grants the new epoch to org A only.
      assert.equal(vault.currentEpoch(patient.did, 'general'), 0);
      assert.equal(vault.nextEpoch(patient.did, 'general'), 1);
      const orgAKeys = await grant(orgA, 1);
      assert.throws(() => write(vault, { recordId: 'rec-after', epoch: 0 }), {
        code: VaultErrorCode.STALE_EPOCH,
      });
      write(vault, { recordId: 'rec-after', epoch: 1, resource: observation(80) });
      assert.deepEqual(vault.readRecordVersion('rec-after', 1, resolverFrom(orgAKeys)), observation(80));

      // The revoked org, through the vault: it has no key for epoch 1.
      assert.throws(() => vault.readRecordVersion('rec-after', 1, resolverFrom(revokedKeys)), {
        code: VaultErrorCode.KEY_UNAVAILABLE,
      });
      // Handed the ciphertext and wrapped DEK directly, it fails with its old key under any claim.
      const { blob, wrappedDek, info } = vault.readCiphertext('rec-after', 1);
      const oldKek = revokedKeys[0]!.kek;
      for (const epoch of [0, 1]) {
        assert.throws(
          () =>
            decryptRecord({
              recordId: info.recordId,
              version: 1,
              patient: patient.did,
              class: 'general',
              epoch,
              blob,
              wrappedDek,
              kek: oldKek,
            }),
          { code: VaultErrorCode.DECRYPT_FAILED },
        );
      }
      // And its old sealed key does not open as an epoch-1 key.
      const oldSealed = await sealGrantKeys({
        recordKeySeed: seed,
        patient: patient.did,
        grantee: revoked.did,
        granteePublicKey: revoked.keys.publicKey,
        keys: [{ class: 'general', epoch: 0 }],
      });
      await assert.rejects(
        openGrantKeys(revoked.keys.secretKey, [{ ...oldSealed[0]!, epoch: 1 }], {
          patient: patient.did,
          grantee: revoked.did,
        }),
        {
          code: VaultErrorCode.GRANT_KEY_OPEN_FAILED,
        },
      );
    } finally {
      vault.close();
    }
  });

  it('(b) erasure leaves nothing decryptable: blobs, wrapped DEKs and rows are gone, in the files too', () => {
    const { vault, path } = openVault();
    try {
      for (let v = 1; v <= 3; v++)
        write(vault, { recordId: 'rec-erase', version: v, resource: observation(90 + v) });
      write(vault, { recordId: 'rec-other', resource: observation(99) });
      const before = [1, 2, 3].map((v) => vault.readCiphertext('rec-erase', v));
      const present = fileBytes(path);
      for (const c of before) {
        assert.ok(
          present.includes(Buffer.from(c.blob.subarray(15, 47))),
          'control: the blob is in the files before',
        );
        assert.ok(
          present.includes(Buffer.from(c.wrappedDek.ct)),
          'control: the wrapped DEK is in the files before',
        );
      }

      assert.equal(vault.erase('rec-erase'), 3);

      for (const c of before) assert.equal(vault.store.getBlob(c.info.contentHash), undefined);
      assert.deepEqual(vault.store.listVersions('rec-erase'), []);
      for (const v of [1, 2, 3]) assert.equal(vault.store.getVersion('rec-erase', v), undefined);
      const count = (sql: string, ...args: string[]): number =>
        vault.store.db.prepare<string[], { n: number }>(sql).get(...args)!.n;
      assert.equal(count('SELECT count(*) AS n FROM record_versions WHERE record_id = ?', 'rec-erase'), 0);
      for (const c of before) {
        assert.equal(count('SELECT count(*) AS n FROM blobs WHERE hash = ?', c.info.contentHash), 0);
        assert.equal(
          count('SELECT count(*) AS n FROM record_versions WHERE wrapped_dek LIKE ?', `%${c.wrappedDek.ct}%`),
          0,
        );
      }
      assert.throws(() => vault.readRecordVersion('rec-erase', undefined, patientResolver), {
        code: VaultErrorCode.RECORD_ERASED,
      });
      assert.throws(() => vault.readCiphertext('rec-erase', 1), { code: VaultErrorCode.RECORD_ERASED });
      assert.throws(() => write(vault, { recordId: 'rec-erase', version: 4 }), {
        code: VaultErrorCode.RECORD_ERASED,
      });
      assert.deepEqual(vault.readRecordVersion('rec-other', 1, patientResolver), observation(99));

      // secure_delete and the WAL checkpoint leave no copy in vault.sqlite or vault.sqlite-wal.
      const after = fileBytes(path);
      for (const c of before) {
        assert.ok(!after.includes(Buffer.from(c.blob.subarray(15, 47))), 'blob bytes remain on disk');
        assert.ok(!after.includes(Buffer.from(c.wrappedDek.ct)), 'wrapped DEK remains on disk');
      }
    } finally {
      vault.close();
    }
  });

  it('(c) no plaintext at rest: a distinctive name and code never reach vault.sqlite or its WAL', () => {
    const { vault, path } = openVault();
    const name = 'Zephyrine Quellmalz-Oyelaran';
    const code = 'ZQX-7731-PLAINTEXT-CANARY';
    const resource = {
      resourceType: 'Condition',
      subject: { display: name },
      code: { coding: [{ system: 'http://example.org/canary', code, display: `${name} ${code}` }] },
      note: [{ text: `Patient ${name} reports ${code}` }],
    };
    try {
      write(vault, { recordId: 'rec-canary-0001', resourceType: 'Condition', resource });
      write(vault, {
        recordId: 'rec-canary-0001',
        version: 2,
        resourceType: 'Condition',
        resource: { ...resource, id: 'v2' },
      });
      assert.deepEqual(vault.readRecordVersion('rec-canary-0001', 1, patientResolver), resource);
      const check = (bytes: Buffer): void => {
        assert.ok(bytes.includes(Buffer.from('rec-canary-0001')), 'control: the scan sees the record id');
        for (const secret of [name, code, 'Zephyrine', 'Quellmalz', 'CANARY']) {
          assert.ok(!bytes.includes(Buffer.from(secret, 'utf8')), `${secret} found in utf-8`);
          assert.ok(!bytes.includes(Buffer.from(secret, 'utf16le')), `${secret} found in utf-16`);
        }
      };
      assert.ok(existsSync(`${path}-wal`));
      check(fileBytes(path));
      vault.close();
      check(fileBytes(path));
    } finally {
      vault.close();
    }
  });

  it('checks its arguments', () => {
    const { vault } = openVault();
    try {
      const invalid = { code: VaultErrorCode.INVALID_ARGUMENT };
      assert.throws(() => write(vault, { recordId: 'rec-i', kek: randomBytes(31) }), {
        ...invalid,
        message: /"kek"/,
      });
      assert.throws(() => write(vault, { recordId: 'rec-i', custodian: '' }), {
        ...invalid,
        message: /"custodian"/,
      });
      assert.throws(
        () =>
          write(vault, { recordId: 'rec-i', class: 'secret' as SensitivityClass, kek: kekOf('general', 0) }),
        { ...invalid, message: /"class"/ },
      );
      assert.throws(() => vault.readRecordVersion('rec-i', 0, patientResolver), {
        ...invalid,
        message: /"version"/,
      });
      assert.throws(() => vault.nextEpoch('', 'general'), { ...invalid, message: /"patient"/ });
    } finally {
      vault.close();
    }
  });
});
