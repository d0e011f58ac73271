/**
 * Signed transactions for the ledger benchmarks: patient consent grants and record anchors signed
 * by the node, the two transactions a busy hospital node commits most. Signing happens before
 * the clock starts; what is measured is the node.
 */
import {
  didFromSigningKey,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  randomBytes,
  sha256Hex,
  toBase64Url,
  type SigningKeyPair,
} from '../../src/crypto/index.js';
import { createTx, signTx, TxType, type SignedTx } from '../../src/ledger/index.js';

export interface BenchPatient {
  readonly did: string;
  readonly keys: SigningKeyPair;
}

export function newPatients(count: number): BenchPatient[] {
  return Array.from({ length: count }, () => {
    const keys = generateSigningKeyPair();
    return { did: didFromSigningKey(keys.publicKey), keys };
  });
}

export function registrations(patients: readonly BenchPatient[], chainId: string): SignedTx[] {
  return patients.map((p) =>
    signTx(
      createTx({
        chainId,
        type: TxType.PatientRegister,
        signer: p.did,
        payload: { encryptionKey: toBase64Url(generateEncryptionKeyPair().publicKey) },
      }),
      p.keys.secretKey,
    ),
  );
}

/** Alternating consent grants (signed by patients) and record anchors (signed by the node). */
export function consentAndAnchorTxs(
  count: number,
  patients: readonly BenchPatient[],
  org: string,
  node: { did: string; keys: SigningKeyPair },
  chainId: string,
): SignedTx[] {
  const txs: SignedTx[] = [];
  for (let i = 0; i < count; i++) {
    // Pairs: a grant, then an anchor of the same patient, which the ledger keeps only under
    // that write grant (a record the patient writes needs the custodian's write grant).
    const patient = patients[Math.floor(i / 2) % patients.length]!;
    const id = toBase64Url(randomBytes(12));
    if (i % 2 === 0) {
      txs.push(
        signTx(
          createTx({
            chainId,
            type: TxType.ConsentGrant,
            signer: patient.did,
            payload: {
              grantId: `g-${id}`,
              grantee: org,
              scope: { resourceTypes: ['Observation', 'Condition'], classes: ['general'] },
              purpose: 'treatment',
              access: 'write',
              expiresAt: null,
            },
          }),
          patient.keys.secretKey,
        ),
      );
    } else {
      txs.push(
        signTx(
          createTx({
            chainId,
            type: TxType.RecordAnchor,
            signer: node.did,
            payload: {
              recordId: `r-${id}`,
              version: 1,
              patient: patient.did,
              resourceType: 'Observation',
              class: 'general',
              contentHash: sha256Hex(id),
              author: patient.did,
              epoch: 0,
            },
          }),
          node.keys.secretKey,
        ),
      );
    }
  }
  return txs;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
