/**
 * The patient proof: how a patient signed in at one node asks it to fetch the patient's records
 * from every other custodian. The patient's wallet signs, with its current Ed25519 key, the
 * RFC 8785 canonical JSON of
 *
 *   { domain: "roam-patient-records-v1", patient, node, time, nonce }
 *
 * (`patient` the patient's DID, `node` the DID of the node the patient asks, `time` ms since the
 * epoch, `nonce` 16–64 base64url characters), and sends the claims with the signature in the
 * `x-roam-patient-proof` header of `GET /vault/records` (base64url of the UTF-8 JSON of
 * {@link PatientProof}). The node forwards it in its signed node request to each custodian, which
 * checks it on its own ledger. `node` binds the proof to the one node the patient chose: no other
 * node (a custodian that received it, say) can use it. The client signs (`src/client`), the node
 * checks (`src/node/roaming`); both build the claims here.
 */

/** Domain separation tag: keeps these signatures apart from sign-ins and transactions. */
export const PATIENT_PROOF_DOMAIN = 'roam-patient-records-v1';
/** The request header that carries a proof to the node the patient asks. */
export const PATIENT_PROOF_HEADER = 'x-roam-patient-proof';
/** How far a proof's `time` may be from a checking node's clock, either way. */
export const PATIENT_PROOF_SKEW_MS = 60_000;
/** Longest header value a node accepts (a proof is about 500 characters). */
export const MAX_PATIENT_PROOF_LENGTH = 2048;
/** Nonces: 16–64 characters of base64url. */
export const PATIENT_PROOF_NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** What a patient proof's signature covers. */
export interface PatientProofClaims {
  readonly domain: typeof PATIENT_PROOF_DOMAIN;
  /** The patient's DID (its original key: the id that stays after key rotation). */
  readonly patient: string;
  /** The DID of the node the patient asks to fetch its records. */
  readonly node: string;
  /** ms since the Unix epoch. */
  readonly time: number;
  readonly nonce: string;
}

/** A proof as it travels: the claims and the Ed25519 signature of their canonical JSON (base64url). */
export interface PatientProof extends PatientProofClaims {
  readonly signature: string;
}

/**
 * The claims of a proof, in the one shape both ends sign and check (their canonical JSON is
 * the signed message).
 */
export function patientProofClaims(fields: Omit<PatientProofClaims, 'domain'>): PatientProofClaims {
  return {
    domain: PATIENT_PROOF_DOMAIN,
    patient: fields.patient,
    node: fields.node,
    time: fields.time,
    nonce: fields.nonce,
  };
}
