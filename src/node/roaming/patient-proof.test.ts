// node:test's describe/test return promises the runner itself awaits; the rule stays on for the rest.
/* eslint @typescript-eslint/no-floating-promises: ["error", { "allowForKnownSafeCalls": [{ "from": "package", "name": ["describe", "test"], "package": "node:test" }] }] */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { signPatientProof, signPatientProofAsync } from '../../client/patient-proof.js';
import type { StateReader } from '../../contracts/index.js';
import { didFromSigningKey, fromBase64Url, generateSigningKeyPair, toBase64Url } from '../../crypto/index.js';
import { StateKey } from '../../ledger/index.js';
import type { PartyRecord } from '../../ledger/types.js';
import { HttpError } from '../http/errors.js';
import { decodePatientProof, PatientProofVerifier } from './patient-proof.js';

const keys = generateSigningKeyPair();
const patient = { did: didFromSigningKey(keys.publicKey), signing: { secretKey: keys.secretKey } };
const node = didFromSigningKey(generateSigningKeyPair().publicKey);
const party: PartyRecord = {
  did: patient.did,
  kind: 'patient',
  signingKey: toBase64Url(keys.publicKey),
  encryptionKey: toBase64Url(new Uint8Array(32)),
  status: 'active',
  registeredAt: 0,
};
const state: StateReader = {
  get: <T>(key: string) => (key === StateKey.party(patient.did) ? (party as T) : undefined),
  range: () => [],
};

/** 'OK', or the code of the refusal (every patient-proof refusal is a 403). */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (outcome === undefined) return 'OK';
  assert.ok(outcome instanceof HttpError && outcome.statusCode === 403, 'a 403 HttpError');
  return outcome.code;
}

describe('patient proofs', () => {
  test('the node (sync) and browser (WebCrypto) signers give the same header for the same claims', async () => {
    const fixed = { node, time: 1_800_000_000_000, nonce: 'abcdefghijklmnopqrstuv' };
    const sync = signPatientProof(patient, fixed);
    assert.equal(await signPatientProofAsync(patient, fixed), sync);
    const decoded = decodePatientProof(sync);
    assert.ok(decoded.ok);
    assert.deepEqual(
      { ...decoded.proof, signature: undefined },
      { domain: 'roam-patient-records-v1', patient: patient.did, ...fixed, signature: undefined },
    );
    assert.equal(fromBase64Url(decoded.proof.signature).length, 64);
  });

  test('the verifier takes a proof once, for its patient and node, within the skew; a bad one spends no nonce', async () => {
    let now = 1_800_000_000_000;
    const verifier = new PatientProofVerifier(state, { now: () => now });
    const proof = signPatientProof(patient, { node, time: now });
    const expected = { patient: patient.did, node };
    assert.equal(
      await codeOf(verifier.verify(proof, { ...expected, node: patient.did })),
      'PATIENT_PROOF_WRONG_NODE',
    );
    assert.equal(
      await codeOf(verifier.verify(proof, { ...expected, patient: node })),
      'PATIENT_PROOF_WRONG_PATIENT',
    );
    const tampered = signPatientProof(
      { ...patient, signing: { secretKey: generateSigningKeyPair().secretKey } },
      { node, time: now, nonce: decodeNonce(proof) },
    );
    assert.equal(await codeOf(verifier.verify(tampered, expected)), 'PATIENT_PROOF_INVALID');
    assert.equal(await codeOf(verifier.verify(proof, expected)), 'OK', 'the forgery did not spend the nonce');
    assert.equal(await codeOf(verifier.verify(proof, expected)), 'PATIENT_PROOF_REPLAYED');
    now += 60_001;
    assert.equal(
      await codeOf(verifier.verify(signPatientProof(patient, { node, time: now - 60_000 }), expected)),
      'OK',
      'at the edge',
    );
    assert.equal(
      await codeOf(verifier.verify(signPatientProof(patient, { node, time: now - 60_001 }), expected)),
      'PATIENT_PROOF_STALE',
    );
    for (const junk of [
      undefined,
      '',
      ['a', 'b'],
      'x'.repeat(3000),
      toBase64Url(new TextEncoder().encode('{"domain":"other"}')),
    ])
      assert.equal(
        await codeOf(verifier.verify(junk, expected)),
        'PATIENT_PROOF_INVALID',
        JSON.stringify(junk)?.slice(0, 40),
      );
  });
});

function decodeNonce(proof: string): string {
  const decoded = decodePatientProof(proof);
  assert.ok(decoded.ok);
  return decoded.proof.nonce;
}
