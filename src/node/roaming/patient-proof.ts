/**
 * The checking side of patient proofs (`src/wire/patient-proof.ts`), used by the node a patient
 * asks (`GET /vault/records`) and by every custodian that node forwards the proof to. Decided on
 * THIS node's ledger: the proof names the expected patient and node, the patient is an active
 * registered patient, the signature verifies under the patient's CURRENT signing key (a key
 * rotated away signs nothing any more), the time is within ±PATIENT_PROOF_SKEW_MS of this node's
 * clock, and the nonce is unseen here. The nonce is remembered only after the signature verified,
 * so a forged proof cannot burn a real one. Every refusal is an HttpError with a PATIENT_PROOF_*
 * code (403).
 */
import { z } from 'zod';
import type { StateReader } from '../../contracts/index.js';
import { bytesToUtf8, canonicalBytes, fromBase64Url, isSigningDid, verifyAsync } from '../../crypto/index.js';
import { StateKey } from '../../ledger/index.js';
import type { PartyRecord } from '../../ledger/types.js';
import {
  MAX_PATIENT_PROOF_LENGTH,
  PATIENT_PROOF_DOMAIN,
  PATIENT_PROOF_NONCE_PATTERN,
  PATIENT_PROOF_SKEW_MS,
  patientProofClaims,
  type PatientProof,
  type PatientProofClaims,
} from '../../wire/index.js';
import { HttpError } from '../http/errors.js';
import { NonceWindow } from './verify.js';

/** Most proof nonces remembered at once (all patients). */
export const MAX_REMEMBERED_PROOFS = 100_000;
/** Most proof nonces of ONE patient remembered at once: far above what a person's devices send in two minutes. */
export const MAX_REMEMBERED_PROOFS_PER_PATIENT = 1_000;

const proofSchema = z.strictObject({
  domain: z.literal(PATIENT_PROOF_DOMAIN),
  patient: z.string().max(256).refine(isSigningDid, { error: 'expected an Ed25519 did:key' }),
  node: z.string().max(256).refine(isSigningDid, { error: 'expected an Ed25519 did:key' }),
  time: z.number().int().nonnegative(),
  nonce: z.string().regex(PATIENT_PROOF_NONCE_PATTERN, 'expected 16-64 base64url characters'),
  signature: z.string().max(128),
});

/** Whom a proof must be for. */
export interface PatientProofExpectation {
  /** The patient the request is about (the signed-in patient; the patient a node request names). */
  readonly patient: string;
  /** The node presenting the proof (this node; the verified requesting node at a custodian). */
  readonly node: string;
}

export interface PatientProofVerifierOptions {
  /** ms since the epoch (default Date.now); tests move it. */
  readonly now?: () => number;
  readonly skewMs?: number;
  readonly maxNonces?: number;
  readonly maxNoncesPerPatient?: number;
}

/**
 * A header value decoded (not verified): the proof, or the message naming what is wrong.
 */
export function decodePatientProof(
  value: unknown,
): { ok: true; proof: PatientProof } | { ok: false; message: string } {
  if (typeof value !== 'string' || value === '' || value.length > MAX_PATIENT_PROOF_LENGTH)
    return { ok: false, message: `expected base64url of at most ${MAX_PATIENT_PROOF_LENGTH} characters` };
  let json: unknown;
  try {
    json = JSON.parse(bytesToUtf8(fromBase64Url(value)));
  } catch {
    return { ok: false, message: 'is not base64url of a JSON object' };
  }
  const parsed = proofSchema.safeParse(json);
  if (parsed.success) return { ok: true, proof: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, message: `"${issue?.path.join('.') || 'proof'}" ${issue?.message ?? 'is invalid'}` };
}

/** Checks patient proofs against this node's ledger state (see the module comment). */
export class PatientProofVerifier {
  private readonly now: () => number;
  private readonly skewMs: number;
  private readonly nonces: NonceWindow;

  constructor(
    private readonly state: StateReader,
    options: PatientProofVerifierOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.skewMs = options.skewMs ?? PATIENT_PROOF_SKEW_MS;
    // A nonce is kept for twice the skew: a replay after that carries a time the skew refuses.
    this.nonces = new NonceWindow(
      2 * this.skewMs,
      options.maxNonces ?? MAX_REMEMBERED_PROOFS,
      options.maxNoncesPerPatient ?? MAX_REMEMBERED_PROOFS_PER_PATIENT,
    );
  }

  /**
   * The claims of `value` (the header value), when it is a valid, unused proof of
   * `expected.patient` for `expected.node`. Spends its nonce.
   *
   * @throws HttpError PATIENT_PROOF_INVALID, PATIENT_PROOF_WRONG_PATIENT, PATIENT_PROOF_WRONG_NODE,
   *   PATIENT_PROOF_STALE, PATIENT_PROOF_REPLAYED (all 403)
   */
  async verify(value: unknown, expected: PatientProofExpectation): Promise<PatientProofClaims> {
    const decoded = decodePatientProof(value);
    if (!decoded.ok) throw new HttpError('PATIENT_PROOF_INVALID', `the patient proof ${decoded.message}`);
    const { proof } = decoded;
    if (proof.patient !== expected.patient)
      throw new HttpError('PATIENT_PROOF_WRONG_PATIENT', 'the patient proof names another patient');
    if (proof.node !== expected.node)
      throw new HttpError(
        'PATIENT_PROOF_WRONG_NODE',
        `the patient proof was made for another node than ${expected.node}`,
      );
    const party = this.state.get<PartyRecord>(StateKey.party(proof.patient));
    if (party?.kind !== 'patient' || party.status !== 'active')
      throw new HttpError('PATIENT_PROOF_INVALID', 'the patient proof names no active registered patient');
    const now = this.now();
    if (Math.abs(now - proof.time) > this.skewMs) {
      throw new HttpError(
        'PATIENT_PROOF_STALE',
        `the patient proof's time is ${now - proof.time} ms away from this node's clock (allowed ±${this.skewMs})`,
      );
    }
    const claims = patientProofClaims(proof);
    if (!(await verifyAsync(keyBytes(party.signingKey), canonicalBytes(claims), keyBytes(proof.signature)))) {
      throw new HttpError(
        'PATIENT_PROOF_INVALID',
        "the patient proof's signature does not verify with the patient's current signing key",
      );
    }
    switch (this.nonces.remember(proof.patient, proof.nonce, this.now())) {
      case 'new':
        return claims;
      case 'replayed':
        throw new HttpError('PATIENT_PROOF_REPLAYED', 'this patient proof was used already');
      case 'node-full':
      case 'full':
        // Cannot tell a replay apart without remembering the nonce: refused like one.
        throw new HttpError(
          'PATIENT_PROOF_REPLAYED',
          'too many recent patient proofs to remember; sign a new one later',
        );
    }
  }
}

/** Decoded base64url, or empty bytes (which verify nothing: `verifyAsync` checks lengths) when it is not. */
function keyBytes(text: string): Uint8Array {
  try {
    return fromBase64Url(text);
  } catch {
    return new Uint8Array(0);
  }
}
