/**
 * Finding 2 of issue #9, "sensitivity downgrade by overwrite": an organization with write access
 * to `general` records only must not replace a `sensitive` record with a version that drops its
 * security label. The class of the version being replaced is checked by the FHIR layer (403,
 * nothing stored, nothing anchored) and again by the vault (defence in depth: a version that
 * lowers a record's class is refused unless the caller says it decided that).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Condition } from '@medplum/fhirtypes';
import { didFromSigningKey, generateSigningKeyPair } from '../../src/crypto/index.js';
import { StateKey } from '../../src/ledger/index.js';
import { Vault, VaultErrorCode, deriveRecordKey } from '../../src/vault/index.js';
import { createWallet, deriveRecordKeySeed, type Wallet } from '../../src/wallet/index.js';
import {
  assertOutcome,
  condition,
  createPatient,
  expectStatus,
  fhir,
  grantOrg,
  writeWindow,
  openFhirNode,
  registeredPatient,
  registeredPractitioner,
  tokenOf,
  type FhirTestNode,
} from '../fhir-api/fixture.js';

describe('security: a sensitive record is not downgraded by overwriting it', () => {
  let t: FhirTestNode;
  let patient: Wallet;
  let patientToken: string;
  let doctorToken: string;
  let patientId: string;
  let sensitiveId: string;

  before(async () => {
    t = await openFhirNode();
    patient = await registeredPatient(t.node);
    // Custody of both classes for the Patient resource; practitioners write general Conditions.
    await grantOrg(t, patient, { resourceTypes: ['Patient'], classes: ['general', 'sensitive'] });
    await grantOrg(t, patient, {
      resourceTypes: ['Condition'],
      classes: ['general'],
      access: 'write',
      keys: [],
    });
    const writing = await writeWindow(t, patient);
    patientToken = await tokenOf(t, patient);
    doctorToken = await tokenOf(t, await registeredPractitioner(t));
    patientId = await createPatient(t, patientToken);
    const created = await fhir<Condition>(t, patientToken, 'POST', 'Condition', condition(patientId, true));
    expectStatus(created, 201);
    sensitiveId = created.body.id!;
    await writing.ended();
  });
  after(async () => {
    await t.close();
  });

  it('a PUT without the label by a general-only writer is refused, and nothing changes', async () => {
    const unlabeled = { ...condition(patientId, false), id: sensitiveId };
    assertOutcome(
      await fhir(t, doctorToken, 'PUT', `Condition/${sensitiveId}`, unlabeled),
      403,
      /SCOPE_NOT_COVERED|GRANT_EXPIRED/,
    );
    const current = await fhir<Condition>(t, patientToken, 'GET', `Condition/${sensitiveId}`);
    expectStatus(current, 200);
    assert.equal(current.body.meta?.versionId, '1');
    assert.equal(current.body.meta?.security?.[0]?.code, 'R');
    const anchor = t.node.ledger.getState<{ versions: number; class: string }>(StateKey.record(sensitiveId));
    assert.equal(anchor?.versions, 1);
    assert.equal(anchor?.class, 'sensitive');
  });

  it('the same PUT in a transaction Bundle is refused too', async () => {
    const res = await fhir(t, doctorToken, 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { ...condition(patientId, false), id: sensitiveId },
          request: { method: 'PUT', url: `Condition/${sensitiveId}` },
        },
      ],
    });
    assertOutcome(res, 403, /SCOPE_NOT_COVERED|GRANT_EXPIRED/);
  });

  it('the patient, who may write both classes, may still lower their own record’s class', async () => {
    // The ledger keeps a patient's own version only under the custodian's write grant for both
    // classes (a change of class needs write on both).
    await writeWindow(t, patient);
    const unlabeled = { ...condition(patientId, false), id: sensitiveId };
    const res = await fhir<Condition>(t, patientToken, 'PUT', `Condition/${sensitiveId}`, unlabeled);
    expectStatus(res, 200);
    assert.equal(res.body.meta?.versionId, '2');
  });
});

describe('security: the vault refuses a version that lowers a record’s class unless told', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roam-downgrade-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const { wallet } = createWallet('patient');
  const seed = deriveRecordKeySeed(wallet);
  const custodian = didFromSigningKey(generateSigningKeyPair().publicKey);
  const base = {
    recordId: 'rec-1',
    patient: wallet.did,
    resourceType: 'Condition',
    epoch: 0,
    custodian,
    author: custodian,
  };
  const labeled = {
    resourceType: 'Condition',
    meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
  };

  it('sensitive → general: VAULT_CLASS_DOWNGRADE, unless mayLowerClass', () => {
    const vault = Vault.open(join(dir, 'vault.sqlite'));
    try {
      vault.writeRecordVersion({
        ...base,
        version: 1,
        class: 'sensitive',
        resource: labeled,
        kek: deriveRecordKey(seed, wallet.did, 'sensitive', 0),
      });
      const downgrade = {
        ...base,
        version: 2,
        class: 'general' as const,
        resource: { resourceType: 'Condition' },
        kek: deriveRecordKey(seed, wallet.did, 'general', 0),
      };
      assert.throws(() => vault.writeRecordVersion(downgrade), { code: VaultErrorCode.CLASS_DOWNGRADE });
      assert.equal(vault.store.getLatestVersion('rec-1')?.version, 1);
      vault.writeRecordVersion({ ...downgrade, mayLowerClass: true });
      assert.equal(vault.getVersionInfo('rec-1', 2).class, 'general');
    } finally {
      vault.close();
    }
  });
});
